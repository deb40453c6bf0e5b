package nftables

import "math/bits"

// hashIndex maps 64-bit keys to int32 values: open addressing with linear
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
// tag another holds elsewhere (named and keySeen do).
type hashIndex struct {
	slots []hiSlot
	n     int
	shift uint8 // 64 - log2(len(slots)); at least 32
}

// hiSlot is one entry; val holds the value + 1, so 0 is an empty slot.
type hiSlot struct {
	tag uint32
	val int32
}

const hiMinSlots = 16

// tagOf mixes key (Fibonacci hashing: the product's high bits depend on
// every bit of the key) and keeps the high 32 bits.
func tagOf(key uint64) uint32 { return uint32((key * 0x9E3779B97F4A7C15) >> 32) }

// home returns a tag's preferred slot: its high bits.
func (x *hashIndex) home(tag uint32) int { return int(tag >> (x.shift - 32)) }

// reserve makes room for n entries in all without growing.
func (x *hashIndex) reserve(n int) {
	size := hiMinSlots
	for size < 2*n {
		size *= 2
	}
	if size > len(x.slots) {
		x.resize(size)
	}
}

func (x *hashIndex) resize(size int) {
	old := x.slots
	x.slots = make([]hiSlot, size)
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

func (x *hashIndex) len() int { return x.n }

// find returns the slot of key's tag, or the empty slot where it would go.
func (x *hashIndex) find(key uint64) (int, bool) {
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

// get returns the value held under key's tag.
func (x *hashIndex) get(key uint64) (int32, bool) {
	if x.n == 0 {
		return 0, false
	}
	i, ok := x.find(key)
	return x.slots[i].val - 1, ok
}

// insert adds key with value v unless its tag is present; it returns the
// value the tag then has and whether it was added.
func (x *hashIndex) insert(key uint64, v int32) (int32, bool) {
	if 2*(x.n+1) > len(x.slots) {
		x.resize(max(hiMinSlots, 2*len(x.slots)))
	}
	i, ok := x.find(key)
	if ok {
		return x.slots[i].val - 1, false
	}
	x.slots[i] = hiSlot{tag: tagOf(key), val: v + 1}
	x.n++
	return v, true
}

// delete removes key's tag, moving back the entries that probed past its
// slot.
func (x *hashIndex) delete(key uint64) {
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
			x.slots[i] = hiSlot{}
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
