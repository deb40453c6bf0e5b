package lb

import (
	"cmp"
	"fmt"
	"slices"
	"strings"
	"testing"
)

// maglevTab builds the table of an mh scheduler over bs.
func maglevTab(t *testing.T, bs []Backend, opts ...Option) ([]int32, []Backend) {
	t.Helper()
	s := mustNew(t, MaglevHashing, bs, opts...).(*mh)
	v := s.cur.Load()
	return slots(v.x), v.all
}

// slots returns the table's entries as int32s.
func slots(t maglevTable) []int32 {
	if t.large != nil {
		return t.large
	}
	out := make([]int32, len(t.small))
	for c, i := range t.small {
		out[c] = int32(i)
	}
	return out
}

// slotsByID counts table slots per backend ID.
func slotsByID(tab []int32, all []Backend) map[string]int {
	got := map[string]int{}
	for _, i := range tab {
		got[all[i].ID]++
	}
	return got
}

func TestMaglevTableSize(t *testing.T) {
	cases := []struct {
		n     int
		fixed uint64
		want  uint64
	}{
		{1, 0, 65537}, {655, 0, 65537}, {656, 0, 65609}, {1000, 0, 100003},
		{1000, 65537, 65537}, {10, 251, 251}, {300, 251, 30011},
		{200000, 0, 16777213},
	}
	for _, c := range cases {
		if got := tableSize(c.n, c.fixed); got != c.want || !isPrime(got) {
			t.Errorf("tableSize(%d, %d) = %d, want %d", c.n, c.fixed, got, c.want)
		}
	}
}

// Every backend gets floor or ceil of M/N slots: max/avg <= 1.01.
func TestMaglevLoadBalance(t *testing.T) {
	cases := []struct {
		n    int
		opts []Option
	}{
		{1000, []Option{WithTableSize(65537)}},
		{1000, nil}, // M = 100003
		{5000, nil}, // M = 500009
		{655, nil},
		{100, nil},
		{10, nil},
		{7, []Option{WithTableSize(251)}},
	}
	for _, c := range cases {
		tab, all := maglevTab(t, backends(c.n), c.opts...)
		got := slotsByID(tab, all)
		if len(got) != c.n {
			t.Fatalf("N=%d: %d backends have slots", c.n, len(got))
		}
		most := 0
		for _, n := range got {
			most = max(most, n)
		}
		avg := float64(len(tab)) / float64(c.n)
		ratio := float64(most) / avg
		t.Logf("N=%d M=%d: max/avg = %.4f", c.n, len(tab), ratio)
		if ratio > 1.01 {
			t.Errorf("N=%d M=%d: max/avg = %.4f > 1.01", c.n, len(tab), ratio)
		}
	}
}

// Weighted: slots follow weights within 1% (of the share), weight 0 gets none.
func TestMaglevWeights(t *testing.T) {
	bs := backends(6, 1, 2, 3, 4, 0, 10)
	tab, all := maglevTab(t, bs)
	got := slotsByID(tab, all)
	if got["b4"] != 0 {
		t.Errorf("weight 0 backend has %d slots", got["b4"])
	}
	live := append(append([]Backend(nil), bs[:4]...), bs[5])
	checkShares(t, got, live, 0.01)
}

// disruption returns the fraction of all table slots whose backend changed
// from before to after although that backend is in both sets.
func disruption(before, after []int32, allBefore, allAfter []Backend) float64 {
	survives := map[string]bool{}
	for _, b := range allAfter {
		if b.Weight > 0 {
			survives[b.ID] = true
		}
	}
	moved := 0
	for c := range before {
		was := allBefore[before[c]].ID
		if survives[was] && allAfter[after[c]].ID != was {
			moved++
		}
	}
	return float64(moved) / float64(len(before))
}

// Removing (or adding) one of N=1000 backends at M=65537 moves <= 1% of the
// slots of the surviving backends (dgryski/go-maglev measured 0.60%).
func TestMaglevDisruption(t *testing.T) {
	const n, m = 1000, 65537
	bs := backends(n + 1)
	for _, change := range []struct {
		what          string
		before, after []Backend
	}{
		{"remove b0", bs[:n], bs[1:n]},
		{"remove b500", bs[:n], append(append([]Backend(nil), bs[:500]...), bs[501:n]...)},
		{"remove b999", bs[:n], bs[:n-1]},
		{"add b1000", bs[:n], bs},
	} {
		s := mustNew(t, MaglevHashing, change.before, WithTableSize(m)).(*mh)
		v0 := s.cur.Load()
		if err := s.Update(change.after); err != nil {
			t.Fatal(err)
		}
		v1 := s.cur.Load()
		f := disruption(slots(v0.x), slots(v1.x), v0.all, v1.all)
		t.Logf("N=%d M=%d %s: %.3f%% of slots moved between surviving backends", n, m, change.what, 100*f)
		if f > 0.01 {
			t.Errorf("%s: %.3f%% of slots moved, want <= 1%%", change.what, 100*f)
		}
	}
}

// Setting a backend's weight to 0 is a removal for the table.
func TestMaglevWeightZeroIsRemoval(t *testing.T) {
	bs := backends(100)
	drained := append([]Backend(nil), bs...)
	drained[42].Weight = 0
	a, allA := maglevTab(t, drained)
	b, allB := maglevTab(t, append(append([]Backend(nil), bs[:42]...), bs[43:]...))
	for c := range a {
		if allA[a[c]].ID != allB[b[c]].ID {
			t.Fatalf("slot %d: %s vs %s", c, allA[a[c]].ID, allB[b[c]].ID)
		}
	}
}

func TestPrimes(t *testing.T) {
	var got []string
	for n := uint64(0); n < 30; n++ {
		if isPrime(n) {
			got = append(got, fmt.Sprint(n))
		}
	}
	if fmt.Sprint(got) != "[2 3 5 7 11 13 17 19 23 29]" {
		t.Errorf("primes below 30: %v", got)
	}
	if nextPrime(65536) != 65537 || prevPrime(1<<24) != 16777213 || isPrime(65537*3) {
		t.Error("nextPrime/prevPrime/isPrime wrong")
	}
}

// buildMaglevByProbing is the plain algorithm (with a modulo per probe), the
// reference for buildMaglev.
func buildMaglevByProbing(s *set, m uint64) []int32 {
	turns := maglevTurns(s, uint32(m))
	var w *weighting
	if !s.uniform {
		w = newWeighting(s, turns)
	}
	tab, taken := make([]int32, m), make([]bool, m)
	for left := m; left > 0; {
		for j := range turns {
			if w != nil && !w.turn(j) {
				continue
			}
			t := &turns[j]
			c := uint64(t.next)
			for taken[c] {
				c = (c + uint64(t.skip)) % m
			}
			taken[c], tab[c] = true, t.index
			t.next = uint32((c + uint64(t.skip)) % m)
			if left--; left == 0 {
				break
			}
		}
	}
	return tab
}

func TestMaglevBuildMatchesProbing(t *testing.T) {
	for _, c := range []struct {
		bs []Backend
		m  uint64
	}{
		{backends(1000), 65537}, {backends(3), 65537}, {backends(10, 1, 5, 0, 3), 65537},
		{backends(7), 251}, {backends(2), 3}, {backends(300), 30011}, {backends(1), 7},
	} {
		s, err := newSet(nil, c.bs)
		if err != nil {
			t.Fatal(err)
		}
		if !slices.Equal(slots(buildMaglev(s, c.m)), buildMaglevByProbing(s, c.m)) {
			t.Errorf("N=%d M=%d: free-list build differs from probing", len(c.bs), c.m)
		}
	}
}

func TestModInverse(t *testing.T) {
	for _, m := range []uint32{3, 251, 65537, 16777213} {
		for _, a := range []uint32{1, 2, m / 2, m - 1} {
			if inv := modInverse(a, m); uint64(a)*uint64(inv)%uint64(m) != 1 {
				t.Errorf("modInverse(%d, %d) = %d", a, m, inv)
			}
		}
	}
	b := newMaglevBuilder[int32](16777213)
	for _, x := range []uint64{0, 1, 16777212, 12345678, 9999999} {
		for _, y := range []uint64{0, 1, 16777212, 7654321} {
			if got, want := b.mulMod(x, y), x*y%16777213; got != want {
				t.Errorf("mulMod(%d, %d) = %d, want %d", x, y, got, want)
			}
		}
	}
}

// More than 65536 backends (live or not) switch to 4-byte entries; the
// table is the same.
func TestMaglevLargeSet(t *testing.T) {
	bs := backends(1<<16 + 10)
	for i := range bs {
		if i%1000 != 7 {
			bs[i].Weight = 0
		}
	}
	big, err := newSet(nil, bs)
	if err != nil {
		t.Fatal(err)
	}
	tab := buildMaglev(big, 65537)
	if tab.large == nil || tab.small != nil {
		t.Fatal("expected 4-byte entries")
	}
	if !slices.Equal(tab.large, buildMaglevByProbing(big, 65537)) {
		t.Error("4-byte table differs from probing")
	}
	s := mustNew(t, MaglevHashing, bs)
	for i := range 1000 {
		if b := mustPick(t, s, clientKey(i)); b.Weight == 0 {
			t.Fatalf("picked weight-0 %s", b.ID)
		}
	}
}

// sortTurns orders by (next, skip), then ID: checked against a plain sort
// on walks forced to collide, so that the ID tie-break is exercised.
func TestSortTurnsTies(t *testing.T) {
	s, err := newSet(nil, backends(200))
	if err != nil {
		t.Fatal(err)
	}
	turns := make([]maglevTurn, len(s.live))
	for j, i := range s.live {
		turns[j] = maglevTurn{next: uint32(j*7) % 3, skip: 1 + uint32(j*13)%2, index: i}
	}
	want := slices.Clone(turns)
	slices.SortFunc(want, func(a, b maglevTurn) int {
		if c := cmp.Compare(a.next, b.next); c != 0 {
			return c
		}
		if c := cmp.Compare(a.skip, b.skip); c != 0 {
			return c
		}
		return strings.Compare(s.all[a.index].ID, s.all[b.index].ID)
	})
	slices.Reverse(turns)
	sortTurns(s, turns)
	if !slices.Equal(turns, want) {
		t.Errorf("sortTurns differs from the plain order:\n got %v\nwant %v", turns[:8], want[:8])
	}
}
