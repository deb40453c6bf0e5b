package lb

import (
	"context"
	"errors"
	"io"
	"net"
	"net/netip"
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
	client := unmapped(c.RemoteAddr().(*net.TCPAddr).AddrPort())
	pl := r.poolFor(client.Addr())
	if pl == nil {
		reset(c)
		return
	}
	key := PickKey{Client: client, Dest: r.dest(l.bound)}
	up, ls, err := connect(l.gen.ctx, pl, key, p.opts.budget(), dialTCP)
	if err != nil {
		p.log.Warn("no backend reachable", "service", r.spec.Service, "client", client, "err", err)
		reset(c)
		return
	}
	defer ls.release()
	l.gen.conns.add(up)
	defer l.gen.conns.remove(up)
	pipe(c, up)
}

// dialer returns a dial func for connect that yields the network's
// concrete connection type (*net.TCPConn, *net.UDPConn).
func dialer[C net.Conn](network string) func(context.Context, netip.AddrPort) (C, error) {
	return func(ctx context.Context, addr netip.AddrPort) (C, error) {
		var d net.Dialer
		c, err := d.DialContext(ctx, network, addr.String())
		if err != nil {
			var zero C
			return zero, err
		}
		return c.(C), nil
	}
}

var (
	dialTCP = dialer[*net.TCPConn]("tcp")
	dialUDP = dialer[*net.UDPConn]("udp")
)

// reset closes a connection with a TCP RST.
func reset(c *net.TCPConn) {
	c.SetLinger(0)
	c.Close()
}

// pipe copies both directions between a and b until both have ended, then
// closes them. A clean end of one direction (EOF) is passed on as a
// half-close (CloseWrite) while the other keeps flowing; an error in
// either direction closes both.
func pipe(a, b *net.TCPConn) {
	done := make(chan struct{})
	go func() {
		halfCopy(b, a)
		close(done)
	}()
	halfCopy(a, b)
	<-done
	a.Close()
	b.Close()
}

// halfCopy copies src to dst with io.Copy, which splices between two
// *net.TCPConn on Linux.
func halfCopy(dst, src *net.TCPConn) {
	_, err := io.Copy(dst, src)
	if err == nil {
		err = dst.CloseWrite()
	}
	if err != nil {
		src.Close()
		dst.Close()
	}
}
