package iptables

import (
	"fmt"
	"slices"
	"strings"

	"github.com/proxykit/proxykit/internal/parallel"
)

// Ownership says which chains belong to the caller. A user chain is owned
// when Func says so, or, without Func, when its name starts with Prefix.
// Diff may call Func from several goroutines at once.
// Built-in chains are never owned; a rule in a built-in chain is owned when
// it jumps to an owned chain.
type Ownership struct {
	Prefix string
	Func   func(chain string) bool
}

// OwnPrefix returns the Ownership of the chains named prefix+"...".
func OwnPrefix(prefix string) Ownership { return Ownership{Prefix: prefix} }

// Owns reports whether chain is owned.
func (o Ownership) Owns(chain string) bool {
	if o.Func != nil {
		return o.Func(chain)
	}
	return o.Prefix != "" && strings.HasPrefix(chain, o.Prefix)
}

// ChainRef names a chain of a table.
type ChainRef struct{ Table, Chain string }

// ReferenceError reports a desired rule that jumps to an owned chain that
// the desired ruleset does not hold.
type ReferenceError struct {
	Table, Chain string // where the rule is
	Target       string // the missing chain
}

func (e *ReferenceError) Error() string {
	return fmt.Sprintf("table %s: chain %s jumps to owned chain %s, which is not in the desired ruleset", e.Table, e.Chain, e.Target)
}

// Diff returns the iptables-restore --noflush payload that turns current
// into desired, touching only what own owns and what changed:
//
//   - an owned chain that is new, or whose rules differ, is declared
//     (":CHAIN - [0:0]", which creates or flushes it) and its rules written;
//     owned chains with equal rules are not in the payload;
//   - an owned chain that desired lacks is flushed and deleted (-X) after
//     every reference to it is gone; if a foreign rule still jumps to it, it
//     is kept as it is (reported as ChainKept);
//   - in built-in chains only owned rules (those jumping to owned chains)
//     are managed: each desired one exists exactly once, at the top of the
//     chain in desired order, by -I and -D of the exact rule text; the
//     chains themselves are never flushed and their policies never set;
//   - foreign chains and rules are never touched, and tables without a
//     change are not in the payload.
//
// Diff returns a *ReferenceError when a desired owned rule jumps to an owned
// chain that desired lacks. Diff(current, NewRuleset(f), own) removes
// everything own owns.
//
// Cost: one map lookup per chain, plus a rule comparison for chains that
// are not the same *Chain in both rulesets (unchanged chains shared with a
// Clone cost nothing). For a change known to touch a few chains, DiffChanged
// costs only what those chains hold.
func Diff(current, desired *Ruleset, own Ownership) (*Payload, error) {
	return diff(current, desired, own, nil, true)
}

// DiffChanged is Diff restricted to the owned chains listed in changed (any
// chain that may have been added, rewritten or removed since current) and to
// the owned rules of built-in chains. Its cost follows len(changed), not the
// size of the rulesets: a one-endpoint change among 10k services touches a
// handful of chains. It trusts the caller that no other owned chain differs,
// and, unlike Diff, does not look for foreign rules that jump to a chain it
// deletes (iptables-restore then fails, and a full Diff keeps the chain).
func DiffChanged(current, desired *Ruleset, own Ownership, changed []ChainRef) (*Payload, error) {
	return diff(current, desired, own, changed, false)
}

func diff(current, desired *Ruleset, own Ownership, changed []ChainRef, full bool) (*Payload, error) {
	if current.Family != desired.Family {
		return nil, fmt.Errorf("diff of a %v ruleset against a %v one", current.Family, desired.Family)
	}
	p := &Payload{Family: desired.Family}
	var names []string
	for _, t := range desired.tables {
		names = append(names, t.Name)
	}
	for _, t := range current.tables {
		if desired.Table(t.Name) == nil {
			names = append(names, t.Name)
		}
	}
	for _, name := range names {
		td := &tableDiff{name: name, cur: current.Table(name), des: desired.Table(name), own: own}
		if td.cur == nil {
			td.cur = NewTable(name)
		}
		if td.des == nil {
			td.des = NewTable(name)
		}
		if full {
			td.candidatesAll()
		} else {
			td.candidatesFrom(changed)
		}
		tp, err := td.payload(full)
		if err != nil {
			return nil, err
		}
		if len(tp.Ops) > 0 {
			p.Tables = append(p.Tables, tp)
		}
	}
	return p, nil
}

// tableDiff computes the payload of one table.
type tableDiff struct {
	name     string
	cur, des *Table
	own      Ownership

	added, rewritten, deleted []*Chain // added/rewritten: desired chains; deleted: current chains
	kept                      []Change
	inOrder                   bool // added and rewritten are in table order
}

func (td *tableDiff) ownedUser(name string) bool {
	return td.own.Owns(name) && !IsBuiltin(td.name, name)
}

// diffParallelMin is the number of chains from which a full Diff compares
// them on every CPU.
const diffParallelMin = 4096

func (td *tableDiff) candidatesAll() {
	des := td.des.ordered
	td.inOrder = des != nil // then added and rewritten come out in table order
	if des == nil {
		des = make([]*Chain, 0, td.des.chains.len())
		for d := range td.des.chains.all() {
			des = append(des, d)
		}
	}
	workers := parallel.Workers(len(des), diffParallelMin)
	parts := make([]tableDiff, workers)
	parallel.Split(len(des), workers, func(k, lo, hi int) {
		part := &parts[k]
		*part = tableDiff{name: td.name, cur: td.cur, des: td.des, own: td.own}
		empty := td.cur.chains.len() == 0 // every owned chain is added
		if empty {
			part.added = make([]*Chain, 0, hi-lo)
		}
		for _, d := range des[lo:hi] {
			switch {
			case !part.ownedUser(d.Name):
			case empty:
				part.added = append(part.added, d)
			default:
				part.classify(d.Name, td.cur.chains.get(d.Name), d)
			}
		}
	})
	if workers == 1 {
		td.added, td.rewritten = parts[0].added, parts[0].rewritten
	} else {
		for _, part := range parts {
			td.added = append(td.added, part.added...)
			td.rewritten = append(td.rewritten, part.rewritten...)
		}
	}
	for c := range td.cur.chains.all() {
		name := c.Name
		if td.des.chains.get(name) == nil && td.ownedUser(name) {
			td.classify(name, c, nil)
		}
	}
}

func (td *tableDiff) candidatesFrom(changed []ChainRef) {
	seen := map[string]bool{}
	for _, ref := range changed {
		if ref.Table != td.name || seen[ref.Chain] || !td.ownedUser(ref.Chain) {
			continue
		}
		seen[ref.Chain] = true
		td.classify(ref.Chain, td.cur.chains.get(ref.Chain), td.des.chains.get(ref.Chain))
	}
}

func (td *tableDiff) classify(name string, c, d *Chain) {
	switch {
	case d != nil && c == nil:
		td.added = append(td.added, d)
	case d != nil && !sameRules(c, d):
		td.rewritten = append(td.rewritten, d)
	case d == nil && c != nil:
		td.deleted = append(td.deleted, c)
	}
}

// payload orders the commands so that every line is valid when
// iptables-restore reaches it: declarations, built-in rule deletions and
// insertions, the rules of declared chains, chain deletions.
func (td *tableDiff) payload(full bool) (*TablePayload, error) {
	if !td.inOrder {
		sortBySeq(td.added)
		sortBySeq(td.rewritten)
	}
	sortBySeq(td.deleted)
	if err := td.checkReferences(full); err != nil {
		return nil, err
	}
	tp := &TablePayload{Table: td.name}
	nFilled := len(td.added) + len(td.rewritten)
	declared := make([]*Chain, 0, nFilled+len(td.deleted))
	declared = append(append(append(declared, td.added...), td.rewritten...), td.deleted...)
	if len(declared) > 0 {
		tp.Ops = append(tp.Ops, Op{Kind: OpDeclare, Chains: declared})
	}
	tp.added = td.added
	for _, c := range td.rewritten {
		tp.changes = append(tp.changes, Change{Kind: ChainRewritten, Chain: c.Name,
			OldRules: td.cur.chains.get(c.Name).NumRules(), NewRules: c.NumRules()})
	}
	if err := td.builtinOps(tp); err != nil {
		return nil, err
	}
	if filled := declared[:nFilled:nFilled]; slices.ContainsFunc(filled, func(c *Chain) bool { return c.NumRules() > 0 }) {
		tp.Ops = append(tp.Ops, Op{Kind: OpFill, Chains: filled})
	}
	if len(td.deleted) > 0 {
		tp.Ops = append(tp.Ops, Op{Kind: OpDeleteChain, Chains: declared[nFilled:]})
	}
	for _, c := range td.deleted {
		tp.changes = append(tp.changes, Change{Kind: ChainDeleted, Chain: c.Name, OldRules: c.NumRules()})
	}
	tp.changes = append(tp.changes, td.kept...)
	if len(tp.Ops) == 0 {
		tp.added, tp.changes = nil, nil
	}
	return tp, nil
}
