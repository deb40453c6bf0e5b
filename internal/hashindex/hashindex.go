// Package hashindex is an index from 64-bit keys (hashes of names, packed
// keys) to int32 positions that holds no pointers: the garbage collector
// never scans it, and inserting a key already present costs one probe
// sequence. The nftables and iptables renderers index their 100k chains
// with it.
package hashindex

import (
	"hash/maphash"
	"math/bits"
	"slices"
)

// Index maps 64-bit keys to int32 values: open addressing with linear
// probing in a power-of-two table kept at most half full, and deletion by
// shifting later entries back (no tombstones). Keys are mixed before use,
// so they need not be spread evenly. It holds no pointers, so the garbage
// collector does not scan it, and an insert that finds the key taken costs
// one probe sequence, not a lookup and then an insert as a Go map would.
// The zero value is an empty index.
//
// A slot keeps 32 bits of the mixed key (its tag), not the key: 8 bytes a
// slot rather than 16, which a full render at 10k services fills by the
// megabyte. Two keys with one tag are one key to the index, so callers
// check what it returns against the key itself and keep the rare key whose
// tag another holds elsewhere (see Clash).
type Index struct {
	slots []slot
	n     int
	shift uint8 // 64 - log2(len(slots)); at least 32
}

// slot is one entry; val holds the value + 1, so 0 is an empty slot.
type slot struct {
	tag uint32
	val int32
}

const minSlots = 16

// seed seeds String (once per process).
var seed = maphash.MakeSeed()

// String hashes a name into a key.
func String(name string) uint64 { return maphash.String(seed, name) }

// mix is the odd constant keys are multiplied by (Fibonacci hashing).
const mix = 0x9E3779B97F4A7C15

// Clash returns a key other than key that has key's tag, for the tests of
// callers that must keep such keys apart: mixing multiplies by an odd
// constant, so it can be undone.
func Clash(key uint64) uint64 {
	inv := uint64(mix) // Newton's iteration for the inverse modulo 2^64
	for range 6 {
		inv *= 2 - mix*inv
	}
	return (key*mix ^ 1) * inv
}

// tagOf mixes key (Fibonacci hashing: the product's high bits depend on
// every bit of the key) and keeps the high 32 bits.
func tagOf(key uint64) uint32 { return uint32((key * mix) >> 32) }

// home returns a tag's preferred slot: its high bits.
func (x *Index) home(tag uint32) int { return int(tag >> (x.shift - 32)) }

// Reserve makes room for n entries in all without growing.
func (x *Index) Reserve(n int) {
	size := minSlots
	for size < 2*n {
		size *= 2
	}
	if size > len(x.slots) {
		x.resize(size)
	}
}

func (x *Index) resize(size int) {
	old := x.slots
	x.slots = make([]slot, size)
	x.shift = uint8(64 - bits.TrailingZeros(uint(size))) // size is a power of two
	mask := size - 1
	for _, s := range old {
		if s.val != 0 {
			i := x.home(s.tag)
			for x.slots[i].val != 0 {
				i = (i + 1) & mask
			}
			x.slots[i] = s
		}
	}
}

// Clone returns a copy of x that can change without affecting x.
func (x *Index) Clone() Index {
	c := *x
	c.slots = slices.Clone(x.slots)
	return c
}

// Len returns the number of entries.
func (x *Index) Len() int { return x.n }

// find returns the slot of key's tag, or the empty slot where it would go.
func (x *Index) find(key uint64) (int, bool) {
	mask := len(x.slots) - 1
	tag := tagOf(key)
	for i := x.home(tag); ; i = (i + 1) & mask {
		switch s := &x.slots[i]; {
		case s.val == 0:
			return i, false
		case s.tag == tag:
			return i, true
		}
	}
}

// Get returns the value held under key's tag.
func (x *Index) Get(key uint64) (int32, bool) {
	if x.n == 0 {
		return 0, false
	}
	i, ok := x.find(key)
	return x.slots[i].val - 1, ok
}

// Insert adds key with value v unless its tag is present; it returns the
// value the tag then has and whether it was added.
func (x *Index) Insert(key uint64, v int32) (int32, bool) {
	if 2*(x.n+1) > len(x.slots) {
		x.resize(max(minSlots, 2*len(x.slots)))
	}
	i, ok := x.find(key)
	if ok {
		return x.slots[i].val - 1, false
	}
	x.slots[i] = slot{tag: tagOf(key), val: v + 1}
	x.n++
	return v, true
}

// Delete removes key's tag, moving back the entries that probed past its
// slot.
func (x *Index) Delete(key uint64) {
	if x.n == 0 {
		return
	}
	i, ok := x.find(key)
	if !ok {
		return
	}
	x.n--
	mask := len(x.slots) - 1
	for j := i; ; {
		j = (j + 1) & mask
		s := x.slots[j]
		if s.val == 0 {
			x.slots[i] = slot{}
			return
		}
		// The entry at j may fill the hole at i unless its home lies
		// cyclically in (i, j].
		if h := x.home(s.tag); (i < j && i < h && h <= j) || (i > j && (i < h || h <= j)) {
			continue
		}
		x.slots[i] = s
		i = j
	}
}
