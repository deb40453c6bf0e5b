package lb

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/netip"
	"testing"
	"time"

	"github.com/proxykit/proxykit/rulegen"
)

func syncPlan(t *testing.T, p *Proxy, plan *rulegen.Plan) rulegen.SyncResult {
	t.Helper()
	res, err := p.Sync(context.Background(), rulegen.SyncRequest{Plan: plan})
	if err != nil {
		t.Fatal(err)
	}
	return res
}

// Endpoint and scheduler changes, then the frontend's removal, leave every
// established connection working; a removed frontend stops listening.
func TestProxyReloadKeepsConnections(t *testing.T) {
	a, b, c := startEcho(t, "a", "127.0.0.1"), startEcho(t, "b", "127.0.0.1"), startEcho(t, "c", "127.0.0.1")
	other := startEcho(t, "other", "127.0.0.1")
	p := startProxy(t, testPlan(t, svcSpec{name: "web", clusterIP: "10.96.0.1", backends: []netip.AddrPort{a.addr, b.addr}}), ProxyOptions{})
	fe := frontend(t, p, "web", rulegen.ClusterIP)
	var conns []net.Conn
	for range 4 {
		_, conn := greet(t, fe, netip.Addr{})
		defer conn.Close()
		conns = append(conns, conn)
	}
	allEcho := func(stage string) {
		t.Helper()
		for i, conn := range conns {
			if err := echoOnce(conn, stage); err != nil {
				t.Fatalf("%s: connection %d: %v", stage, i, err)
			}
		}
	}
	allEcho("before")

	res := syncPlan(t, p, testPlan(t, svcSpec{name: "web", clusterIP: "10.96.0.1", scheduler: LeastConnection, backends: []netip.AddrPort{b.addr, c.addr}}))
	if res.Writes != 1 {
		t.Fatalf("endpoint change: %d writes, want 1 (the pool)", res.Writes)
	}
	if frontend(t, p, "web", rulegen.ClusterIP) != fe {
		t.Fatal("the listener changed")
	}
	allEcho("after the endpoint change")
	for range 6 {
		if got := who(t, fe, netip.Addr{}); got == "a" {
			t.Fatal("a removed backend got a new connection")
		}
	}
	if res := syncPlan(t, p, testPlan(t, svcSpec{name: "web", clusterIP: "10.96.0.1", scheduler: LeastConnection, backends: []netip.AddrPort{b.addr, c.addr}})); res.Writes != 0 {
		t.Fatalf("no change: %d writes", res.Writes)
	}

	syncPlan(t, p, testPlan(t, svcSpec{name: "other", clusterIP: "10.96.0.2", backends: []netip.AddrPort{other.addr}}))
	if conn, err := net.DialTimeout("tcp4", fe.String(), time.Second); err == nil {
		conn.Close()
		t.Fatal("the removed frontend still accepts")
	}
	allEcho("after the frontend's removal")

	// Cleanup drains until its deadline, then cuts what is left.
	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()
	if err := p.Cleanup(ctx); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("Cleanup with open connections: %v", err)
	}
	for i, conn := range conns {
		conn.SetReadDeadline(time.Now().Add(5 * time.Second))
		if _, err := io.ReadAll(conn); err != nil && !isReset(err) {
			t.Fatalf("connection %d after the drain deadline: %v", i, err)
		}
	}
	if len(p.Listeners()) != 0 {
		t.Fatal("listeners left after Cleanup")
	}
}

// Cleanup returns as soon as the last connection ends by itself.
func TestProxyCleanupDrainsGracefully(t *testing.T) {
	a := startEcho(t, "a", "127.0.0.1")
	p := startProxy(t, testPlan(t, svcSpec{name: "web", clusterIP: "10.96.0.1", backends: []netip.AddrPort{a.addr}}), ProxyOptions{})
	_, conn := greet(t, frontend(t, p, "web", rulegen.ClusterIP), netip.Addr{})
	done := make(chan error, 1)
	go func() {
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		done <- p.Cleanup(ctx)
	}()
	// The connection still works while the proxy drains.
	eventually(t, 5*time.Second, "listener closed", func() (bool, string) { return len(p.Listeners()) == 0, "" })
	if err := echoOnce(conn, "draining"); err != nil {
		t.Fatal(err)
	}
	conn.Close()
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("Cleanup: %v", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("Cleanup did not return after the last connection closed")
	}
	// The proxy serves again after Cleanup; after Close it refuses.
	syncPlan(t, p, testPlan(t, svcSpec{name: "web", clusterIP: "10.96.0.1", backends: []netip.AddrPort{a.addr}}))
	if who(t, frontend(t, p, "web", rulegen.ClusterIP), netip.Addr{}) != "a" {
		t.Fatal("no service after re-Sync")
	}
	if err := p.Close(context.Background()); err != nil {
		t.Fatal(err)
	}
	if _, err := p.Sync(context.Background(), rulegen.SyncRequest{Plan: testPlan(t)}); !errors.Is(err, ErrProxyClosed) {
		t.Fatalf("Sync after Close: %v", err)
	}
}

// Syncs that change the endpoints and the scheduler while clients connect
// and exchange data: no client sees a failure (every set has live
// backends), and the race detector stays quiet.
func TestProxySyncUnderTraffic(t *testing.T) {
	a, b, c := startEcho(t, "a", "127.0.0.1"), startEcho(t, "b", "127.0.0.1"), startEcho(t, "c", "127.0.0.1")
	plans := []*rulegen.Plan{
		testPlan(t, svcSpec{name: "web", clusterIP: "10.96.0.1", backends: []netip.AddrPort{a.addr, b.addr}}),
		testPlan(t, svcSpec{name: "web", clusterIP: "10.96.0.1", scheduler: MaglevHashing, backends: []netip.AddrPort{b.addr, c.addr}}),
		testPlan(t, svcSpec{name: "web", clusterIP: "10.96.0.1", scheduler: LeastConnection, affinity: time.Hour, backends: []netip.AddrPort{c.addr, a.addr}}),
	}
	p := startProxy(t, plans[0], ProxyOptions{})
	fe := frontend(t, p, "web", rulegen.ClusterIP)
	done := make(chan struct{})
	errs := make(chan error, 8)
	for w := range 8 {
		go func() {
			from := netip.AddrFrom4([4]byte{127, 0, 6, byte(w + 1)})
			for i := 0; ; i++ {
				select {
				case <-done:
					errs <- nil
					return
				default:
				}
				if err := roundTrip(fe, from, fmt.Sprint(w, "-", i)); err != nil {
					errs <- err
					return
				}
			}
		}()
	}
	for i := range 30 {
		syncPlan(t, p, plans[i%len(plans)])
	}
	close(done)
	for range 8 {
		if err := <-errs; err != nil {
			t.Fatal(err)
		}
	}
}

// roundTrip connects, reads the greeting, checks one echo and closes.
func roundTrip(to netip.AddrPort, from netip.Addr, msg string) error {
	d := net.Dialer{Timeout: 5 * time.Second, LocalAddr: &net.TCPAddr{IP: from.AsSlice()}}
	c, err := d.Dial("tcp4", to.String())
	if err != nil {
		return err
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(10 * time.Second))
	if _, err := bufio.NewReader(io.LimitReader(c, 2)).ReadString('\n'); err != nil {
		return fmt.Errorf("greeting: %w", err)
	}
	return echoOnce(c, msg)
}
