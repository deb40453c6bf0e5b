package iptables

import (
	"slices"
	"strings"
)

// bySeq orders chains by position in their table, then by name.
func bySeq(a, b *Chain) int {
	switch {
	case a.seq < b.seq:
		return -1
	case a.seq > b.seq:
		return 1
	}
	return strings.Compare(a.Name, b.Name)
}

// sortBySeq sorts chains by bySeq. The chains of one table have distinct
// positions that are mostly dense, so it places each chain at its offset
// in one pass; it sorts by comparison when positions repeat (a chain
// shared by two tables may carry the other's) or are too sparse.
func sortBySeq(chains []*Chain) {
	if slices.IsSortedFunc(chains, bySeq) {
		return
	}
	if len(chains) < 64 {
		slices.SortFunc(chains, bySeq)
		return
	}
	lo, hi := chains[0].seq, chains[0].seq
	for _, c := range chains {
		lo, hi = min(lo, c.seq), max(hi, c.seq)
	}
	if hi-lo >= 4*uint64(len(chains)) {
		slices.SortFunc(chains, bySeq)
		return
	}
	slots := make([]*Chain, hi-lo+1)
	for _, c := range chains {
		if slots[c.seq-lo] != nil {
			slices.SortFunc(chains, bySeq)
			return
		}
		slots[c.seq-lo] = c
	}
	i := 0
	for _, c := range slots {
		if c != nil {
			chains[i] = c
			i++
		}
	}
}
