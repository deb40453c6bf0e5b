package nftables

import "math/bits"

// hashIndex maps 64-bit keys to int32 values: open addressing with linear
// probing in a power-of-two table kept at most half full, and deletion by
// shifting later entries back (no tombstones). Keys are mixed before use,
// so they need not be spread evenly. It holds no pointers, so the garbage
// collector does not scan it, and an insert that finds the key taken costs
// one probe sequence, not a lookup and then an insert as a Go map would.
// The zero value is an empty index.
type hashIndex struct {
	slots []hiSlot
	n     int
	shift uint8 // 64 - log2(len(slots))
}

// hiSlot is one entry; val holds the value + 1, so 0 is an empty slot.
type hiSlot struct {
	key uint64
	val int32
}

const hiMinSlots = 16

// home returns key's preferred slot (Fibonacci hashing: the high bits of
// the product, which depend on every bit of the key).
func (x *hashIndex) home(key uint64) int {
	return int((key * 0x9E3779B97F4A7C15) >> x.shift)
}

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
			i := x.home(s.key)
			for x.slots[i].val != 0 {
				i = (i + 1) & mask
			}
			x.slots[i] = s
		}
	}
}

func (x *hashIndex) len() int { return x.n }

// find returns the slot of key, or the empty slot where it would go.
func (x *hashIndex) find(key uint64) (int, bool) {
	mask := len(x.slots) - 1
	for i := x.home(key); ; i = (i + 1) & mask {
		switch s := &x.slots[i]; {
		case s.val == 0:
			return i, false
		case s.key == key:
			return i, true
		}
	}
}

// get returns key's value.
func (x *hashIndex) get(key uint64) (int32, bool) {
	if x.n == 0 {
		return 0, false
	}
	i, ok := x.find(key)
	return x.slots[i].val - 1, ok
}

// insert adds key with value v unless key is present; it returns the
// value key then has and whether it was added.
func (x *hashIndex) insert(key uint64, v int32) (int32, bool) {
	if 2*(x.n+1) > len(x.slots) {
		x.resize(max(hiMinSlots, 2*len(x.slots)))
	}
	i, ok := x.find(key)
	if ok {
		return x.slots[i].val - 1, false
	}
	x.slots[i] = hiSlot{key: key, val: v + 1}
	x.n++
	return v, true
}

// delete removes key, moving back the entries that probed past its slot.
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
		if h := x.home(s.key); (i < j && i < h && h <= j) || (i > j && (i < h || h <= j)) {
			continue
		}
		x.slots[i] = s
		i = j
	}
}
