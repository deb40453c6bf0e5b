package lb

import (
	"context"
	"fmt"
	"io"
	"net"
	"net/netip"
	"sync"
	"sync/atomic"
	"time"
)

// listener is one bound socket and what it serves.
type listener struct {
	route  atomic.Pointer[route]
	bound  netip.AddrPort
	active atomic.Int64
	failed atomic.Int64
	tcp    *net.TCPListener // one of tcp and udp
	udp    *udpListener
	gen    *generation
}

// route is what a listener forwards to; Sync replaces it atomically.
type route struct {
	spec          ListenerSpec
	pool          *pool // nil: reject
	local         *pool // for clients on the node or in local pods, or nil
	isLocalClient func(netip.Addr) bool
}

// poolFor returns the pool a client's connection uses, nil to refuse it.
func (r *route) poolFor(client netip.Addr) *pool {
	if rs := r.spec.SourceRanges; len(rs) > 0 && !inPrefixes(rs, client) {
		return nil
	}
	if r.local != nil && r.isLocalClient(client) {
		return r.local
	}
	return r.pool
}

// dest is the PickKey destination: the frontend's address, or for a
// NodePort on every address, the connection's local address (TCP) or the
// listener's (UDP).
func (r *route) dest(bound netip.AddrPort) netip.AddrPort {
	if fe := r.spec.Frontend; fe.Addr.IsValid() {
		return netip.AddrPortFrom(fe.Addr, uint16(fe.Port))
	}
	return bound
}

func inPrefixes(ps []netip.Prefix, a netip.Addr) bool {
	for _, p := range ps {
		if p.Contains(a) {
			return true
		}
	}
	return false
}

// ListenError reports a listener that could not be bound.
type ListenError struct {
	Spec ListenerSpec
	Err  error
}

func (e *ListenError) Error() string {
	return fmt.Sprintf("lb: listen %s for %s %s: %v", e.Spec.Key(), e.Spec.Service, e.Spec.Frontend, e.Err)
}

func (e *ListenError) Unwrap() error { return e.Err }

// listen binds a spec's socket; start serves it.
func (p *Proxy) listen(ctx context.Context, s ListenerSpec) (*listener, error) {
	network := "4"
	if s.Addr.Addr().Is6() {
		network = "6"
	}
	var lc net.ListenConfig
	l := &listener{gen: p.gen}
	switch s.Protocol {
	case "UDP":
		pc, err := lc.ListenPacket(ctx, "udp"+network, s.Addr.String())
		if err != nil {
			return nil, &ListenError{Spec: s, Err: err}
		}
		uc := pc.(*net.UDPConn)
		l.udp = &udpListener{pc: uc, flows: map[netip.AddrPort]*udpFlow{}}
		l.bound = uc.LocalAddr().(*net.UDPAddr).AddrPort()
	default:
		ln, err := lc.Listen(ctx, "tcp"+network, s.Addr.String())
		if err != nil {
			return nil, &ListenError{Spec: s, Err: err}
		}
		l.tcp = ln.(*net.TCPListener)
		l.bound = l.tcp.Addr().(*net.TCPAddr).AddrPort()
	}
	return l, nil
}

func (p *Proxy) start(l *listener) {
	l.gen.wg.Add(1)
	if l.tcp != nil {
		go p.serveTCP(l)
	} else {
		go p.serveUDP(l)
	}
}

// close stops accepting (TCP) or ends the socket and its flows (UDP).
func (l *listener) close() {
	if l.tcp != nil {
		l.tcp.Close()
	} else {
		l.udp.pc.Close()
	}
}

// acceptBackoff waits after a failed Accept (for example EMFILE), doubling
// from 5ms to 1s, and reports false when the proxy is shutting down.
func acceptBackoff(ctx context.Context, d *time.Duration) bool {
	*d = min(max(2**d, 5*time.Millisecond), time.Second)
	t := time.NewTimer(*d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return false
	case <-t.C:
		return true
	}
}

// connSet tracks open connections so that a drain deadline can cut them.
type connSet struct {
	mu sync.Mutex
	m  map[io.Closer]struct{}
}

func (s *connSet) add(c io.Closer) {
	s.mu.Lock()
	if s.m == nil {
		s.m = map[io.Closer]struct{}{}
	}
	s.m[c] = struct{}{}
	s.mu.Unlock()
}

func (s *connSet) remove(c io.Closer) {
	s.mu.Lock()
	delete(s.m, c)
	s.mu.Unlock()
}

// closeAll closes every tracked connection and returns how many.
func (s *connSet) closeAll() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	for c := range s.m {
		c.Close()
	}
	return len(s.m)
}

func unmapped(ap netip.AddrPort) netip.AddrPort {
	return netip.AddrPortFrom(ap.Addr().Unmap(), ap.Port())
}
