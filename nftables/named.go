package nftables

import "github.com/proxykit/proxykit/internal/hashindex"

// namedItem is what a named collection holds: a value that knows its name
// (the name it is stored under).
type namedItem interface {
	comparable
	itemName() string
}

func (c *Chain) itemName() string { return c.Name }
func (s *Set) itemName() string   { return s.Name }

// nameHash is the hash of names that indexes named collections (a
// renderer takes it while a name is in its cache).
func nameHash(name string) uint64 { return hashindex.String(name) }

// named is an insertion-ordered collection indexed by name. A clone is an
// overlay on its parent (which must not change afterwards): it records only
// its own additions, replacements and removals, so cloning a table of 100k
// chains to change one costs O(1); every maxDepth clones it is flattened.
// An item's name is the name it is stored under.
//
// The index maps a 64-bit hash of the name to the item's position (a
// hashindex.Index, without pointers); a name
// whose hash another live name holds is indexed by the name itself.
type named[T namedItem] struct {
	parent   *named[T]
	depth    int
	items    []T              // own items, in order; removed ones are zero
	idx      hashindex.Index  // own live items by name hash
	spill    map[string]int32 // own live items whose hash another one holds
	override map[string]T     // parent items replaced here
	removed  map[string]bool
	count    int
	weak     bool // tests: hash names badly, to exercise the spill index
}

const maxDepth = 8

func (n *named[T]) hash(name string) uint64 {
	if n.weak {
		return uint64(len(name))
	}
	return nameHash(name)
}

// own returns the position of the own live item called name. A name
// whose tag the index does not hold is not there: a spilled name's tag is
// always held by another (remove sees to it).
func (n *named[T]) own(name string, h uint64) (int, bool) {
	i, ok := n.idx.Get(h)
	switch {
	case !ok:
		return 0, false
	case n.items[i].itemName() == name:
		return int(i), true
	}
	if i, ok := n.spill[name]; ok {
		return int(i), true
	}
	return 0, false
}

func (n *named[T]) get(name string) (T, bool) { return n.getHashed(name, n.hash(name)) }

func (n *named[T]) getHashed(name string, h uint64) (T, bool) {
	if i, ok := n.own(name, h); ok {
		return n.items[i], true
	}
	var zero T
	if n.parent == nil || n.removed[name] {
		return zero, false
	}
	if v, ok := n.override[name]; ok {
		return v, true
	}
	return n.parent.getHashed(name, h)
}

func (n *named[T]) inParent(name string, h uint64) bool {
	if n.parent == nil || n.removed[name] {
		return false
	}
	_, ok := n.parent.getHashed(name, h)
	return ok
}

func (n *named[T]) reserve(size int) {
	if n.items == nil && size > 0 {
		n.idx.Reserve(size)
		n.items = make([]T, 0, size)
	}
}

func (n *named[T]) add(name string, v T) bool { return n.addHashed(n.hash(name), v) }

// addHashed adds v under its name, whose hash is h; false if the name is
// taken. It reads v's name only when it must (a parent to consult, or a
// hash already held), so that filling an index from hashes taken earlier
// does not touch the items themselves, long out of the cache. A name the
// index adds cannot be in the spill (see own).
func (n *named[T]) addHashed(h uint64, v T) bool {
	if n.parent != nil && n.inParent(v.itemName(), h) {
		return false
	}
	pos := int32(len(n.items))
	if i, added := n.idx.Insert(h, pos); !added {
		name := v.itemName()
		if n.items[i].itemName() == name {
			return false
		}
		if _, dup := n.spill[name]; dup {
			return false
		}
		if n.spill == nil {
			n.spill = map[string]int32{}
		}
		n.spill[name] = pos
	}
	n.items = append(n.items, v)
	n.count++
	return true
}

func (n *named[T]) replace(name string, v T) {
	h := n.hash(name)
	switch i, own := n.own(name, h); {
	case own:
		n.items[i] = v
	case n.inParent(name, h):
		if n.override == nil {
			n.override = map[string]T{}
		}
		n.override[name] = v
	default:
		n.addHashed(h, v)
	}
}

func (n *named[T]) remove(name string) {
	h := n.hash(name)
	if i, own := n.own(name, h); own {
		if j, ok := n.idx.Get(h); ok && int(j) == i {
			n.idx.Delete(h)
			n.rehome()
		} else {
			delete(n.spill, name)
		}
		var zero T
		n.items[i] = zero
		n.count--
		return
	}
	if n.inParent(name, h) {
		if n.removed == nil {
			n.removed = map[string]bool{}
		}
		n.removed[name] = true
		delete(n.override, name)
		n.count--
	}
}

// rehome moves into the index a spilled name whose tag it no longer holds.
func (n *named[T]) rehome() {
	for name, i := range n.spill {
		h := n.hash(name)
		if _, held := n.idx.Get(h); !held {
			n.idx.Insert(h, i)
			delete(n.spill, name)
		}
	}
}

func (n *named[T]) len() int { return n.count }

// list returns the live items in order without modifying n.
func (n *named[T]) list() []T {
	if n.parent == nil && n.count == len(n.items) {
		return n.items
	}
	out := make([]T, 0, n.count)
	n.each(func(_ string, v T) { out = append(out, v) })
	return out
}

func (n *named[T]) each(f func(name string, v T)) {
	if n.parent != nil {
		n.parent.each(func(name string, v T) {
			if n.removed[name] {
				return
			}
			if o, ok := n.override[name]; ok {
				v = o
			}
			f(name, v)
		})
	}
	var zero T
	for _, v := range n.items {
		if v != zero {
			f(v.itemName(), v)
		}
	}
}

// clone returns a collection that can change without affecting n.
func (n *named[T]) clone() named[T] {
	if n.depth < maxDepth {
		return named[T]{parent: n, depth: n.depth + 1, count: n.count, weak: n.weak}
	}
	c := named[T]{weak: n.weak}
	c.reserve(n.count)
	n.each(func(name string, v T) { c.addHashed(c.hash(name), v) })
	return c
}
