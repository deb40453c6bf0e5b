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
const radixMin = 64

// sortEntries orders es (compareEntries) in place. A run of one family is
// radix-sorted on the bytes of the first address that vary (most
// significant first, permuting in place: a pass per byte, a few for a
// cluster's addresses), then the entries that share a first address are
// compared; a comparison sort costs several times more.
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
	var digits []radixDigit // most significant first
	for _, w := range []struct {
		vary uint64
		hi   bool
	}{{orHi ^ andHi, true}, {orLo ^ andLo, false}} {
		for shift := 56; shift >= 0; shift -= 8 {
			if (w.vary>>shift)&0xff != 0 {
				digits = append(digits, radixDigit{uint(shift), w.hi})
			}
		}
	}
	radixSort(es, digits)
}

// radixDigit is a byte of the first address: its shift in hi or lo.
type radixDigit struct {
	shift uint
	hi    bool
}

func (d radixDigit) of(e *SetEntry) byte {
	if d.hi {
		return byte(e.hi >> d.shift)
	}
	return byte(e.lo >> d.shift)
}

// radixSort sorts es on digits[0], then each bucket on the rest (American
// flag sort); what is left sharing every digit is compared.
func radixSort(es []SetEntry, digits []radixDigit) {
	if len(es) < radixMin || len(digits) == 0 {
		slices.SortFunc(es, compareEntries)
		return
	}
	d := digits[0]
	var count [256]int
	for i := range es {
		count[d.of(&es[i])]++
	}
	var next, end [256]int
	sum := 0
	for b, n := range count {
		next[b] = sum
		sum += n
		end[b] = sum
	}
	for b := range 256 {
		for next[b] < end[b] {
			v := es[next[b]]
			for k := d.of(&v); int(k) != b; k = d.of(&v) {
				v, es[next[k]] = es[next[k]], v
				next[k]++
			}
			es[next[b]] = v
			next[b]++
		}
	}
	lo := 0
	for _, n := range count {
		if n > 1 {
			radixSort(es[lo:lo+n], digits[1:])
		}
		lo += n
	}
}
