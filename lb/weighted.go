package lb

import "math/bits"

// aliasTable picks a live backend in proportion to its weight in O(1) from
// one 64-bit uniform value (Vose's alias method, in integers). Column j of
// n is chosen by the high bits of r*n; the low bits, uniform again, choose
// between the column's own backend (with probability threshold/2^64) and its
// alias. A nil table means equal weights: the column decides alone.
type aliasTable []aliasColumn

type aliasColumn struct {
	threshold uint64 // own backend when the low bits are below it; max = always
	own       int32  // indices into set.all
	alias     int32
}

func newAliasTable(s *set, _ *view[aliasTable]) aliasTable {
	if s.uniform {
		return nil
	}
	n := int64(len(s.live))
	tab := make(aliasTable, n)
	// Scaled weights a_j = w_j * n against the mean W = total: columns
	// below W are "small" and lend the rest of their column to a "large".
	scaled := make([]int64, n)
	var small, large []int
	for j, i := range s.live {
		scaled[j] = int64(s.all[i].Weight) * n
		tab[j] = aliasColumn{threshold: ^uint64(0), own: i, alias: i}
		if scaled[j] < s.total {
			small = append(small, j)
		} else {
			large = append(large, j)
		}
	}
	for len(small) > 0 && len(large) > 0 {
		sj, lj := small[len(small)-1], large[len(large)-1]
		small = small[:len(small)-1]
		// P(own) = a_s / W, as a fraction of 2^64 (a_s < W).
		tab[sj].threshold, _ = bits.Div64(uint64(scaled[sj]), 0, uint64(s.total))
		tab[sj].alias = s.live[lj]
		if scaled[lj] -= s.total - scaled[sj]; scaled[lj] < s.total {
			large = large[:len(large)-1]
			small = append(small, lj)
		}
	}
	return tab // columns left in either list keep probability 1 (rounding)
}

// index maps r, uniform in [0, 2^64), to an index into s.all, weighted.
// The caller has checked that s.live is not empty.
func (tab aliasTable) index(s *set, r uint64) int32 {
	j, frac := bits.Mul64(r, uint64(len(s.live)))
	if tab == nil {
		return s.live[j]
	}
	if c := &tab[j]; frac >= c.threshold {
		return c.alias
	}
	return tab[j].own
}
