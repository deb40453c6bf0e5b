package lb

import (
	"net/netip"
	"testing"
	"time"

	"github.com/proxykit/proxykit/rulegen"
)

// A LoadBalancer with ExternalTrafficPolicy Local and source ranges: a
// client outside the ranges is reset; an external client inside them
// reaches only the local endpoint; a client on the node (IsLocal) is
// treated as ClusterIP traffic and may reach the remote one too.
func TestProxyLoadBalancerPolicy(t *testing.T) {
	local, remote := startEcho(t, "local", "127.0.0.1"), startEcho(t, "remote", "127.0.0.1")
	node := netip.MustParseAddr("127.0.4.1")
	plan := testPlan(t, svcSpec{name: "lb", clusterIP: "10.96.0.1", lbIP: "203.0.113.1",
		sourceRanges: []netip.Prefix{netip.MustParsePrefix("127.0.3.0/24"), netip.MustParsePrefix("127.0.4.1/32")},
		backends:     []netip.AddrPort{local.addr}, remote: []netip.AddrPort{remote.addr}})
	p := startProxy(t, plan, ProxyOptions{IsLocal: AddrSet(node)})
	fe := frontend(t, p, "lb", rulegen.LoadBalancer)

	// Outside the source ranges (127.0.5.1 is neither in them nor local).
	assertReset(t, fe, netip.MustParseAddr("127.0.5.1"))
	for i := range 6 {
		from := netip.AddrFrom4([4]byte{127, 0, 3, byte(i + 1)})
		if got := who(t, fe, from); got != "local" {
			t.Fatalf("external client %s reached %s", from, got)
		}
	}
	seen := map[string]bool{}
	for range 4 {
		seen[who(t, fe, node)] = true
	}
	if !seen["local"] || !seen["remote"] {
		t.Fatalf("a client on the node should use both endpoints (rr): %v", seen)
	}
	// The ClusterIP frontend uses both endpoints for everyone.
	ci := frontend(t, p, "lb", rulegen.ClusterIP)
	seen = map[string]bool{}
	for range 4 {
		seen[who(t, ci, netip.MustParseAddr("127.0.5.1"))] = true
	}
	if !seen["local"] || !seen["remote"] {
		t.Fatalf("ClusterIP: %v", seen)
	}
}

// A session-affinity hit counts as a connection for a connection-counting
// scheduler (and Done releases it), so least-connection sees every open
// connection, not only the picked ones.
func TestAffinityHitCountsConnection(t *testing.T) {
	eps := []netip.AddrPort{netip.MustParseAddrPort("127.0.0.1:1001"), netip.MustParseAddrPort("127.0.0.1:1002")}
	for _, sched := range []string{LeastConnection, RoundRobin} {
		pl, err := newPool(sched, ProxyOptions{}.withDefaults(), time.Hour, eps, nil)
		if err != nil {
			t.Fatal(err)
		}
		key := PickKey{Client: netip.MustParseAddrPort("10.0.0.7:40000")}
		first, err := pl.choose(key, nil)
		if err != nil {
			t.Fatal(err)
		}
		pl.aff.remember(key.Client.Addr(), first.b)
		hit, err := pl.choose(key, nil)
		if err != nil || hit.b.ID != first.b.ID {
			t.Fatalf("%s: affinity hit = %v, %v; want %s", sched, hit.b.ID, err, first.b.ID)
		}
		want := int64(2)
		if sched == RoundRobin {
			want = 0 // rr counts nothing
		}
		if got := activeOf(pl, first.b.ID); got != want {
			t.Errorf("%s: %d active after a pick and an affinity hit, want %d", sched, got, want)
		}
		first.release()
		hit.release()
		if got := activeOf(pl, first.b.ID); got != 0 {
			t.Errorf("%s: %d active after both closed, want 0", sched, got)
		}
	}
}

func activeOf(pl *pool, id string) int64 {
	for _, b := range pl.sched.Backends() {
		if b.ID == id {
			return b.Active()
		}
	}
	return -1
}

// A fallback backend, chosen when Pick repeats one already tried, counts
// as a connection too (and release frees it).
func TestFallbackCountsConnection(t *testing.T) {
	eps := []netip.AddrPort{netip.MustParseAddrPort("127.0.0.1:1001"), netip.MustParseAddrPort("127.0.0.1:1002")}
	pl, err := newPool(LeastConnection, ProxyOptions{}.withDefaults(), 0, eps, nil)
	if err != nil {
		t.Fatal(err)
	}
	key := PickKey{Client: netip.MustParseAddrPort("10.0.0.7:40000")}
	busy, err := pl.sched.Pick(key) // one open connection on busy
	if err != nil {
		t.Fatal(err)
	}
	idle := eps[0].String()
	if idle == busy.ID {
		idle = eps[1].String()
	}
	// least-connection picks the idle one, which was tried: the busy one is the fallback
	fb, err := pl.choose(key, []string{idle})
	if err != nil || fb.b.ID != busy.ID {
		t.Fatalf("fallback = %v, %v; want %s", fb.b.ID, err, busy.ID)
	}
	if got := activeOf(pl, busy.ID); got != 2 {
		t.Errorf("%d active on the fallback backend, want 2", got)
	}
	fb.release()
	if got := activeOf(pl, busy.ID); got != 1 {
		t.Errorf("%d active after release, want 1", got)
	}
}
