package iptables

import (
	"slices"
	"strconv"
)

// Family is the IP family a Ruleset belongs to: iptables or ip6tables.
type Family uint8

const (
	// IPv4 rules, handled by iptables-save/iptables-restore.
	IPv4 Family = 4
	// IPv6 rules, handled by ip6tables-save/ip6tables-restore.
	IPv6 Family = 6
)

// String returns "IPv4" or "IPv6".
func (f Family) String() string {
	switch f {
	case IPv4:
		return "IPv4"
	case IPv6:
		return "IPv6"
	}
	return "Family(" + strconv.Itoa(int(f)) + ")"
}

// Table is one iptables table (nat, filter, mangle, raw, security): a set of
// chains kept in the order they were first added.
type Table struct {
	Name    string
	chains  chainIndex
	nextSeq uint64
	refs    map[string]int // rules jumping to each target; nil until refCount needs it
	// ordered, when set, holds the chains in table order: a full render
	// sets it, any change clears it.
	ordered    []*Chain
	jumpsKnown bool // with ordered: see jumpsChecked
}

// NewTable returns an empty table.
func NewTable(name string) *Table {
	return &Table{Name: name}
}

// Chain returns the named chain, or nil.
func (t *Table) Chain(name string) *Chain { return t.chains.get(name) }

// Len returns the number of chains.
func (t *Table) Len() int { return t.chains.len() }

// SetChain adds c, or replaces the chain of the same name in its position.
func (t *Table) SetChain(c *Chain) { t.put(c) }

// DeleteChain removes the named chain and reports whether it was there.
func (t *Table) DeleteChain(name string) bool {
	ok := t.chains.get(name) != nil
	t.remove(name)
	return ok
}

// Chains returns the chains in table order: built-in chains as declared,
// then the others in the order they were first added.
func (t *Table) Chains() []*Chain {
	if t.ordered != nil {
		return slices.Clone(t.ordered)
	}
	out := make([]*Chain, 0, t.chains.len())
	for c := range t.chains.all() {
		out = append(out, c)
	}
	sortBySeq(out)
	return out
}

// NumRules returns the number of rules in all chains.
func (t *Table) NumRules() int {
	n := 0
	for c := range t.chains.all() {
		n += c.NumRules()
	}
	return n
}

// clone copies the table's chain index; the chains themselves are shared.
func (t *Table) clone() *Table {
	return &Table{Name: t.Name, chains: t.chains.clone(), nextSeq: t.nextSeq, ordered: t.ordered, jumpsKnown: t.jumpsKnown}
}

func (t *Table) equal(o *Table, counters bool) bool {
	if t.Name != o.Name || t.chains.len() != o.chains.len() {
		return false
	}
	for c := range t.chains.all() {
		name := c.Name
		oc := o.chains.get(name)
		if oc == nil {
			return false
		}
		if counters && !c.equalWithCounters(oc) || !counters && !c.Equal(oc) {
			return false
		}
	}
	return true
}

// Ruleset is the state of any number of tables of one family, as
// iptables-save prints it. Tables keep the order they were added in.
type Ruleset struct {
	Family Family
	tables []*Table
}

// NewRuleset returns an empty ruleset of family f.
func NewRuleset(f Family) *Ruleset { return &Ruleset{Family: f} }

// Table returns the named table, or nil.
func (rs *Ruleset) Table(name string) *Table {
	for _, t := range rs.tables {
		if t.Name == name {
			return t
		}
	}
	return nil
}

// EnsureTable returns the named table, adding an empty one if needed.
func (rs *Ruleset) EnsureTable(name string) *Table {
	if t := rs.Table(name); t != nil {
		return t
	}
	t := NewTable(name)
	rs.tables = append(rs.tables, t)
	return t
}

// SetTable adds t, or replaces the table of the same name.
func (rs *Ruleset) SetTable(t *Table) {
	for i, old := range rs.tables {
		if old.Name == t.Name {
			rs.tables[i] = t
			return
		}
	}
	rs.tables = append(rs.tables, t)
}

// RemoveTable removes the named table.
func (rs *Ruleset) RemoveTable(name string) {
	rs.tables = slices.DeleteFunc(rs.tables, func(t *Table) bool { return t.Name == name })
}

// Tables returns the tables in order.
func (rs *Ruleset) Tables() []*Table { return slices.Clone(rs.tables) }

// NumRules returns the number of rules in all tables.
func (rs *Ruleset) NumRules() int {
	n := 0
	for _, t := range rs.tables {
		n += t.NumRules()
	}
	return n
}

// Clone returns a copy of rs that can be changed (tables and chain sets)
// without affecting rs. Chains are shared, which is why they are immutable.
// It costs one map copy per table.
func (rs *Ruleset) Clone() *Ruleset {
	n := &Ruleset{Family: rs.Family, tables: make([]*Table, len(rs.tables))}
	for i, t := range rs.tables {
		n.tables[i] = t.clone()
	}
	return n
}

// Equal reports whether rs and o hold the same family, tables, chains,
// policies and rules. The order of tables and of chains does not matter
// (it does not change what the kernel does); the order of rules does.
// Counters are ignored.
func (rs *Ruleset) Equal(o *Ruleset) bool { return rs.equal(o, false) }

// EqualWithCounters is Equal that also compares chain and rule counters.
func (rs *Ruleset) EqualWithCounters(o *Ruleset) bool { return rs.equal(o, true) }

func (rs *Ruleset) equal(o *Ruleset, counters bool) bool {
	if rs.Family != o.Family || len(rs.tables) != len(o.tables) {
		return false
	}
	for _, t := range rs.tables {
		ot := o.Table(t.Name)
		if ot == nil || !t.equal(ot, counters) {
			return false
		}
	}
	return true
}
