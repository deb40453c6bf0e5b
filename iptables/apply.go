package iptables

import (
	"errors"
	"fmt"
	"slices"
)

// Reasons iptables-restore rejects a command; ApplyError wraps one of them
// (test with errors.Is).
var (
	ErrNoChain       = errors.New("no chain by that name")
	ErrChainExists   = errors.New("chain already exists")
	ErrChainInUse    = errors.New("chain is still referenced")
	ErrChainNotEmpty = errors.New("chain is not empty")
	ErrNotBuiltin    = errors.New("bad built-in chain name")
	ErrBuiltinChain  = errors.New("not allowed on a built-in chain")
	ErrBadPolicy     = errors.New("bad policy")
	ErrNoTarget      = errors.New("jump to a chain or target that does not exist")
	ErrNoRule        = errors.New("no matching rule")
	ErrBadPosition   = errors.New("rule position out of range")
	ErrBadOp         = errors.New("unknown command")
)

// ApplyError is a command of a payload that was rejected.
type ApplyError struct {
	Table string
	Line  int    // line of the command in the payload's Bytes()
	Text  string // the command, as printed
	Err   error
}

func (e *ApplyError) Error() string {
	return fmt.Sprintf("table %s, line %d (%s): %v", e.Table, e.Line, e.Text, e.Err)
}

func (e *ApplyError) Unwrap() error { return e.Err }

// Apply runs p on rs with iptables-restore --noflush semantics, all or
// nothing: on error rs is left exactly as it was. It rejects what the
// kernel rejects: a jump to a chain that does not exist (or to an unknown
// target), -N of an existing chain, -X of a chain that is referenced, not
// empty, built-in or missing, a policy on a chain that is not built-in, -D
// of a missing rule, a rule for a missing chain. Declaring an existing user
// chain flushes it; declaring it twice is allowed (as in iptables-restore).
// A standard table that rs lacks is created with its built-in chains.
//
// Apply is how a caller that caches the kernel's state keeps the cache in
// step after a successful Kernel.Apply: its cost follows the payload.
func (rs *Ruleset) Apply(p *Payload) error {
	if p.Family != rs.Family {
		return fmt.Errorf("apply a %v payload to a %v ruleset", p.Family, rs.Family)
	}
	tx := &applyTx{rs: rs, fresh: map[*Chain]bool{}}
	line := 0
	for _, tp := range p.Tables {
		if len(tp.Ops) == 0 {
			continue
		}
		line++ // "*table"
		t := tx.table(tp.Table)
		for i := range tp.Ops {
			o := &tp.Ops[i]
			if at, err := tx.ops(t, o); err != nil {
				tx.rollback()
				return &ApplyError{Table: tp.Table, Line: line + at + 1, Text: o.lineText(at), Err: err}
			}
			line += o.lines()
		}
		line++ // "COMMIT"
	}
	return nil
}

func trimNL(b []byte) []byte {
	if n := len(b); n > 0 && b[n-1] == '\n' {
		return b[:n-1]
	}
	return b
}

// applyTx journals every chain replacement so that rollback can undo it.
type applyTx struct {
	rs        *Ruleset
	journal   []undo
	newTables []string
	fresh     map[*Chain]bool // chains created by this transaction, safe to change in place
}

type undo struct {
	t    *Table
	name string
	old  *Chain // nil: the chain did not exist
}

func (tx *applyTx) table(name string) *Table {
	if t := tx.rs.Table(name); t != nil {
		return t
	}
	t := newStandardTable(name)
	tx.rs.SetTable(t)
	tx.newTables = append(tx.newTables, name)
	return t
}

func (tx *applyTx) rollback() {
	for i := len(tx.journal) - 1; i >= 0; i-- {
		u := tx.journal[i]
		if u.old == nil {
			u.t.remove(u.name)
		} else {
			u.t.restore(u.old)
		}
	}
	for _, name := range tx.newTables {
		tx.rs.RemoveTable(name)
	}
}

// replace installs c in t, journaling the chain it replaces; the
// transaction may change c in place.
func (tx *applyTx) replace(t *Table, c *Chain) {
	tx.install(t, c)
	tx.fresh[c] = true
}

// install puts c in t, journaling the chain it replaces.
func (tx *applyTx) install(t *Table, c *Chain) {
	tx.journal = append(tx.journal, undo{t: t, name: c.Name, old: t.chains.get(c.Name)})
	t.put(c)
}

func (tx *applyTx) drop(t *Table, name string) {
	tx.journal = append(tx.journal, undo{t: t, name: name, old: t.chains.get(name)})
	t.remove(name)
}

// writable returns the named chain as a copy this transaction may change.
func (tx *applyTx) writable(t *Table, name string) (*Chain, error) {
	c := t.chains.get(name)
	if c == nil {
		return nil, fmt.Errorf("%w: %s", ErrNoChain, name)
	}
	if tx.fresh[c] {
		return c, nil
	}
	n := c.withRules(slices.Clone(c.Rules()))
	tx.replace(t, n)
	return n, nil
}
