package iptables

import (
	"slices"

	"github.com/proxykit/proxykit/internal/parallel"
)

// checkReferences makes sure the payload leaves no dangling jump: written
// rules jump only to owned chains that desired holds, and a chain is deleted
// only when nothing will reference it (in a full diff, chains that foreign
// rules still jump to are kept).
func (td *tableDiff) checkReferences(full bool) error {
	if err := td.checkAllTargets(); err != nil {
		return err
	}
	if len(td.deleted) == 0 || !full || !td.stillReferenced() {
		return nil
	}
	gone := make(map[string]bool, len(td.deleted))
	for _, c := range td.deleted {
		gone[c.Name] = true
	}
	for c := range td.des.chains.all() {
		name := c.Name
		if !td.ownedUser(name) {
			continue
		}
		for t := range c.targets() {
			if gone[t] {
				return &ReferenceError{Table: td.name, Chain: name, Target: t}
			}
		}
	}
	td.keepForeignReferenced(gone)
	return nil
}

// stillReferenced reports whether a chain to delete has references that
// the payload does not remove: rules in current chains other than the
// rewritten, deleted and built-in ones. It uses current's reference index,
// so it costs only what the payload touches once the index exists.
func (td *tableDiff) stillReferenced() bool {
	vanish := map[string]int{}
	count := func(c *Chain) {
		if c != nil {
			for t := range c.targets() {
				vanish[t]++
			}
		}
	}
	for _, c := range td.rewritten {
		count(td.cur.chains.get(c.Name))
	}
	for _, c := range td.deleted {
		count(c)
	}
	for _, name := range BuiltinChains(td.name) {
		count(td.cur.chains.get(name))
	}
	for _, c := range td.deleted {
		if td.cur.refCount(c.Name) > vanish[c.Name] {
			return true
		}
	}
	return false
}

// checkAllTargets checks that the jumps of the added and rewritten chains
// to owned chains land in desired, on every CPU when they are many. It
// reports the first bad jump in payload order.
func (td *tableDiff) checkAllTargets() error {
	if td.des.jumpsChecked() && !slices.ContainsFunc(renderedVerdicts[:], td.missingOwned) {
		return nil // every jump lands on a chain of desired or on a verdict desired need not hold
	}
	n := len(td.added) + len(td.rewritten)
	at := func(i int) *Chain {
		if i < len(td.added) {
			return td.added[i]
		}
		return td.rewritten[i-len(td.added)]
	}
	workers := parallel.Workers(n, diffParallelMin)
	errs := make([]error, workers)
	parallel.Split(n, workers, func(k, lo, hi int) {
		var ok targetCache
		for i := lo; i < hi && errs[k] == nil; i++ {
			errs[k] = td.checkTargets(at(i), &ok)
		}
	})
	for _, err := range errs {
		if err != nil {
			return err
		}
	}
	return nil
}

// missingOwned reports whether a jump to target would be to an owned chain
// that desired lacks.
func (td *tableDiff) missingOwned(target string) bool {
	return td.ownedUser(target) && td.des.chains.get(target) == nil
}

// targetCache remembers the last targets found valid: most rules jump to
// the chain the rule before jumped to, or to the masquerade chain.
type targetCache [2]string

// checkTargets checks that c's jumps to owned chains land in desired.
func (td *tableDiff) checkTargets(c *Chain, ok *targetCache) error {
	for t := range c.targets() {
		if t == "" || t == ok[0] || t == ok[1] {
			continue
		}
		if td.missingOwned(t) {
			return &ReferenceError{Table: td.name, Chain: c.Name, Target: t}
		}
		ok[0], ok[1] = t, ok[0]
	}
	return nil
}

// keepForeignReferenced takes out of the deletions every chain a foreign
// chain still jumps to, and the chains those kept chains jump to.
func (td *tableDiff) keepForeignReferenced(gone map[string]bool) {
	var queue []string
	for c := range td.cur.chains.all() {
		name := c.Name
		if td.own.Owns(name) || IsBuiltin(td.name, name) {
			continue
		}
		for t := range c.targets() {
			if gone[t] {
				gone[t] = false
				queue = append(queue, t)
				td.kept = append(td.kept, Change{Kind: ChainKept, Chain: t, Rule: "chain " + name})
			}
		}
	}
	for len(queue) > 0 {
		c := td.cur.chains.get(queue[0])
		queue = queue[1:]
		for t := range c.targets() {
			if gone[t] {
				gone[t] = false
				queue = append(queue, t)
				td.kept = append(td.kept, Change{Kind: ChainKept, Chain: t, Rule: "chain " + c.Name})
			}
		}
	}
	if len(td.kept) == 0 {
		return
	}
	td.deleted = slices.DeleteFunc(td.deleted, func(c *Chain) bool { return !gone[c.Name] })
	slices.SortFunc(td.kept, func(a, b Change) int {
		return bySeq(td.cur.chains.get(a.Chain), td.cur.chains.get(b.Chain))
	})
}

// ownedRules returns the rules of c that jump to owned chains.
func (td *tableDiff) ownedRules(c *Chain) []Rule {
	if c == nil {
		return nil
	}
	var out []Rule
	for _, r := range c.Rules() {
		if r.Target != "" && td.ownedUser(r.Target) {
			out = append(out, r)
		}
	}
	return out
}

// builtinOps keeps the owned rules of each built-in chain equal to the
// desired ones, in desired order at the top of the chain, with -D and -I.
func (td *tableDiff) builtinOps(tp *TablePayload) error {
	for _, name := range BuiltinChains(td.name) {
		have := td.ownedRules(td.cur.chains.get(name))
		want := td.ownedRules(td.des.chains.get(name))
		for _, r := range want {
			if td.des.chains.get(r.Target) == nil {
				return &ReferenceError{Table: td.name, Chain: name, Target: r.Target}
			}
		}
		if specsEqual(have, want) {
			continue
		}
		del, kept := surplus(have, want)
		ins := want
		if specsEqual(kept, want[max(0, len(want)-len(kept)):]) && len(kept) <= len(want) {
			ins = want[:len(want)-len(kept)]
		} else {
			del = append(del, kept...)
		}
		for _, r := range del {
			r.Chain = name
			tp.Ops = append(tp.Ops, Op{Kind: OpDelete, Chain: name, Rule: r})
			tp.changes = append(tp.changes, Change{Kind: RuleDeleted, Chain: name, Rule: r.Spec})
		}
		for i := len(ins) - 1; i >= 0; i-- {
			r := ins[i]
			r.Chain = name
			tp.Ops = append(tp.Ops, Op{Kind: OpInsert, Chain: name, Rule: r, Pos: 1})
			tp.changes = append(tp.changes, Change{Kind: RuleInserted, Chain: name, Rule: r.Spec})
		}
	}
	return nil
}

// surplus splits have into the rules to delete (not wanted, or wanted fewer
// times) and the rules kept, in order.
func surplus(have, want []Rule) (del, kept []Rule) {
	budget := map[string]int{}
	for _, r := range want {
		budget[r.Spec]++
	}
	for _, r := range have {
		if budget[r.Spec] > 0 {
			budget[r.Spec]--
			kept = append(kept, r)
		} else {
			del = append(del, r)
		}
	}
	return del, kept
}

func specsEqual(a, b []Rule) bool {
	return slices.EqualFunc(a, b, func(x, y Rule) bool { return x.Spec == y.Spec })
}
