package nftables

// namedItem is what a named collection holds: a value that knows its name
// (the name it is stored under).
type namedItem interface {
	comparable
	itemName() string
}

func (c *Chain) itemName() string { return c.Name }
func (s *Set) itemName() string   { return s.Name }

// named is an insertion-ordered collection indexed by name. A clone is an
// overlay on its parent (which must not change afterwards): it records only
// its own additions, replacements and removals, so cloning a table of 100k
// chains to change one costs O(1); every maxDepth clones it is flattened.
// An item's name is the name it is stored under.
type named[T namedItem] struct {
	parent   *named[T]
	depth    int
	items    []T            // own items, in order; those idx does not point at are removed
	idx      map[string]int // own live items
	override map[string]T   // parent items replaced here
	removed  map[string]bool
	count    int
}

const maxDepth = 8

func (n *named[T]) get(name string) (T, bool) {
	if i, ok := n.idx[name]; ok {
		return n.items[i], true
	}
	var zero T
	if n.parent == nil || n.removed[name] {
		return zero, false
	}
	if v, ok := n.override[name]; ok {
		return v, true
	}
	return n.parent.get(name)
}

func (n *named[T]) inParent(name string) bool {
	if n.parent == nil || n.removed[name] {
		return false
	}
	_, ok := n.parent.get(name)
	return ok
}

func (n *named[T]) reserve(size int) {
	if n.idx == nil && size > 0 {
		n.idx = make(map[string]int, size)
		n.items = make([]T, 0, size)
	}
}

func (n *named[T]) add(name string, v T) bool {
	if n.inParent(name) {
		return false
	}
	if n.idx == nil {
		n.idx = map[string]int{}
	}
	// One map operation: a name already present does not grow the index,
	// and gets its own position back.
	before := len(n.idx)
	n.idx[name] = len(n.items)
	if len(n.idx) == before {
		n.idx[name] = n.lastPos(name)
		return false
	}
	n.items = append(n.items, v)
	n.count++
	return true
}

// lastPos returns the position of name's live item, the last one of that
// name (an earlier one was removed).
func (n *named[T]) lastPos(name string) int {
	for i := len(n.items) - 1; i >= 0; i-- {
		if n.items[i].itemName() == name {
			return i
		}
	}
	return -1
}

func (n *named[T]) replace(name string, v T) {
	switch i, own := n.idx[name]; {
	case own:
		n.items[i] = v
	case n.inParent(name):
		if n.override == nil {
			n.override = map[string]T{}
		}
		n.override[name] = v
	default:
		n.add(name, v)
	}
}

func (n *named[T]) remove(name string) {
	if _, own := n.idx[name]; own {
		delete(n.idx, name)
		n.count--
		return
	}
	if n.inParent(name) {
		if n.removed == nil {
			n.removed = map[string]bool{}
		}
		n.removed[name] = true
		delete(n.override, name)
		n.count--
	}
}

func (n *named[T]) len() int { return n.count }

// list returns the live items in order without modifying n.
func (n *named[T]) list() []T {
	if n.parent == nil && len(n.idx) == len(n.items) {
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
	for pos, v := range n.items {
		name := v.itemName()
		if i, ok := n.idx[name]; ok && i == pos {
			f(name, v)
		}
	}
}

// clone returns a collection that can change without affecting n.
func (n *named[T]) clone() named[T] {
	if n.depth < maxDepth {
		return named[T]{parent: n, depth: n.depth + 1, count: n.count}
	}
	c := named[T]{idx: make(map[string]int, n.count), items: make([]T, 0, n.count)}
	n.each(func(name string, v T) {
		c.idx[name] = len(c.items)
		c.items = append(c.items, v)
	})
	c.count = len(c.items)
	return c
}
