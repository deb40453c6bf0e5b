package lb

import (
	"bytes"
	"errors"
	"net"
	"net/netip"
	"os"
	"sync"
	"sync/atomic"
	"syscall"
	"time"
)

// udpListener is a UDP frontend socket and its flow table: one connected
// socket towards a backend per client address and port.
type udpListener struct {
	pc    *net.UDPConn
	mu    sync.Mutex
	flows map[netip.AddrPort]*udpFlow
}

// udpFlow is one client's flow to its backend.
type udpFlow struct {
	client netip.AddrPort
	up     *net.UDPConn
	lease  lease
	last   atomic.Int64 // unix nanoseconds of the last datagram either way
	// first is the flow's first datagram until a reply arrives (only the
	// reply goroutine touches it); tried the backends the flow's datagrams
	// were sent to, this one last.
	first []byte
	tried []string
}

// maxDatagram is the largest UDP payload (IPv4: 65507, IPv6 jumbograms aside).
const maxDatagram = 65535

// serveUDP reads client datagrams and forwards each to its flow's backend,
// opening a flow for a new client. When the socket closes it ends every
// flow.
func (p *Proxy) serveUDP(l *listener) {
	defer l.gen.wg.Done()
	u := l.udp
	defer u.closeFlows()
	buf := make([]byte, maxDatagram)
	var delay time.Duration
	for {
		n, client, err := u.pc.ReadFromUDPAddrPort(buf)
		if err != nil {
			if errors.Is(err, net.ErrClosed) {
				return
			}
			if !acceptBackoff(l.gen.ctx, &delay) {
				return
			}
			continue
		}
		delay = 0
		p.forwardUDP(l, unmapped(client), buf[:n], nil)
	}
}

// forwardUDP sends one client datagram to its flow's backend. When the
// flow ended meanwhile (idle timeout), or its backend is known to refuse
// (an ICMP unreachable makes the write fail with ECONNREFUSED), it opens a
// flow to another backend, excluding those that refused, and sends again.
func (p *Proxy) forwardUDP(l *listener, client netip.AddrPort, msg []byte, exclude []string) {
	for range maxUDPTries {
		f := p.udpFlow(l, client, exclude, msg)
		if f == nil {
			return
		}
		f.last.Store(time.Now().UnixNano())
		_, err := f.up.Write(msg)
		if err == nil {
			return
		}
		l.udp.end(f)
		switch {
		case errors.Is(err, syscall.ECONNREFUSED):
			exclude = f.tried
		case !errors.Is(err, net.ErrClosed):
			p.log.Debug("udp write", "client", client, "backend", f.lease.b.ID, "err", err)
			return
		}
	}
}

// maxUDPTries bounds the flows one datagram may open.
const maxUDPTries = 8

// udpFlow returns the client's flow, opening one (to a backend not in
// exclude) if needed; nil drops the datagram (rejected, refused by source
// ranges, or no backend). A new flow keeps a copy of msg, its first
// datagram, until the first reply, to resend it past a refusing backend.
func (p *Proxy) udpFlow(l *listener, client netip.AddrPort, exclude []string, msg []byte) *udpFlow {
	u := l.udp
	u.mu.Lock()
	f := u.flows[client]
	u.mu.Unlock()
	if f != nil {
		return f
	}
	r := l.route.Load()
	pl := r.poolFor(client.Addr())
	if pl == nil {
		return nil
	}
	key := PickKey{Client: client, Dest: r.dest(l.bound)}
	up, ls, err := connect(l.gen.ctx, pl, key, p.opts.budget(), exclude, dialUDP)
	if err != nil {
		l.failed.Add(1)
		p.log.Debug("no backend reachable", "service", r.spec.Service, "client", client, "err", err)
		return nil
	}
	f = &udpFlow{client: client, up: up, lease: ls, first: bytes.Clone(msg),
		tried: append(exclude[:len(exclude):len(exclude)], ls.b.ID)}
	u.mu.Lock()
	if other := u.flows[client]; other != nil {
		// A concurrent resend opened one first: use it.
		u.mu.Unlock()
		up.Close()
		ls.release()
		return other
	}
	u.flows[client] = f
	u.mu.Unlock()
	l.active.Add(1)
	l.gen.conns.add(up)
	l.gen.wg.Add(1)
	go p.udpReplies(l, f)
	return f
}

// udpReplies copies the backend's datagrams back to the client until the
// flow is idle for UDPIdleTimeout or its socket fails or closes. When the
// backend refuses (ICMP unreachable) before its first reply, the flow's
// first datagram goes to another backend.
func (p *Proxy) udpReplies(l *listener, f *udpFlow) {
	defer l.gen.wg.Done()
	refused := p.relayReplies(l, f)
	l.udp.end(f)
	l.active.Add(-1)
	l.gen.conns.remove(f.up)
	f.lease.release()
	if refused && f.first != nil {
		p.log.Debug("udp backend refused; resending", "client", f.client, "backend", f.lease.b.ID)
		p.forwardUDP(l, f.client, f.first, f.tried)
	}
}

// relayReplies is udpReplies' loop; it reports whether it ended because
// the backend refused.
func (p *Proxy) relayReplies(l *listener, f *udpFlow) (refused bool) {
	idle := p.opts.UDPIdleTimeout
	buf := make([]byte, maxDatagram)
	for {
		deadline := time.Unix(0, f.last.Load()).Add(idle)
		if !time.Now().Before(deadline) {
			return false
		}
		f.up.SetReadDeadline(deadline)
		n, err := f.up.Read(buf)
		if err != nil {
			if errors.Is(err, os.ErrDeadlineExceeded) {
				continue // re-check: a client datagram may have moved last
			}
			return errors.Is(err, syscall.ECONNREFUSED)
		}
		f.first = nil
		f.last.Store(time.Now().UnixNano())
		if _, err := l.udp.pc.WriteToUDPAddrPort(buf[:n], f.client); err != nil && errors.Is(err, net.ErrClosed) {
			return false
		}
	}
}

// end removes a flow from the table and closes its socket; its reply
// goroutine then finishes.
func (u *udpListener) end(f *udpFlow) {
	u.mu.Lock()
	if u.flows[f.client] == f {
		delete(u.flows, f.client)
	}
	u.mu.Unlock()
	f.up.Close()
}

func (u *udpListener) closeFlows() {
	u.mu.Lock()
	fs := make([]*udpFlow, 0, len(u.flows))
	for _, f := range u.flows {
		fs = append(fs, f)
	}
	u.mu.Unlock()
	for _, f := range fs {
		u.end(f)
	}
}

// endStale ends the flows whose backend is not in the route's sets any
// more (kube-proxy clears such UDP conntrack entries): their next datagram
// opens a flow to a current backend. It returns how many it ended.
func (u *udpListener) endStale(r *route) int {
	u.mu.Lock()
	var stale []*udpFlow
	for _, f := range u.flows {
		id := f.lease.b.ID
		if (r.pool == nil || !r.pool.has(id)) && (r.local == nil || !r.local.has(id)) {
			stale = append(stale, f)
		}
	}
	u.mu.Unlock()
	for _, f := range stale {
		u.end(f)
	}
	return len(stale)
}
