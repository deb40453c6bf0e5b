package ipvs

import (
	"cmp"
	"slices"
)

// compareEntries orders entries by address (IPv4 before IPv6, then value,
// then prefix length), protocol, port and second address, as netip orders
// addresses and prefixes.
func compareEntries(a, b SetEntry) int {
	if a.fam != b.fam {
		return cmp.Compare(a.fam, b.fam)
	}
	if c := compare128(a.hi, a.lo, b.hi, b.lo); c != 0 {
		return c
	}
	if x, y := a.middle(), b.middle(); x != y {
		return cmp.Compare(x, y)
	}
	if c := compare128(a.hi2, a.lo2, b.hi2, b.lo2); c != 0 {
		return c
	}
	return cmp.Compare(a.bits2, b.bits2)
}

// middle packs what is compared between the two addresses: the first's
// prefix length, the protocol, the port and the second's family.
func (e SetEntry) middle() uint64 {
	return uint64(e.bits)<<32 | uint64(e.Protocol)<<24 | uint64(e.Port)<<8 | uint64(e.fam2)
}

func compare128(ahi, alo, bhi, blo uint64) int {
	if ahi != bhi {
		return cmp.Compare(ahi, bhi)
	}
	return cmp.Compare(alo, blo)
}

// radixMin is the number of entries below which sortEntries compares.
const radixMin = 256

// sortEntries orders es (compareEntries). Large runs of one family are
// radix-sorted on the bytes of the first address that vary (a pass per
// byte, a few for a cluster's addresses), then the entries that share a
// first address are compared; a comparison sort costs several times more.
func sortEntries(es []SetEntry) {
	if len(es) < radixMin {
		slices.SortFunc(es, compareEntries)
		return
	}
	fam := es[0].fam
	orHi, andHi, orLo, andLo := uint64(0), ^uint64(0), uint64(0), ^uint64(0)
	for i := range es {
		e := &es[i]
		if e.fam != fam {
			slices.SortFunc(es, compareEntries)
			return
		}
		orHi, andHi, orLo, andLo = orHi|e.hi, andHi&e.hi, orLo|e.lo, andLo&e.lo
	}
	src, dst := es, make([]SetEntry, len(es))
	for _, w := range []struct {
		vary uint64
		hi   bool
	}{{orLo ^ andLo, false}, {orHi ^ andHi, true}} { // least significant first
		for shift := uint(0); shift < 64; shift += 8 {
			if (w.vary>>shift)&0xff != 0 {
				radixPass(src, dst, shift, w.hi)
				src, dst = dst, src
			}
		}
	}
	copy(es, src) // a no-op when src is es
	sortTies(es)
}

// radixPass distributes src into dst by one byte of the first address,
// keeping the order of entries with equal bytes.
func radixPass(src, dst []SetEntry, shift uint, hi bool) {
	var pos [256]int
	key := func(e *SetEntry) byte {
		if hi {
			return byte(e.hi >> shift)
		}
		return byte(e.lo >> shift)
	}
	for i := range src {
		pos[key(&src[i])]++
	}
	sum := 0
	for i, n := range pos {
		pos[i] = sum
		sum += n
	}
	for i := range src {
		k := key(&src[i])
		dst[pos[k]] = src[i]
		pos[k]++
	}
}

// sortTies orders the runs of entries that share a first address.
func sortTies(es []SetEntry) {
	for i := 0; i < len(es); {
		j := i + 1
		for j < len(es) && es[j].hi == es[i].hi && es[j].lo == es[i].lo {
			j++
		}
		if j-i > 1 {
			slices.SortFunc(es[i:j], compareEntries)
		}
		i = j
	}
}
