package iptables

import (
	"fmt"
	"slices"
)

// ops applies the commands of o to t. On error it returns the index of
// the command (the line of the op) that failed.
func (tx *applyTx) ops(t *Table, o *Op) (int, error) {
	if !o.multi() {
		return 0, tx.op(t, o)
	}
	n := 0
	for i, c := range o.Chains {
		var err error
		switch o.Kind {
		case OpDeclare:
			err = tx.declare(t, c.Name, "", Counters{})
		case OpDeleteChain:
			err = tx.deleteChain(t, c.Name)
		case OpFill:
			var at int
			if at, err = tx.fill(t, c); err != nil {
				return n + at, err
			}
			n += c.NumRules()
		}
		if err != nil {
			return i, err
		}
	}
	return 0, nil
}

// op applies one command to t.
func (tx *applyTx) op(t *Table, o *Op) error {
	switch o.Kind {
	case OpDeclare:
		return tx.declare(t, o.Chain, o.Policy, o.Counters)
	case OpNewChain:
		if t.chains.get(o.Chain) != nil || IsBuiltin(t.Name, o.Chain) {
			return fmt.Errorf("%w: %s", ErrChainExists, o.Chain)
		}
		if err := checkChainName(o.Chain); err != nil {
			return err
		}
		tx.replace(t, &Chain{Name: o.Chain})
		return nil
	case OpPolicy:
		c := t.chains.get(o.Chain)
		if c == nil || !IsBuiltin(t.Name, o.Chain) {
			return fmt.Errorf("%w: %s", ErrNotBuiltin, o.Chain)
		}
		return tx.declare(t, o.Chain, o.Policy, c.Counters)
	case OpAppend, OpInsert:
		return tx.add(t, o)
	case OpDelete:
		return tx.deleteRule(t, o)
	case OpFlush:
		return tx.flush(t, o.Chain)
	case OpDeleteChain:
		return tx.deleteChain(t, o.Chain)
	}
	return fmt.Errorf("%w %d", ErrBadOp, o.Kind)
}

// declare is ":CHAIN POLICY [p:b]".
func (tx *applyTx) declare(t *Table, name, policy string, cnt Counters) error {
	if IsBuiltin(t.Name, name) {
		if policy == "" {
			return nil
		}
		if policy != "ACCEPT" && policy != "DROP" {
			return fmt.Errorf("%w %q for %s", ErrBadPolicy, policy, name)
		}
		if old := t.chains.get(name); old != nil {
			// shares old's rules: a later change copies them (writable)
			c := old.withRulesOf(old)
			c.Policy, c.Counters = policy, cnt
			tx.install(t, c)
			return nil
		}
		tx.replace(t, &Chain{Name: name, Policy: policy, Counters: cnt})
		return nil
	}
	if policy != "" {
		return fmt.Errorf("%w: policy %s on %s", ErrNotBuiltin, policy, name)
	}
	if err := checkChainName(name); err != nil {
		return err
	}
	tx.replace(t, &Chain{Name: name, Counters: cnt})
	return nil
}

// add is -A or -I.
func (tx *applyTx) add(t *Table, o *Op) error {
	if t.chains.get(o.Chain) == nil {
		return fmt.Errorf("%w: %s", ErrNoChain, o.Chain)
	}
	if err := checkTarget(t, o.Rule.Target); err != nil {
		return err
	}
	c, err := tx.writable(t, o.Chain)
	if err != nil {
		return err
	}
	r := o.Rule
	r.Chain = c.Name
	if o.Kind == OpAppend {
		c.rules = append(c.rules, r)
	} else {
		pos := max(o.Pos, 1)
		if pos > len(c.rules)+1 {
			return fmt.Errorf("%w: insert at %d into %s (%d rules)", ErrBadPosition, pos, c.Name, len(c.rules))
		}
		c.rules = slices.Insert(c.rules, pos-1, r)
	}
	t.countRef(r.Target, 1)
	return nil
}

// checkTarget rejects a jump to a chain that does not exist (or to a
// built-in chain) when the target is not a standard one.
func checkTarget(t *Table, target string) error {
	if target == "" {
		return nil
	}
	if tc := t.chains.get(target); tc == nil && !isStandardTarget(target) || tc != nil && IsBuiltin(t.Name, target) {
		return fmt.Errorf("%w: %s", ErrNoTarget, target)
	}
	return nil
}

// fill appends the rules of from to the chain of the same name. When
// that chain was declared by this transaction and is still empty, it takes
// from's rules without copying them (the chains share them, as chains do,
// and the new one is copied before any later change). On error it returns
// the index of the rule that failed.
func (tx *applyTx) fill(t *Table, from *Chain) (int, error) {
	c := t.chains.get(from.Name)
	if c == nil || !tx.fresh[c] || c.NumRules() > 0 {
		return tx.fillEach(t, from)
	}
	for i := range from.rules {
		if from.rules[i].Chain != from.Name {
			return tx.fillEach(t, from)
		}
	}
	i := 0
	for target := range from.targets() {
		if err := checkTarget(t, target); err != nil {
			return i, err
		}
		i++
	}
	tx.install(t, c.withRulesOf(from))
	return 0, nil
}

// fillEach is fill as one -A per rule.
func (tx *applyTx) fillEach(t *Table, from *Chain) (int, error) {
	for i, r := range from.Rules() {
		if err := tx.add(t, &Op{Kind: OpAppend, Chain: from.Name, Rule: r}); err != nil {
			return i, err
		}
	}
	return 0, nil
}

// deleteRule is -D, by position or by rule text.
func (tx *applyTx) deleteRule(t *Table, o *Op) error {
	c := t.chains.get(o.Chain)
	if c == nil {
		return fmt.Errorf("%w: %s", ErrNoChain, o.Chain)
	}
	idx := o.Pos - 1
	if o.Pos > 0 && o.Pos > c.NumRules() {
		return fmt.Errorf("%w: delete %d from %s (%d rules)", ErrBadPosition, o.Pos, c.Name, c.NumRules())
	}
	if o.Pos <= 0 {
		idx = slices.IndexFunc(c.Rules(), func(r Rule) bool { return r.Spec == o.Rule.Spec })
		if idx < 0 {
			return fmt.Errorf("%w in %s: %s", ErrNoRule, o.Chain, o.Rule.Spec)
		}
	}
	w, err := tx.writable(t, o.Chain)
	if err != nil {
		return err
	}
	t.countRef(w.rules[idx].Target, -1)
	w.rules = slices.Delete(w.rules, idx, idx+1)
	return nil
}

// flush is -F (one chain, or every chain when name is "").
func (tx *applyTx) flush(t *Table, name string) error {
	names := []string{name}
	if name == "" {
		names = chainNames(t, false)
	} else if t.chains.get(name) == nil {
		return fmt.Errorf("%w: %s", ErrNoChain, name)
	}
	for _, n := range names {
		old := t.chains.get(n)
		tx.replace(t, &Chain{Name: n, Policy: old.Policy, Counters: old.Counters})
	}
	return nil
}

// deleteChain is -X (one chain, or every user chain when name is "").
func (tx *applyTx) deleteChain(t *Table, name string) error {
	names := []string{name}
	if name == "" {
		names = chainNames(t, true)
		// Rules among the chains being deleted do not hold them back.
		for _, n := range names {
			if t.chains.get(n).NumRules() > 0 {
				return fmt.Errorf("%w: %s", ErrChainNotEmpty, n)
			}
		}
	}
	for _, n := range names {
		c := t.chains.get(n)
		switch {
		case c == nil:
			return fmt.Errorf("%w: %s", ErrNoChain, n)
		case IsBuiltin(t.Name, n):
			return fmt.Errorf("%w: -X %s", ErrBuiltinChain, n)
		case c.NumRules() > 0:
			return fmt.Errorf("%w: %s", ErrChainNotEmpty, n)
		case t.refCount(n) > 0:
			return fmt.Errorf("%w: %s (%d references)", ErrChainInUse, n, t.refCount(n))
		}
		tx.drop(t, n)
	}
	return nil
}

// chainNames lists the table's chains in order (only user chains if userOnly).
func chainNames(t *Table, userOnly bool) []string {
	var names []string
	for _, c := range t.Chains() {
		if !userOnly || !IsBuiltin(t.Name, c.Name) {
			names = append(names, c.Name)
		}
	}
	return names
}
