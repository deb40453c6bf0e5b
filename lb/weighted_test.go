package lb

import (
	"math"
	"testing"
)

// The alias table gives each backend exactly its weight's share (up to
// 2^-64 rounding per column), never a weight-0 backend.
func TestAliasTableShares(t *testing.T) {
	for _, ws := range [][]int{{1, 2}, {3, 1, 4, 1, 5, 9, 2, 6}, {1, 1, 1, 7}, {5, 0, 5, 2}, {1, MaxWeight}, {7}} {
		s, err := newSet(nil, backends(len(ws), ws...))
		if err != nil {
			t.Fatal(err)
		}
		tab := newAliasTable(s, nil)
		share := make([]float64, len(s.all))
		for _, c := range tab {
			own := float64(c.threshold) / math.Exp2(64)
			share[c.own] += own / float64(len(tab))
			share[c.alias] += (1 - own) / float64(len(tab))
		}
		for i, b := range s.all {
			want := float64(b.Weight) / float64(s.total)
			if len(ws) > 1 && tab == nil {
				t.Fatalf("weights %v: no table", ws)
			}
			if tab != nil && math.Abs(share[i]-want) > 1e-12 {
				t.Errorf("weights %v: backend %d has share %.15f, want %.15f", ws, i, share[i], want)
			}
		}
	}
}

// index uses the high bits of r for the column and the low bits for the
// coin, so it picks own below the threshold and alias above.
func TestAliasTableIndex(t *testing.T) {
	s, err := newSet(nil, backends(2, 1, 3))
	if err != nil {
		t.Fatal(err)
	}
	tab := newAliasTable(s, nil)
	// Column 0 is b0 (scaled 2 < 4) with alias b1, P(own) = 1/2; column 1 is b1.
	if tab[0].own != 0 || tab[0].alias != 1 || tab[0].threshold != 1<<63 || tab[1].own != 1 {
		t.Fatalf("table = %+v", tab)
	}
	for r, want := range map[uint64]int32{
		0:             0, // column 0, coin 0
		1<<62 - 1:     0, // column 0, coin just below 1/2
		1 << 62:       1, // column 0, coin 1/2: alias
		1<<63 - 1:     1,
		1 << 63:       1, // column 1
		^uint64(0):    1,
		1<<62 + 1<<61: 1,
	} {
		if got := tab.index(s, r); got != want {
			t.Errorf("index(%#x) = %d, want %d", r, got, want)
		}
	}
}
