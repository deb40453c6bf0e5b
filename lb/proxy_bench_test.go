package lb

import (
	"io"
	"net"
	"net/netip"
	"sync"
	"testing"
	"time"

	"github.com/proxykit/proxykit/rulegen"
)

// The proxy benchmarks measure the proxy and a direct loopback connection
// side by side in one run, alternating phases, and report both and their
// ratio (proxy/direct), in wall time and in process CPU time (this machine
// is shared: wall time includes waiting for a core). Targets: throughput
// ratio >= 0.70, connection-rate ratio >= 0.80.
//
//	go test ./lb -run '^$' -bench 'Proxy(Throughput|ConnRate)' -benchmem -count 3

// sideBySide accumulates the wall and CPU time of three paths measured in
// turn: direct, the proxy, and the anchor (a plain io.Copy proxy).
type sideBySide struct {
	wall [3]time.Duration
	cpu  [3]int64
}

var pathNames = [3]string{"direct", "proxy", "plain"}

// phase times f for path i.
func (s *sideBySide) phase(i int, f func()) {
	t0, c0 := time.Now(), processCPU()
	f()
	s.wall[i] += time.Since(t0)
	s.cpu[i] += processCPU() - c0
}

// rotate runs the three paths, starting with a different one each round so
// that none always follows the same neighbour.
func (s *sideBySide) rotate(n int, paths [3]func()) {
	for k := range 3 {
		i := (n + k) % 3
		s.phase(i, paths[i])
	}
}

// loop runs the benchmark's iterations, each a rotation of the three
// paths, and returns how many it ran.
func (s *sideBySide) loop(b *testing.B, paths [3]func()) int {
	b.ReportAllocs()
	n := 0
	for b.Loop() {
		s.rotate(n, paths)
		n++
	}
	return n
}

// report writes each path's rate per second and CPU nanoseconds per unit,
// and the proxy's and the anchor's ratios to direct, in wall and CPU time.
func (s *sideBySide) report(b *testing.B, units float64, unit string) {
	var rate [3]float64
	for i, name := range pathNames {
		rate[i] = units / s.wall[i].Seconds()
		b.ReportMetric(rate[i], name+"-"+unit+"/s")
		b.ReportMetric(float64(s.cpu[i])/units, name+"-cpu-ns/"+unit)
	}
	b.ReportMetric(rate[1]/rate[0], "ratio")
	b.ReportMetric(rate[2]/rate[0], "plain-ratio")
	if s.cpu[1] > 0 && s.cpu[2] > 0 {
		b.ReportMetric(float64(s.cpu[0])/float64(s.cpu[1]), "cpu-ratio")
		b.ReportMetric(float64(s.cpu[0])/float64(s.cpu[2]), "plain-cpu-ratio")
	}
}

// plainProxy is the anchor: accept, dial the backend, io.Copy both ways,
// close both when either direction ends.
func plainProxy(b *testing.B, backend netip.AddrPort) netip.AddrPort {
	return serve(b, func(c *net.TCPConn) {
		defer c.Close()
		up, err := net.Dial("tcp4", backend.String())
		if err != nil {
			return
		}
		defer up.Close()
		go func() {
			io.Copy(up, c)
			up.(*net.TCPConn).CloseWrite()
		}()
		io.Copy(c, up)
	})
}

// serve runs handle on every connection ln accepts.
func serve(b *testing.B, handle func(*net.TCPConn)) netip.AddrPort {
	ln, err := net.ListenTCP("tcp4", &net.TCPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { ln.Close() })
	go func() {
		for {
			c, err := ln.AcceptTCP()
			if err != nil {
				return
			}
			go handle(c)
		}
	}()
	return ln.Addr().(*net.TCPAddr).AddrPort()
}

func proxyTo(b *testing.B, backend netip.AddrPort) netip.AddrPort {
	p := startProxy(b, testPlan(b, svcSpec{name: "bench", clusterIP: "10.96.0.1", backends: []netip.AddrPort{backend}}), ProxyOptions{})
	return frontend(b, p, "bench", rulegen.ClusterIP)
}

// BenchmarkProxyThroughput: 4 streams, 1 MiB writes; one op moves 16 MiB
// per stream over each path. The sink acknowledges every 16 MiB with one
// byte, so a phase ends when the data has arrived, not when it is buffered.
func BenchmarkProxyThroughput(b *testing.B) {
	const streams, write, chunk = 4, 1 << 20, 16 << 20
	sink := serve(b, func(c *net.TCPConn) {
		defer c.Close()
		buf := make([]byte, write)
		for {
			for got := 0; got < chunk; {
				n, err := c.Read(buf)
				if err != nil {
					return
				}
				got += n
			}
			if _, err := c.Write([]byte{1}); err != nil {
				return
			}
		}
	})
	direct, proxied, plain := dialStreams(b, sink, streams), dialStreams(b, proxyTo(b, sink), streams), dialStreams(b, plainProxy(b, sink), streams)
	buf := make([]byte, write)
	send := func(conns []net.Conn) func() {
		return func() {
			parallel(len(conns), func(i int) {
				for range chunk / write {
					if _, err := conns[i].Write(buf); err != nil {
						b.Error(err)
						return
					}
				}
				if _, err := io.ReadFull(conns[i], buf[:0:1][:1]); err != nil {
					b.Error(err)
				}
			})
		}
	}
	var s sideBySide
	n := s.loop(b, [3]func(){send(direct), send(proxied), send(plain)})
	s.report(b, float64(n)*streams*chunk/(1<<20), "MiB")
}

func dialStreams(b *testing.B, to netip.AddrPort, n int) []net.Conn {
	conns := make([]net.Conn, n)
	for i := range conns {
		c, err := net.Dial("tcp4", to.String())
		if err != nil {
			b.Fatal(err)
		}
		b.Cleanup(func() { c.Close() })
		conns[i] = c
	}
	return conns
}

// parallel runs f(0..n-1) concurrently and waits.
func parallel(n int, f func(i int)) {
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() { f(i) })
	}
	wg.Wait()
}

// BenchmarkProxyConnRate: 8 concurrent clients, each connecting, sending
// one byte, reading the one-byte echo and closing; one op is 25
// connections per client over each path.
func BenchmarkProxyConnRate(b *testing.B) {
	const clients, perClient = 8, 25
	echo := serve(b, func(c *net.TCPConn) {
		defer c.Close()
		var one [1]byte
		if _, err := io.ReadFull(c, one[:]); err == nil {
			c.Write(one[:])
		}
	})
	fe, plain := proxyTo(b, echo), plainProxy(b, echo)
	connect := func(to netip.AddrPort) func() {
		addr := to.String()
		return func() {
			parallel(clients, func(int) {
				var one [1]byte
				for range perClient {
					if err := pingOnce(addr, one[:]); err != nil {
						b.Error(err)
						return
					}
				}
			})
		}
	}
	var s sideBySide
	n := s.loop(b, [3]func(){connect(echo), connect(fe), connect(plain)})
	s.report(b, float64(n)*clients*perClient, "conn")
}

func pingOnce(addr string, one []byte) error {
	c, err := net.Dial("tcp4", addr)
	if err != nil {
		return err
	}
	defer c.Close()
	if _, err := c.Write(one); err != nil {
		return err
	}
	_, err = io.ReadFull(c, one)
	return err
}
