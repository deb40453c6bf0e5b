package lb

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"net/netip"
	"sync"
	"testing"
	"time"

	"github.com/proxykit/proxykit/rulegen"
)

func TestProxyDistributesRoundRobin(t *testing.T) {
	a, b, c := startEcho(t, "a", "127.0.0.1"), startEcho(t, "b", "127.0.0.1"), startEcho(t, "c", "127.0.0.1")
	p := startProxy(t, testPlan(t, svcSpec{name: "web", clusterIP: "10.96.0.1", backends: []netip.AddrPort{a.addr, b.addr, c.addr}}), ProxyOptions{})
	fe := frontend(t, p, "web", rulegen.ClusterIP)
	counts := map[string]int{}
	for range 30 {
		counts[who(t, fe, netip.Addr{})]++
	}
	if counts["a"] != 10 || counts["b"] != 10 || counts["c"] != 10 {
		t.Fatalf("rr over 3 backends, 30 connections: %v", counts)
	}
}

func TestProxyIPv6(t *testing.T) {
	a, b := startEcho(t, "a", "::1"), startEcho(t, "b", "::1")
	p := startProxy(t, testPlan(t, svcSpec{name: "web6", clusterIP: "fd00::10", backends: []netip.AddrPort{a.addr, b.addr}}), ProxyOptions{})
	fe := frontend(t, p, "web6", rulegen.ClusterIP)
	if !fe.Addr().Is6() {
		t.Fatalf("listens on %s", fe)
	}
	if x, y := who(t, fe, netip.Addr{}), who(t, fe, netip.Addr{}); x == y {
		t.Fatalf("rr gave %s twice", x)
	}
}

func TestProxySchedulerHint(t *testing.T) {
	a, b := startEcho(t, "a", "127.0.0.1"), startEcho(t, "b", "127.0.0.1")
	p := startProxy(t, testPlan(t, svcSpec{name: "web", clusterIP: "10.96.0.1", scheduler: SourceHashing, backends: []netip.AddrPort{a.addr, b.addr}}), ProxyOptions{})
	fe := frontend(t, p, "web", rulegen.ClusterIP)
	first := who(t, fe, netip.Addr{})
	for range 10 {
		if got := who(t, fe, netip.Addr{}); got != first {
			t.Fatalf("sh: same client went to %s then %s", first, got)
		}
	}
	if l := p.Listeners()[0]; l.Scheduler != SourceHashing {
		t.Fatalf("scheduler %q", l.Scheduler)
	}
}

func TestProxyRetriesPastDeadBackend(t *testing.T) {
	for _, sched := range []string{RoundRobin, SourceHashing, MaglevHashing, LeastConnection} {
		t.Run(sched, func(t *testing.T) {
			a, b := startEcho(t, "a", "127.0.0.1"), startEcho(t, "b", "127.0.0.1")
			dead1, dead2 := deadAddr(t), deadAddr(t)
			plan := testPlan(t, svcSpec{name: "web", clusterIP: "10.96.0.1", scheduler: sched,
				backends: []netip.AddrPort{dead1, a.addr, dead2, b.addr}})
			p := startProxy(t, plan, ProxyOptions{})
			fe := frontend(t, p, "web", rulegen.ClusterIP)
			for i := range 20 {
				// Different client addresses hash to different backends.
				from := netip.AddrFrom4([4]byte{127, 0, 1, byte(i + 1)})
				if got := who(t, fe, from); got != "a" && got != "b" {
					t.Fatalf("connection %d: %q", i, got)
				}
			}
		})
	}
}

// A backend that accepts no connection (full backlog) times out; the next
// one answers.
func TestProxyRetriesPastTimeout(t *testing.T) {
	a := startEcho(t, "a", "127.0.0.1")
	stuck := stuckListener(t)
	plan := testPlan(t, svcSpec{name: "web", clusterIP: "10.96.0.1", backends: []netip.AddrPort{stuck, a.addr}})
	p := startProxy(t, plan, ProxyOptions{DialTimeout: 200 * time.Millisecond})
	fe := frontend(t, p, "web", rulegen.ClusterIP)
	for range 4 {
		if got := who(t, fe, netip.Addr{}); got != "a" {
			t.Fatalf("got %q", got)
		}
	}
}

func TestProxyAllBackendsDeadResets(t *testing.T) {
	plan := testPlan(t, svcSpec{name: "web", clusterIP: "10.96.0.1", backends: []netip.AddrPort{deadAddr(t), deadAddr(t)}})
	p := startProxy(t, plan, ProxyOptions{})
	assertReset(t, frontend(t, p, "web", rulegen.ClusterIP), netip.Addr{})
	if f := p.Listeners()[0].Failed; f != 1 {
		t.Fatalf("Failed = %d, want 1", f)
	}
}

func TestProxyRejectsWithoutEndpoints(t *testing.T) {
	p := startProxy(t, testPlan(t, svcSpec{name: "empty", clusterIP: "10.96.0.1"}), ProxyOptions{})
	ls := p.Listeners()
	if len(ls) != 1 || ls[0].Action != rulegen.Reject {
		t.Fatalf("listeners %v", ls)
	}
	assertReset(t, ls[0].Bound, netip.Addr{})
}

func TestProxyAffinity(t *testing.T) {
	a, b := startEcho(t, "a", "127.0.0.1"), startEcho(t, "b", "127.0.0.1")
	var mu sync.Mutex
	now := time.Unix(1000, 0)
	clock := func() time.Time { mu.Lock(); defer mu.Unlock(); return now }
	plan := testPlan(t, svcSpec{name: "sticky", clusterIP: "10.96.0.1", affinity: time.Minute, backends: []netip.AddrPort{a.addr, b.addr}})
	p := startProxy(t, plan, ProxyOptions{Now: clock})
	fe := frontend(t, p, "sticky", rulegen.ClusterIP)
	c1, c2 := netip.MustParseAddr("127.0.2.1"), netip.MustParseAddr("127.0.2.2")
	sticky := func(from netip.Addr, want string) {
		t.Helper()
		for range 5 {
			if got := who(t, fe, from); got != want {
				t.Fatalf("client %s: %s, want %s", from, got, want)
			}
		}
	}
	first := who(t, fe, c1) // rr's first pick, then remembered
	second := map[string]string{"a": "b", "b": "a"}[first]
	sticky(c1, first)
	// After the timeout the client is scheduled afresh: rr's second pick.
	mu.Lock()
	now = now.Add(time.Minute)
	mu.Unlock()
	sticky(c1, second)
	sticky(c2, first)
}

// The client half-closes; the backend still answers, then closes; and the
// other way round. Both copy modes.
func TestProxyHalfClose(t *testing.T) {
	for _, buffered := range []bool{false, true} {
		t.Run(fmt.Sprint("buffered=", buffered), func(t *testing.T) { testHalfClose(t, buffered) })
	}
}

func testHalfClose(t *testing.T, buffered bool) {
	a := startEcho(t, "a", "127.0.0.1")
	srv := startHalfCloser(t)
	plan := testPlan(t, svcSpec{name: "echo", clusterIP: "10.96.0.1", backends: []netip.AddrPort{a.addr}},
		svcSpec{name: "hc", clusterIP: "10.96.0.2", backends: []netip.AddrPort{srv.addr}})
	p := startProxy(t, plan, ProxyOptions{Buffered: buffered})

	name, c := greet(t, frontend(t, p, "echo", rulegen.ClusterIP), netip.Addr{})
	defer c.Close()
	if _, err := io.WriteString(c, "ping"); err != nil || c.CloseWrite() != nil {
		t.Fatal(name, err)
	}
	rest, err := io.ReadAll(c)
	if err != nil || string(rest) != "ping" {
		t.Fatalf("after client FIN: %q, %v", rest, err)
	}

	// The server sends "bye" and its FIN first, then reads what the client
	// still sends.
	c2, err := net.Dial("tcp4", frontend(t, p, "hc", rulegen.ClusterIP).String())
	if err != nil {
		t.Fatal(err)
	}
	defer c2.Close()
	c2.SetDeadline(time.Now().Add(10 * time.Second))
	got, err := io.ReadAll(c2)
	if err != nil || string(got) != "bye" {
		t.Fatalf("server half: %q, %v", got, err)
	}
	if _, err := io.WriteString(c2, "late data"); err != nil {
		t.Fatal(err)
	}
	c2.(*net.TCPConn).CloseWrite()
	select {
	case rcv := <-srv.got:
		if rcv != "late data" {
			t.Fatalf("server read %q after its FIN", rcv)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("server never got the client's data after its own FIN")
	}
}

type halfCloser struct {
	addr netip.AddrPort
	got  chan string
}

// startHalfCloser serves one connection: it writes "bye", half-closes, and
// reports what it then reads until EOF.
func startHalfCloser(t *testing.T) *halfCloser {
	ln, err := net.ListenTCP("tcp4", &net.TCPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	h := &halfCloser{addr: ln.Addr().(*net.TCPAddr).AddrPort(), got: make(chan string, 1)}
	go func() {
		c, err := ln.AcceptTCP()
		if err != nil {
			return
		}
		defer c.Close()
		io.WriteString(c, "bye")
		c.CloseWrite()
		b, _ := io.ReadAll(c)
		h.got <- string(b)
	}()
	return h
}

// stuckListener returns the address of a listener whose accept queue is
// full, so that further SYNs are dropped and connects time out.
func stuckListener(t *testing.T) netip.AddrPort {
	t.Helper()
	ln, err := listenBacklog0(t)
	if err != nil {
		t.Skip("cannot make a stuck listener:", err)
	}
	// Fill the queue (backlog 0 holds one connection) without accepting.
	for i := 0; ; i++ {
		c, err := net.DialTimeout("tcp4", ln.String(), 100*time.Millisecond)
		if err != nil {
			break
		}
		t.Cleanup(func() { c.Close() })
		if i > 8 {
			t.Skip("the listener never filled up")
		}
	}
	return ln
}

func TestProxySyncIsAllOrNothing(t *testing.T) {
	a := startEcho(t, "a", "127.0.0.1")
	taken, err := net.Listen("tcp4", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer taken.Close()
	takenAddr := taken.Addr().(*net.TCPAddr).AddrPort()
	listen := func(f rulegen.Frontend, pp *rulegen.PortPlan) (netip.AddrPort, bool) {
		if pp.Name.Name == "new" {
			return takenAddr, true
		}
		return loopbackListen(f, pp)
	}
	plan1 := testPlan(t, svcSpec{name: "web", clusterIP: "10.96.0.1", backends: []netip.AddrPort{a.addr}})
	p := startProxy(t, plan1, ProxyOptions{Listen: listen})
	fe := frontend(t, p, "web", rulegen.ClusterIP)
	plan2 := testPlan(t, svcSpec{name: "web", clusterIP: "10.96.0.1", backends: []netip.AddrPort{deadAddr(t)}},
		svcSpec{name: "new", clusterIP: "10.96.0.2", backends: []netip.AddrPort{a.addr}})
	_, err = p.Sync(context.Background(), rulegen.SyncRequest{Plan: plan2})
	var le *ListenError
	if !errors.As(err, &le) || le.Spec.Service.Name != "new" {
		t.Fatalf("Sync: %v, want a *ListenError for new", err)
	}
	// The old plan still serves: same listener, old endpoint.
	if got := who(t, fe, netip.Addr{}); got != "a" || len(p.Listeners()) != 1 {
		t.Fatalf("after a failed Sync: %q, %v", got, p.Listeners())
	}
}

func TestPlanListenersLocalAddresses(t *testing.T) {
	plan := testPlan(t, svcSpec{name: "np", clusterIP: "10.96.0.1", nodePort: 30080, backends: []netip.AddrPort{netip.MustParseAddrPort("10.244.0.5:8080")}},
		svcSpec{name: "remote", clusterIP: "10.96.0.2", backends: []netip.AddrPort{netip.MustParseAddrPort("10.244.0.6:8080")}})
	specs, err := PlanListeners(plan, ProxyOptions{IsLocal: AddrSet(netip.MustParseAddr("10.96.0.1"))})
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, s := range specs {
		got = append(got, s.Key())
	}
	want := []string{"TCP 10.96.0.1:80", "TCP 0.0.0.0:30080"}
	if len(got) != 2 || got[0] != want[0] || got[1] != want[1] {
		t.Fatalf("listeners %v, want %v", got, want)
	}
	if s := specs[0]; s.Scheduler != RoundRobin || len(s.Endpoints) != 1 || s.Endpoints[0].String() != "10.244.0.5:8080" {
		t.Fatalf("spec %v", s)
	}
}

func TestPlanListenersConflict(t *testing.T) {
	plan := testPlan(t, svcSpec{name: "a", clusterIP: "10.96.0.1", backends: []netip.AddrPort{netip.MustParseAddrPort("10.244.0.5:8080")}},
		svcSpec{name: "b", clusterIP: "10.96.0.2", backends: []netip.AddrPort{netip.MustParseAddrPort("10.244.0.6:8080")}})
	same := func(rulegen.Frontend, *rulegen.PortPlan) (netip.AddrPort, bool) {
		return netip.MustParseAddrPort("127.0.0.1:8000"), true
	}
	specs, err := PlanListeners(plan, ProxyOptions{Listen: same})
	var ce *ListenConflictError
	if len(specs) != 1 || !errors.As(err, &ce) || ce.Service.Name != "b" || ce.Winner.Name != "a" {
		t.Fatalf("specs %v, err %v", specs, err)
	}
}

// 8 MiB of random bytes through the proxy and back through an echo
// backend arrive intact and in order, in both copy modes, while the client
// writes and reads concurrently (the copy loops see partial reads and
// writes).
func TestProxyLargeTransfer(t *testing.T) {
	data := make([]byte, 8<<20)
	rng := rand.New(rand.NewPCG(1, 2))
	for i := range data {
		data[i] = byte(rng.Uint32())
	}
	for _, buffered := range []bool{false, true} {
		t.Run(fmt.Sprint("buffered=", buffered), func(t *testing.T) {
			a := startEcho(t, "a", "127.0.0.1")
			p := startProxy(t, testPlan(t, svcSpec{name: "big", clusterIP: "10.96.0.1", backends: []netip.AddrPort{a.addr}}), ProxyOptions{Buffered: buffered})
			name, c := greet(t, frontend(t, p, "big", rulegen.ClusterIP), netip.Addr{})
			defer c.Close()
			c.SetDeadline(time.Now().Add(30 * time.Second))
			werr := make(chan error, 1)
			go func() {
				_, err := c.Write(data)
				if err == nil {
					err = c.CloseWrite()
				}
				werr <- err
			}()
			got, err := io.ReadAll(c)
			if err != nil || <-werr != nil {
				t.Fatal(name, err)
			}
			if !bytes.Equal(got, data) {
				t.Fatalf("%s: %d bytes back, want %d identical", name, len(got), len(data))
			}
		})
	}
}
