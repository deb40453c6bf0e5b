package lb

import (
	"cmp"
	mbits "math/bits"
	"slices"
	"strings"
)

// Building the Maglev table.
//
// Backends take turns; on its turn a backend claims the first free slot of
// its permutation next, next+skip, next+2*skip, ... (mod M). Probing slot by
// slot costs M/E probes when E slots are still free, so most of the work is
// in the last few hundred slots. Once at most tailSlots slots are free, the
// builder keeps them in a list and finds a backend's first free slot
// directly: slot s is (s-next)*skip⁻¹ mod M steps ahead in its walk, and the
// free slot with the fewest steps is the one probing would reach first. The
// table is the same either way (a test checks it against plain probing).

// tailSlots is when the builder switches from probing to the free list.
const tailSlots = 256

// maglevTurn is one backend's walk through its permutation (m <= 2^24, so
// 32 bits hold every slot; compact for the cache).
type maglevTurn struct {
	next  uint32 // next preferred slot
	skip  uint32
	index int32 // into set.all
}

// slotIndex is the type of a table entry: an index into set.all.
type slotIndex interface{ ~uint16 | ~int32 }

type maglevBuilder[T slotIndex] struct {
	m      uint32
	minv   float64 // 1/m, for fast reduction of products < 2^48
	tab    []T
	filled []uint64 // bitmap of claimed slots
	free   []uint32 // the free slots, once few are left
	inv    []uint32 // per turn: skip⁻¹ mod m, once few are left
}

// buildMaglev fills a table of m slots (m prime, <= maxTableSize), with
// 2-byte entries when the set has at most 65536 backends. It returns an
// empty table when s has no live backend.
func buildMaglev(s *set, m uint64) maglevTable {
	switch {
	case len(s.live) == 0:
		return maglevTable{}
	case len(s.all) <= 1<<16:
		return maglevTable{small: buildMaglevInto[uint16](s, m)}
	default:
		return maglevTable{large: buildMaglevInto[int32](s, m)}
	}
}

func buildMaglevInto[T slotIndex](s *set, m uint64) []T {
	turns := maglevTurns(s, uint32(m))
	b := newMaglevBuilder[T](m)
	if s.uniform {
		b.fill(turns, nil, b.fillRounds(turns))
	} else {
		b.fill(turns, newWeighting(s, turns), b.m)
	}
	return b.tab
}

func newMaglevBuilder[T slotIndex](m uint64) *maglevBuilder[T] {
	return &maglevBuilder[T]{m: uint32(m), minv: 1 / float64(m), tab: make([]T, m), filled: make([]uint64, (m+63)/64)}
}

// fillRounds runs whole rounds of an unweighted build by probing, as long
// as a round cannot reach the tail, and returns how many slots are left.
// The loop has nothing in it but the walk: most of a build is spent here.
func (b *maglevBuilder[T]) fillRounds(turns []maglevTurn) uint32 {
	m, tab, filled := b.m, b.tab, b.filled
	left := m
	for ; left >= tailSlots+uint32(len(turns)); left -= uint32(len(turns)) {
		for j := range turns {
			t := &turns[j]
			c := t.next
			for skip := t.skip; filled[c>>6]&(1<<(c&63)) != 0; {
				c = addMod(c, skip, m)
			}
			filled[c>>6] |= 1 << (c & 63)
			tab[c] = T(t.index)
			t.next = addMod(c, t.skip, m)
		}
	}
	return left
}

// addMod returns (c + skip) mod m for c, skip < m <= 2^24, without a
// branch: which way c+skip falls is a coin toss, and a mispredicted branch
// per probe cost a third of a build.
func addMod(c, skip, m uint32) uint32 {
	x := int32(c) + int32(skip) - int32(m) // in [-m, m)
	return uint32(x + int32(m)&(x>>31))
}

// fill runs the rounds until the table is full, starting with left free
// slots; w, when not nil, skips turns per weight.
func (b *maglevBuilder[T]) fill(turns []maglevTurn, w *weighting, left uint32) {
	m, tab, filled := b.m, b.tab, b.filled
	for left > 0 {
		for j := range turns {
			if w != nil && !w.turn(j) {
				continue
			}
			t := &turns[j]
			var c uint32
			if left > tailSlots {
				c = t.next
				for skip := t.skip; filled[c>>6]&(1<<(c&63)) != 0; {
					c = addMod(c, skip, m)
				}
			} else {
				if b.free == nil {
					b.switchToList(turns)
				}
				c = b.takeNearest(t, j)
			}
			filled[c>>6] |= 1 << (c & 63)
			tab[c] = T(t.index)
			t.next = addMod(c, t.skip, m)
			if left--; left == 0 {
				break
			}
		}
	}
}

// weighting is the weighted variant's credit per turn: a turn of weight w
// claims when its credit, growing by w each round, reaches the largest
// weight.
type weighting struct {
	weight, credit []int64
	max            int64
}

func newWeighting(s *set, turns []maglevTurn) *weighting {
	w := &weighting{weight: make([]int64, len(turns)), credit: make([]int64, len(turns))}
	for j, t := range turns {
		w.weight[j] = int64(s.all[t.index].Weight)
		w.max = max(w.max, w.weight[j])
	}
	return w
}

// turn reports whether turn j claims a slot this round.
func (w *weighting) turn(j int) bool {
	if w.credit[j] += w.weight[j]; w.credit[j] < w.max {
		return false
	}
	w.credit[j] -= w.max
	return true
}

// maglevTurns returns the live backends' walks, in order of their hashes
// (then IDs), not of the slice.
func maglevTurns(s *set, m uint32) []maglevTurn {
	turns := make([]maglevTurn, len(s.live))
	for j, i := range s.live {
		id := s.all[i].ID
		turns[j] = maglevTurn{
			next:  uint32(hashString(id, seedOffset) % uint64(m)),
			skip:  uint32(hashString(id, seedSkip)%uint64(m-1) + 1),
			index: i,
		}
	}
	sortTurns(s, turns)
	return turns
}

// sortTurns orders turns by (next, skip), then by backend ID. Walks are
// packed with their position into one integer (next and skip < 2^24) so
// that the sort compares integers; equal walks, which need the IDs, are
// rare, and sorted by ID afterwards.
func sortTurns(s *set, turns []maglevTurn) {
	byID := func(a, b maglevTurn) int {
		if a.next != b.next || a.skip != b.skip {
			return cmp.Compare(uint64(a.next)<<32|uint64(a.skip), uint64(b.next)<<32|uint64(b.skip))
		}
		return strings.Compare(s.all[a.index].ID, s.all[b.index].ID)
	}
	if len(turns) > 1<<16 {
		slices.SortFunc(turns, byID)
		return
	}
	keys := make([]uint64, len(turns))
	for j, t := range turns {
		keys[j] = uint64(t.next)<<40 | uint64(t.skip)<<16 | uint64(j)
	}
	slices.Sort(keys)
	sorted := make([]maglevTurn, len(turns))
	for j, k := range keys {
		sorted[j] = turns[k&(1<<16-1)]
	}
	copy(turns, sorted)
	for i := 0; i < len(keys); {
		k := i + 1
		for k < len(keys) && keys[k]>>16 == keys[i]>>16 {
			k++
		}
		if k-i > 1 {
			slices.SortFunc(turns[i:k], byID)
		}
		i = k
	}
}

// switchToList collects the free slots, a word of the bitmap at a time.
// The inverses of the skips are computed lazily: only the turns that get a
// turn in the tail need one.
func (b *maglevBuilder[T]) switchToList(turns []maglevTurn) {
	b.free = make([]uint32, 0, tailSlots)
	for w, bits := range b.filled {
		for free := ^bits; free != 0; free &= free - 1 {
			if c := uint32(w<<6 + mbits.TrailingZeros64(free)); c < b.m {
				b.free = append(b.free, c)
			}
		}
	}
	b.inv = make([]uint32, len(turns))
}

// takeNearest removes from the free list and returns the free slot that
// turn j's walk reaches first.
func (b *maglevBuilder[T]) takeNearest(t *maglevTurn, j int) uint32 {
	if b.inv[j] == 0 {
		b.inv[j] = modInverse(t.skip, b.m)
	}
	m, inv := uint64(b.m), uint64(b.inv[j])
	best, bestSteps := 0, m
	for k, c := range b.free {
		diff := uint64(c) + m - uint64(t.next) // (c - next) mod m, in [1, 2m)
		if diff >= m {
			diff -= m
		}
		if steps := b.mulMod(diff, inv); steps < bestSteps {
			best, bestSteps = k, steps
		}
	}
	c := b.free[best]
	last := len(b.free) - 1
	b.free[best] = b.free[last]
	b.free = b.free[:last]
	return c
}

// mulMod returns x*y mod m for x, y < m <= 2^24, so x*y < 2^48 and the
// float64 quotient is off by at most one.
func (b *maglevBuilder[T]) mulMod(x, y uint64) uint64 {
	p := x * y
	r := int64(p) - int64(uint64(float64(p)*b.minv))*int64(b.m)
	if r < 0 {
		r += int64(b.m)
	} else if r >= int64(b.m) {
		r -= int64(b.m)
	}
	return uint64(r)
}

// modInverse returns a⁻¹ mod m for m prime and 0 < a < m (extended Euclid).
func modInverse(a, m uint32) uint32 {
	t, newT := int64(0), int64(1)
	r, newR := int64(m), int64(a)
	for newR != 0 {
		q := r / newR
		t, newT = newT, t-q*newT
		r, newR = newR, r-q*newR
	}
	if t < 0 {
		t += int64(m)
	}
	return uint32(t)
}
