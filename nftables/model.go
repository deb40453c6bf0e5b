package nftables

import (
	"fmt"
	"time"
)

// Family is an nftables table family.
type Family uint8

// Table families (values are the kernel's NFPROTO_* numbers).
const (
	FamilyInet Family = 1
	FamilyIPv4 Family = 2
	FamilyIPv6 Family = 10
)

// String returns the family as nft spells it: "ip", "ip6" or "inet".
func (f Family) String() string {
	switch f {
	case FamilyIPv4:
		return "ip"
	case FamilyIPv6:
		return "ip6"
	case FamilyInet:
		return "inet"
	}
	return fmt.Sprintf("family(%d)", uint8(f))
}

// TableID names a table: its family and its name.
type TableID struct {
	Family Family
	Name   string
}

// String returns "ip proxykit".
func (id TableID) String() string { return id.Family.String() + " " + id.Name }

// DefaultTables returns the tables this package owns unless told
// otherwise: ip proxykit and ip6 proxykit.
func DefaultTables() []TableID { return []TableID{{FamilyIPv4, "proxykit"}, {FamilyIPv6, "proxykit"}} }

// Ruleset is the set of tables a backend owns, in order.
type Ruleset struct {
	Tables []*Table
}

// Table returns the table with the given id, or nil.
func (r *Ruleset) Table(id TableID) *Table {
	if r == nil {
		return nil
	}
	for _, t := range r.Tables {
		if t.ID() == id {
			return t
		}
	}
	return nil
}

// Table is one nftables table: its chains and its sets and maps, each kept
// in insertion order (the order the printer uses) and indexed by name.
// Derive a changed table from a rendered one with Clone and the Replace/Remove
// methods: unchanged chains and sets stay shared, and Diff skips them by pointer.
type Table struct {
	Family  Family
	Name    string
	Comment string

	chains named[*Chain]
	sets   named[*Set]
}

// NewTable returns an empty table.
func NewTable(family Family, name string) *Table {
	return &Table{Family: family, Name: name}
}

// ID returns the table's family and name.
func (t *Table) ID() TableID { return TableID{t.Family, t.Name} }

// AddChain adds c; a second chain of the same name is an error.
func (t *Table) AddChain(c *Chain) error {
	if c == nil {
		return fmt.Errorf("%w: nil chain", ErrInvalid)
	}
	if err := validName("chain", c.Name); err != nil {
		return err
	}
	if c.Hook != nil {
		if err := c.Hook.Validate(); err != nil {
			return fmt.Errorf("chain %s: %w", c.Name, err)
		}
	}
	if !t.chains.add(c.Name, c) {
		return fmt.Errorf("%w: chain %q added twice to table %s", ErrInvalid, c.Name, t.ID())
	}
	return nil
}

// AddSet adds s; a second set or map of the same name is an error.
func (t *Table) AddSet(s *Set) error {
	if s == nil {
		return fmt.Errorf("%w: nil set", ErrInvalid)
	}
	if err := s.Validate(); err != nil {
		return err
	}
	if !t.sets.add(s.Name, s) {
		return fmt.Errorf("%w: set %q added twice to table %s", ErrInvalid, s.Name, t.ID())
	}
	return nil
}

// Reserve makes room for about chains chains and sets sets, so that building
// a large table does not regrow its indexes.
func (t *Table) Reserve(chains, sets int) {
	t.chains.reserve(chains)
	t.sets.reserve(sets)
}

// ReplaceChain adds c, or replaces the chain of the same name in place.
func (t *Table) ReplaceChain(c *Chain) error {
	if c == nil {
		return fmt.Errorf("%w: nil chain", ErrInvalid)
	}
	if err := validName("chain", c.Name); err != nil {
		return err
	}
	t.chains.replace(c.Name, c)
	return nil
}

// ReplaceSet adds s, or replaces the set or map of the same name in place.
func (t *Table) ReplaceSet(s *Set) error {
	if s == nil {
		return fmt.Errorf("%w: nil set", ErrInvalid)
	}
	if err := s.Validate(); err != nil {
		return err
	}
	t.sets.replace(s.Name, s)
	return nil
}

// RemoveChain removes the named chain, if present.
func (t *Table) RemoveChain(name string) { t.chains.remove(name) }

// RemoveSet removes the named set or map, if present.
func (t *Table) RemoveSet(name string) { t.sets.remove(name) }

// Clone returns a table that shares every chain and set with t but can be
// changed (Add/Replace/Remove) without affecting t. It costs a copy of the
// name indexes, not of the objects.
func (t *Table) Clone() *Table {
	c := *t
	c.chains = t.chains.clone()
	c.sets = t.sets.clone()
	return &c
}

// Chain returns the named chain, or nil.
func (t *Table) Chain(name string) *Chain { c, _ := t.chains.get(name); return c }

// Set returns the named set or map, or nil.
func (t *Table) Set(name string) *Set { s, _ := t.sets.get(name); return s }

// Chains returns the chains in insertion order (do not modify the slice).
func (t *Table) Chains() []*Chain { return t.chains.list() }

// Sets returns the sets and maps in insertion order (do not modify the slice).
func (t *Table) Sets() []*Set { return t.sets.list() }

// Hook makes a chain a base chain.
type Hook struct {
	Type     string // "filter", "nat" or "route"
	Hook     string // "prerouting", "input", "forward", "output", "postrouting"
	Priority int    // e.g. -100 (printed "dstnat" where nft does)
	Policy   string // "accept" (default when empty) or "drop"
}

var hookNums = map[string]uint32{"prerouting": 0, "input": 1, "forward": 2, "output": 3, "postrouting": 4}

// Validate checks the hook's type, hook name and policy.
func (h *Hook) Validate() error {
	if _, ok := hookNums[h.Hook]; !ok {
		return fmt.Errorf("%w: hook %q", ErrInvalid, h.Hook)
	}
	if h.Type != "filter" && h.Type != "nat" && h.Type != "route" {
		return fmt.Errorf("%w: chain type %q", ErrInvalid, h.Type)
	}
	if h.Policy != "" && h.Policy != "accept" && h.Policy != "drop" {
		return fmt.Errorf("%w: policy %q", ErrInvalid, h.Policy)
	}
	return nil
}

// Chain is a base chain (Hook set) or a regular chain.
type Chain struct {
	Name  string
	Hook  *Hook
	Rules []Rule

	hash uint64 // of the hook and rules, cached by contentHash (atomic)
}

// Rule is a list of statements and an optional comment.
type Rule struct {
	Stmts   []Stmt
	Comment string
}

// Set is a named set (Data zero and !Verdict) or map (Verdict or Data).
type Set struct {
	Name string
	// Key lists the key's data types; more than one makes a concatenation.
	Key []DataType
	// Verdict makes it a verdict map; Data (non-zero) a data map.
	Verdict bool
	Data    DataType
	// Flags.
	Interval bool // "flags interval": elements are address prefixes (one address field only)
	Timeout  bool // "flags timeout": elements may carry timeouts
	Dynamic  bool // "flags dynamic": rules may add elements (update @set)
	// DefaultTimeout is the set's "timeout" for elements added without one.
	DefaultTimeout time.Duration
	// Size is the set's maximum size; dynamic sets get 65535 when zero, as nft does.
	Size    uint32
	Comment string

	Elements []Element
}

// Element is one set element or map entry.
type Element struct {
	Key     []Value
	Verdict *Verdict // for verdict maps
	Data    *Value   // for data maps
	Timeout time.Duration
	Comment string
}

// Verdict kinds.
type VerdictKind uint8

// Verdicts.
const (
	VerdictAccept VerdictKind = iota + 1
	VerdictDrop
	VerdictReturn
	VerdictJump
	VerdictGoto
)

// Verdict is a rule's final statement or a verdict map's value.
type Verdict struct {
	Kind  VerdictKind
	Chain string // for jump and goto
}

// Accept, Drop, Return, Jump and Goto build verdicts.
func Accept() Verdict            { return Verdict{Kind: VerdictAccept} }
func Drop() Verdict              { return Verdict{Kind: VerdictDrop} }
func Return() Verdict            { return Verdict{Kind: VerdictReturn} }
func Jump(chain string) Verdict  { return Verdict{Kind: VerdictJump, Chain: chain} }
func Goto(chain string) Verdict  { return Verdict{Kind: VerdictGoto, Chain: chain} }
func (v Verdict) target() string { return v.Chain }
