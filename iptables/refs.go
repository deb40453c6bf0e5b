package iptables

// Every change to a table's chains goes through put and remove, which keep
// the table's reference counts (built on first use by refCount) in step.

// put adds c or replaces the chain of the same name, keeping its position.
func (t *Table) put(c *Chain) {
	t.ordered = nil
	if old := t.chains.set(c); old != nil {
		c.seq = old.seq
		t.countRefs(old, -1)
	} else {
		c.seq = t.nextSeq
		t.nextSeq++
	}
	t.countRefs(c, 1)
}

// restore puts back a chain that was replaced or removed, in its old position.
func (t *Table) restore(c *Chain) {
	t.ordered = nil
	t.countRefs(t.chains.set(c), -1)
	t.countRefs(c, 1)
}

// remove deletes the named chain.
func (t *Table) remove(name string) {
	if old := t.chains.remove(name); old != nil {
		t.ordered = nil
		t.countRefs(old, -1)
	}
}

// adoptOrdered makes the empty table hold chains, numbered in that order
// (Chain.seq is their position), whose names hash to hashes. It reports
// false, leaving the table empty, when two chains share a name.
func (t *Table) adoptOrdered(chains []*Chain, hashes []uint64) bool {
	if !t.chains.adopt(chains, hashes) {
		return false
	}
	t.nextSeq = uint64(len(chains))
	return true
}

// setOrdered remembers chains, which were put in this order into the
// empty table, as its order, when they are all its chains (no name came
// twice); jumpsKnown records that every rule jumps to nothing, to a
// rendered verdict or to a chain of the table (see jumpsChecked).
func (t *Table) setOrdered(chains []*Chain, jumpsKnown bool) {
	if len(chains) == t.chains.len() {
		t.ordered, t.jumpsKnown = chains, jumpsKnown
	}
}

// jumpsChecked reports whether the table, a full render not changed since
// (put, restore and remove clear ordered), has every rule jump to nothing,
// to one of renderedVerdicts or to one of its chains.
func (t *Table) jumpsChecked() bool { return t.ordered != nil && t.jumpsKnown }

// countRefs adds d to the reference count of every target of c's rules.
func (t *Table) countRefs(c *Chain, d int) {
	if t.refs == nil || c == nil {
		return
	}
	for target := range c.targets() {
		t.countRef(target, d)
	}
}

func (t *Table) countRef(target string, d int) {
	if t.refs == nil || target == "" {
		return
	}
	if n := t.refs[target] + d; n > 0 {
		t.refs[target] = n
	} else {
		delete(t.refs, target)
	}
}

// refCount returns how many rules of the table jump to the named chain.
// The first call indexes every rule; later changes keep the index current.
func (t *Table) refCount(name string) int {
	if t.refs == nil {
		t.refs = map[string]int{}
		for c := range t.chains.all() {
			t.countRefs(c, 1)
		}
	}
	return t.refs[name]
}
