package iptables

import (
	"iter"
	"maps"

	"github.com/proxykit/proxykit/internal/hashindex"
)

// chainIndex is a table's chains by name: a slice of the chains and a
// pointer-free index from a hash of each name to its place in the slice.
// A full render puts 114k chains at 10k services; a Go map of them cost
// the renderer's install loop a hashed insert per chain and the garbage
// collector a scan of every entry, and a clone a rehash of them all, where
// a clone now copies two slices. Removal leaves a hole, and the slice is
// compacted when holes are more than half of it.
type chainIndex struct {
	items []*Chain // nil where a chain was removed
	idx   hashindex.Index
	spill map[string]int32 // chains whose hash tag another chain holds
	n     int
	weak  bool // tests: hash names badly, to exercise the spill
}

func (x *chainIndex) hash(name string) uint64 {
	if x.weak {
		return uint64(len(name))
	}
	return hashindex.String(name)
}

// reserve makes room for n chains.
func (x *chainIndex) reserve(n int) {
	if x.items == nil && n > 0 {
		x.items = make([]*Chain, 0, n)
		x.idx.Reserve(n)
	}
}

func (x *chainIndex) len() int { return x.n }

// pos returns the place of the named chain. A name whose tag the index
// does not hold is absent: a spilled name's tag is always held.
func (x *chainIndex) pos(name string, h uint64) (int32, bool) {
	i, ok := x.idx.Get(h)
	switch {
	case !ok:
		return 0, false
	case x.items[i].Name == name:
		return i, true
	}
	i, ok = x.spill[name]
	return i, ok
}

// get returns the named chain, or nil.
func (x *chainIndex) get(name string) *Chain {
	if i, ok := x.pos(name, x.hash(name)); ok {
		return x.items[i]
	}
	return nil
}

// set adds c, or replaces the chain of its name, and returns that chain.
func (x *chainIndex) set(c *Chain) *Chain { return x.setHashed(c, x.hash(c.Name)) }

// setHashed is set of a chain whose name's hash is h (hashindex.String).
func (x *chainIndex) setHashed(c *Chain, h uint64) *Chain {
	at := int32(len(x.items))
	if i, found := x.insert(c, h, at); found {
		old := x.items[i]
		x.items[i] = c
		return old
	}
	x.items = append(x.items, c)
	x.n++
	return nil
}

// insert indexes the name of c, the chain that is or will be items[at].
// When a chain of that name is there, it leaves the index as it is and
// returns that chain's place. A name whose tag another name holds goes to
// the spill. As a spilled name's tag is always held (remove sees to it),
// a name the index adds cannot be in the spill; so insert reads the spill,
// rarely empty at 100k chains, and c itself only when tags clash: filling
// an index from hashes taken earlier touches the index alone.
func (x *chainIndex) insert(c *Chain, h uint64, at int32) (int32, bool) {
	if x.weak {
		h = x.hash(c.Name)
	}
	i, added := x.idx.Insert(h, at)
	switch {
	case added:
		return 0, false
	case x.items[i].Name == c.Name:
		return i, true
	}
	name := c.Name
	if j, ok := x.spill[name]; ok {
		return j, true
	}
	if x.spill == nil { // another name holds the tag
		x.spill = map[string]int32{}
	}
	x.spill[name] = at
	return 0, false
}

// adopt makes x the index of chains, whose names hash to hashes, in that
// order, for an empty x. Inserting them one after another, once all are
// known, touches the index alone (114k chains at 10k services: under 3 ms,
// beside the shared chains' assembly), where inserting each port's chains
// as they came competed with the renderers' writes for the cache.
// It reports false, leaving x empty, when two chains share a name.
func (x *chainIndex) adopt(chains []*Chain, hashes []uint64) bool {
	x.items = append(make([]*Chain, 0, len(chains)+16), chains...) // room for the shared chains that follow
	x.idx.Reserve(len(chains))
	for i, c := range chains {
		if _, found := x.insert(c, hashes[i], int32(i)); found {
			*x = chainIndex{weak: x.weak}
			return false
		}
	}
	x.n = len(chains)
	return true
}

// remove deletes the named chain and returns it, or nil.
func (x *chainIndex) remove(name string) *Chain {
	h := x.hash(name)
	i, ok := x.pos(name, h)
	if !ok {
		return nil
	}
	if j, inIdx := x.idx.Get(h); inIdx && j == i {
		x.idx.Delete(h)
		x.rehome()
	} else {
		delete(x.spill, name)
	}
	old := x.items[i]
	x.items[i] = nil
	x.n--
	if len(x.items) > 1024 && 2*x.n < len(x.items) {
		x.compact()
	}
	return old
}

// rehome moves into the index a spilled name whose tag it no longer holds.
func (x *chainIndex) rehome() {
	for name, i := range x.spill {
		if h := x.hash(name); !x.held(h) {
			x.idx.Insert(h, i)
			delete(x.spill, name)
		}
	}
}

func (x *chainIndex) held(h uint64) bool {
	_, ok := x.idx.Get(h)
	return ok
}

// compact drops the holes, indexing the chains anew.
func (x *chainIndex) compact() {
	live := make([]*Chain, 0, x.n)
	for _, c := range x.items {
		if c != nil {
			live = append(live, c)
		}
	}
	*x = chainIndex{weak: x.weak}
	x.reserve(len(live))
	for _, c := range live {
		x.set(c)
	}
}

// all yields the chains, in no particular order; x must not change until
// the loop ends.
func (x *chainIndex) all() iter.Seq[*Chain] {
	return func(yield func(*Chain) bool) {
		for _, c := range x.items {
			if c != nil && !yield(c) {
				return
			}
		}
	}
}

// clone returns an index of the same chains that can change without
// affecting x.
func (x *chainIndex) clone() chainIndex {
	c := chainIndex{items: append(make([]*Chain, 0, len(x.items)+16), x.items...), idx: x.idx.Clone(), n: x.n, weak: x.weak}
	if len(x.spill) > 0 {
		c.spill = maps.Clone(x.spill)
	}
	return c
}
