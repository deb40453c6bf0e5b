package lb

import (
	"strings"
	"testing"
)

// rr gives every live backend exactly the same number of picks over whole
// rounds, in order.
func TestRoundRobinExact(t *testing.T) {
	bs := backends(5, 1, 7, 0, 2, 1)
	s := mustNew(t, RoundRobin, bs)
	var order []string
	for i := range 8 {
		order = append(order, mustPick(t, s, clientKey(i)).ID)
	}
	if got := strings.Join(order, " "); got != "b0 b1 b3 b4 b0 b1 b3 b4" {
		t.Errorf("order = %s", got)
	}
	got := countPicks(t, s, 4000)
	for _, id := range []string{"b0", "b1", "b3", "b4"} {
		if got[id] != 1000 {
			t.Errorf("%s: %d picks, want 1000", id, got[id])
		}
	}
}

// wrr is exact over a period and interleaves (nginx's example).
func TestSmoothWeightedRoundRobin(t *testing.T) {
	s := mustNew(t, WeightedRoundRobin, []Backend{
		{ID: "a", Addr: backends(1)[0].Addr, Weight: 5},
		{ID: "b", Addr: backends(1)[0].Addr, Weight: 1},
		{ID: "c", Addr: backends(1)[0].Addr, Weight: 1},
	})
	var order []string
	for i := range 14 {
		order = append(order, mustPick(t, s, clientKey(i)).ID)
	}
	if got := strings.Join(order, ""); got != "aabacaaaabacaa" {
		t.Errorf("order = %s, want aabacaa twice", got)
	}
	bs := backends(4, 10, 20, 30, 40)
	s = mustNew(t, WeightedRoundRobin, bs)
	checkShares(t, countPicks(t, s, 10*1000), bs, 0) // period 10 (gcd 10): exact
}

// A period too long to precompute runs the smooth step under a mutex.
func TestSmoothWeightedRoundRobinLongPeriod(t *testing.T) {
	bs := backends(100)
	for i := range bs {
		bs[i].Weight = 1000 + i // gcd 1, period 104950, * 100 > budget
	}
	s := mustNew(t, WeightedRoundRobin, bs)
	if v := s.(*wrr).cur.Load(); v.x.smooth == nil || v.x.seq != nil {
		t.Fatal("expected the dynamic path")
	}
	var period int
	for _, b := range bs {
		period += b.Weight
	}
	checkShares(t, countPicks(t, s, period), bs, 0)
}

func TestWeightedRoundRobinUniformIsRoundRobin(t *testing.T) {
	bs := backends(3, 4, 4, 4)
	s := mustNew(t, WeightedRoundRobin, bs)
	checkShares(t, countPicks(t, s, 3000), bs, 0)
}

// random: 5*10^5 picks; a 3% relative tolerance is > 7 standard deviations
// for the smallest share (10%).
func TestRandomDistribution(t *testing.T) {
	for _, bs := range [][]Backend{backends(10), backends(4, 1, 2, 3, 4)} {
		s := mustNew(t, Random, bs)
		checkShares(t, countPicks(t, s, 500000), bs, 0.03)
	}
}

// sh, dh and mh spread distinct keys like their weights (deterministic:
// fixed hash, fixed keys).
func TestHashDistribution(t *testing.T) {
	for _, bs := range [][]Backend{backends(10), backends(4, 1, 2, 3, 4)} {
		for _, name := range []string{SourceHashing, MaglevHashing} {
			s := mustNew(t, name, bs, WithPort())
			checkShares(t, countPicks(t, s, 200000), bs, 0.05)
		}
		s := mustNew(t, DestinationHashing, bs, WithPort())
		got := map[string]int{}
		for i := range 200000 {
			k := clientKey(i)
			k.Dest = k.Client // vary the destination
			got[mustPick(t, s, k).ID]++
		}
		checkShares(t, got, bs, 0.05)
	}
}
