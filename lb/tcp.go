package lb

import (
	"context"
	"errors"
	"net"
	"net/netip"
	"sync/atomic"
	"time"
)

// serveTCP accepts connections until the listener closes.
func (p *Proxy) serveTCP(l *listener) {
	defer l.gen.wg.Done()
	var delay time.Duration
	for {
		c, err := l.tcp.AcceptTCP()
		if err != nil {
			if errors.Is(err, net.ErrClosed) {
				return
			}
			p.log.Warn("accept", "listener", l.bound, "err", err)
			if !acceptBackoff(l.gen.ctx, &delay) {
				return
			}
			continue
		}
		delay = 0
		l.gen.wg.Add(1)
		go p.handleTCP(l, c)
	}
}

// handleTCP forwards one client connection.
func (p *Proxy) handleTCP(l *listener, c *net.TCPConn) {
	defer l.gen.wg.Done()
	l.active.Add(1)
	defer l.active.Add(-1)
	l.gen.conns.add(c)
	defer l.gen.conns.remove(c)
	r := l.route.Load()
	client := tcpAddrPort(c.RemoteAddr())
	pl := r.poolFor(client.Addr())
	if pl == nil {
		reset(c)
		return
	}
	key := PickKey{Client: client, Dest: r.dest(tcpAddrPort(c.LocalAddr()))}
	up, ls, err := connect(l.gen.ctx, pl, key, p.opts.budget(), nil, dialTCP)
	if err != nil {
		l.failed.Add(1)
		p.log.Debug("no backend reachable", "service", r.spec.Service, "client", client, "err", err)
		reset(c)
		return
	}
	defer ls.release()
	l.gen.conns.add(up)
	defer l.gen.conns.remove(up)
	pipe(c, up, p.opts.Buffered)
}

// tcpAddrPort returns a connection address, unmapped; invalid if unknown.
func tcpAddrPort(a net.Addr) netip.AddrPort {
	if t, ok := a.(*net.TCPAddr); ok {
		return unmapped(t.AddrPort())
	}
	return netip.AddrPort{}
}

// dialTCP connects to a backend. No keepalive towards backends: the client
// side has it (Go's default for accepted connections), which is what frees
// a connection whose client vanished. (Dialer.DialTCP with a zero local
// address would bind before connecting, which takes an ephemeral port no
// other socket uses, whatever its peer; connect alone shares ports across
// peers, which matters at high connection rates.)
func dialTCP(ctx context.Context, addr netip.AddrPort) (*net.TCPConn, error) {
	d := net.Dialer{KeepAlive: -1}
	c, err := d.DialContext(ctx, "tcp", addr.String())
	if err != nil {
		return nil, err
	}
	return c.(*net.TCPConn), nil
}

// dialUDP opens a flow's connected socket towards a backend.
func dialUDP(ctx context.Context, addr netip.AddrPort) (*net.UDPConn, error) {
	var d net.Dialer
	c, err := d.DialContext(ctx, "udp", addr.String())
	if err != nil {
		return nil, err
	}
	return c.(*net.UDPConn), nil
}

// reset closes a connection with a TCP RST.
func reset(c *net.TCPConn) {
	c.SetLinger(0)
	c.Close()
}

// pipe copies both directions between a and b until both have ended, then
// closes them. A clean end of one direction (EOF) is passed on as a
// half-close (CloseWrite) while the other keeps flowing; an error in
// either direction closes both. buffered chooses the buffered copy over
// io.Copy's splicing (see tcp_copy.go).
func pipe(a, b *net.TCPConn, buffered bool) {
	var oneEnded atomic.Bool
	done := make(chan struct{})
	go func() {
		halfCopy(b, a, buffered, &oneEnded)
		close(done)
	}()
	halfCopy(a, b, buffered, &oneEnded)
	<-done
	a.Close()
	b.Close()
}

// halfCopy copies src to dst. The first direction to end half-closes its
// destination; the second needs not, as pipe closes both at once.
func halfCopy(dst, src *net.TCPConn, buffered bool, oneEnded *atomic.Bool) {
	_, err := copyTCP(dst, src, buffered)
	if err == nil && !oneEnded.Swap(true) {
		err = dst.CloseWrite()
	}
	if err != nil {
		oneEnded.Store(true)
		src.Close()
		dst.Close()
	}
}
