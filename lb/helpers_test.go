package lb

import (
	"fmt"
	"net/netip"
	"testing"
)

// backends returns n backends b0..b(n-1) with the given weights (1 when
// weights is nil), at 10.244.x.y:8080.
func backends(n int, weights ...int) []Backend {
	bs := make([]Backend, n)
	for i := range bs {
		w := 1
		if i < len(weights) {
			w = weights[i]
		}
		addr := netip.AddrFrom4([4]byte{10, 244, byte(i >> 8), byte(i)})
		bs[i] = Backend{ID: fmt.Sprintf("b%d", i), Addr: netip.AddrPortFrom(addr, 8080), Weight: w}
	}
	return bs
}

// clientKey returns a distinct key per i: client 10.x.y.z:(40000+i%1000)
// to the service 10.96.0.10:80.
func clientKey(i int) PickKey {
	c := netip.AddrFrom4([4]byte{10, byte(i >> 16), byte(i >> 8), byte(i)})
	return PickKey{
		Client: netip.AddrPortFrom(c, uint16(40000+i%1000)),
		Dest:   netip.MustParseAddrPort("10.96.0.10:80"),
	}
}

func mustNew(t testing.TB, name string, bs []Backend, opts ...Option) Scheduler {
	t.Helper()
	s, err := New(name, bs, opts...)
	if err != nil {
		t.Fatalf("New(%q): %v", name, err)
	}
	return s
}

func mustPick(t testing.TB, s Scheduler, k PickKey) Backend {
	t.Helper()
	b, err := s.Pick(k)
	if err != nil {
		t.Fatalf("%s: Pick: %v", s.Name(), err)
	}
	return b
}

// countPicks picks n times with keys clientKey(0..n-1), calling Done after
// each, and counts picks per backend ID.
func countPicks(t testing.TB, s Scheduler, n int) map[string]int {
	t.Helper()
	got := map[string]int{}
	for i := range n {
		b := mustPick(t, s, clientKey(i))
		got[b.ID]++
		s.Done(b)
	}
	return got
}

// checkShares checks that each backend's share of total picks is within
// tol (relative) of its weight's share.
func checkShares(t *testing.T, got map[string]int, bs []Backend, tol float64) {
	t.Helper()
	var total, wsum float64
	for _, n := range got {
		total += float64(n)
	}
	for _, b := range bs {
		wsum += float64(b.Weight)
	}
	for _, b := range bs {
		want := total * float64(b.Weight) / wsum
		if d := float64(got[b.ID]) - want; d > tol*want || -d > tol*want {
			t.Errorf("backend %s (weight %d): %d picks, want %.0f ±%.1f%%", b.ID, b.Weight, got[b.ID], want, tol*100)
		}
	}
}
