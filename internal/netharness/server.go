package netharness

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/netip"
	"sync"
	"time"
)

// serverSet owns the listening sockets of the pod servers and their goroutines.
type serverSet struct {
	mu      sync.Mutex
	closers []io.Closer
	wg      sync.WaitGroup
}

// answer is the line a server sends: "<name> <source-ip-seen>\n".
func answer(name string, src netip.Addr) []byte {
	return []byte(name + " " + src.Unmap().String() + "\n")
}

func (s *serverSet) add(c io.Closer) {
	s.mu.Lock()
	s.closers = append(s.closers, c)
	s.mu.Unlock()
}

// stop closes every socket and waits for the serving goroutines to end.
func (s *serverSet) stop() error {
	s.mu.Lock()
	var errs []error
	for _, c := range s.closers {
		if err := c.Close(); err != nil && !errors.Is(err, net.ErrClosed) {
			errs = append(errs, err)
		}
	}
	s.closers = nil
	s.mu.Unlock()
	s.wg.Wait()
	return errors.Join(errs...)
}

func (s *serverSet) serveTCP(name string, ln net.Listener) {
	s.add(ln)
	s.wg.Add(1)
	go func() {
		defer s.wg.Done()
		for {
			c, err := ln.Accept()
			if err != nil {
				return // closed by stop
			}
			src := c.RemoteAddr().(*net.TCPAddr).AddrPort().Addr()
			_ = c.SetWriteDeadline(time.Now().Add(time.Second))
			_, _ = c.Write(answer(name, src))
			_ = c.Close()
		}
	}()
}

func (s *serverSet) serveUDP(name string, pc *net.UDPConn) {
	s.add(pc)
	s.wg.Add(1)
	go func() {
		defer s.wg.Done()
		buf := make([]byte, 2048)
		for {
			_, from, err := pc.ReadFromUDPAddrPort(buf)
			if errors.Is(err, net.ErrClosed) {
				return
			}
			if err != nil {
				continue // e.g. ECONNREFUSED left by an ICMP error; keep serving
			}
			_, _ = pc.WriteToUDPAddrPort(answer(name, from.Addr()), from)
		}
	}()
}

// startServers listens, inside each pod, on every address and port of the
// spec. A socket bound to each address (not a wildcard) makes UDP replies
// leave from the address the request reached.
func (t *Topology) startServers(ctx context.Context) error {
	for _, p := range t.spec.Pods {
		err := t.Do(p.Name, func() error {
			var lc net.ListenConfig
			for _, pre := range p.Addrs {
				for _, port := range p.TCP {
					ap := netip.AddrPortFrom(pre.Addr(), port).String()
					ln, err := lc.Listen(ctx, "tcp", ap)
					if err != nil {
						return fmt.Errorf("listen tcp %s: %w", ap, err)
					}
					t.servers.serveTCP(p.Name, ln)
				}
				for _, port := range p.UDP {
					ap := netip.AddrPortFrom(pre.Addr(), port).String()
					pc, err := lc.ListenPacket(ctx, "udp", ap)
					if err != nil {
						return fmt.Errorf("listen udp %s: %w", ap, err)
					}
					t.servers.serveUDP(p.Name, pc.(*net.UDPConn))
				}
			}
			return nil
		})
		if err != nil {
			return fmt.Errorf("netharness: servers in %s: %w", p.Name, err)
		}
	}
	return nil
}
