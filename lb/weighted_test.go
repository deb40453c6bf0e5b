package lb

import "testing"

// cumulative.index agrees with a linear scan, at every boundary.
func TestCumulativeIndex(t *testing.T) {
	for _, ws := range [][]int{{1, 2}, {3, 1, 4, 1, 5, 9, 2, 6}, {1, 1, 1, 7}, {5, 0, 5, 2}} {
		s, err := newSet(nil, backends(len(ws), ws...))
		if err != nil {
			t.Fatal(err)
		}
		cum := newCumulative(s, nil)
		for x := range s.total {
			// r such that reduce(r, total) == x: the smallest r with
			// r*total >= x*2^64.
			r := uint64(0)
			if x > 0 {
				r = (^uint64(0)/uint64(s.total))*uint64(x) + uint64(x)
			}
			if reduce(r, uint64(s.total)) != uint64(x) {
				t.Fatalf("test bug: reduce(%d) != %d", r, x)
			}
			want := int32(-1)
			var sum int64
			for _, i := range s.live {
				if sum += int64(s.all[i].Weight); sum > x {
					want = i
					break
				}
			}
			if got := cum.index(s, r); got != want {
				t.Errorf("weights %v, x=%d: index %d, want %d", ws, x, got, want)
			}
		}
	}
}
