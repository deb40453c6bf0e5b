package nftables

import "fmt"

// VerifyApplied checks that rs (read back from a kernel) shows every effect
// of tx: added objects exist, deleted ones are gone, rewritten chains hold
// exactly the rules tx wrote, added elements are present with their values.
// It returns the first effect missing, or nil.
func VerifyApplied(rs *Ruleset, tx *Transaction) error {
	// Chains tx flushed or created must hold exactly the rules it wrote;
	// chains it only appended to must end with them.
	written := map[ObjectRef][]string{}
	appended := map[ObjectRef]bool{}
	var chainOrder []ObjectRef
	gone := map[ObjectRef]bool{}
	for _, op := range tx.Ops {
		ref := ObjectRef{op.Table, op.Name}
		switch op.Kind {
		case OpFlushChain, OpAddChain:
			if _, seen := written[ref]; !seen {
				chainOrder = append(chainOrder, ref)
			}
			written[ref] = []string{}
			appended[ref] = false
		case OpAddRule:
			if _, seen := written[ref]; !seen {
				chainOrder = append(chainOrder, ref)
				appended[ref] = true
			}
			written[ref] = append(written[ref], ruleText(op.Table.Family, *op.Rule))
		}
	}
	for i := len(tx.Ops) - 1; i >= 0; i-- { // the last op on an object decides
		op := tx.Ops[i]
		ref := ObjectRef{op.Table, op.Name}
		if gone[ref] {
			continue
		}
		if err := verifyOp(rs, op); err != nil {
			return fmt.Errorf("op %d (%s): %w", i, op, err)
		}
		if op.Kind == OpDeleteChain || op.Kind == OpDeleteSet || op.Kind == OpAddChain || op.Kind == OpAddSet {
			gone[ref] = true
		}
	}
	if err := verifyElements(rs, tx); err != nil {
		return err
	}
	for _, ref := range chainOrder {
		t := rs.Table(ref.Table)
		if t == nil || t.Chain(ref.Name) == nil {
			if appended[ref] {
				return fmt.Errorf("chain %s %s missing", ref.Table, ref.Name)
			}
			continue // deleted later in tx: checked above
		}
		want, got := written[ref], t.Chain(ref.Name).Rules
		if appended[ref] && len(got) >= len(want) {
			got = got[len(got)-len(want):]
		}
		if len(want) != len(got) {
			return fmt.Errorf("chain %s %s holds %d rules, want %d", ref.Table, ref.Name, len(got), len(want))
		}
		for i := range got {
			if ruleText(ref.Table.Family, got[i]) != want[i] {
				return fmt.Errorf("chain %s %s rule %d differs", ref.Table, ref.Name, i)
			}
		}
	}
	return nil
}

func verifyOp(rs *Ruleset, op Op) error {
	t := rs.Table(op.Table)
	switch op.Kind {
	case OpDeleteTable:
		if t != nil {
			return fmt.Errorf("table still exists")
		}
		return nil
	case OpAddTable:
		if t == nil {
			return fmt.Errorf("table missing")
		}
		return nil
	}
	if t == nil {
		return fmt.Errorf("table %s missing", op.Table)
	}
	switch op.Kind {
	case OpAddChain:
		if t.Chain(op.Name) == nil {
			return fmt.Errorf("chain missing")
		}
	case OpDeleteChain:
		if t.Chain(op.Name) != nil {
			return fmt.Errorf("chain still exists")
		}
	case OpAddSet:
		if t.Set(op.Name) == nil {
			return fmt.Errorf("set missing")
		}
	case OpDeleteSet:
		if t.Set(op.Name) != nil {
			return fmt.Errorf("set still exists")
		}
	}
	return nil
}

// elementEffects is, per set, the final presence (and printed form) of every
// element tx touched: "" means deleted.
func elementEffects(tx *Transaction) map[ObjectRef]map[string]string {
	out := map[ObjectRef]map[string]string{}
	for _, op := range tx.Ops {
		ref := ObjectRef{op.Table, op.Name}
		switch op.Kind {
		case OpAddSet, OpDeleteSet:
			out[ref] = map[string]string{}
		case OpAddElements, OpDeleteElements:
			if out[ref] == nil {
				out[ref] = map[string]string{}
			}
			for _, e := range op.Elements {
				v := ""
				if op.Kind == OpAddElements {
					v = op.Set.elementString(e)
				}
				out[ref][keyString(e.Key)] = v
			}
		}
	}
	return out
}

func verifyElements(rs *Ruleset, tx *Transaction) error {
	for ref, want := range elementEffects(tx) {
		t := rs.Table(ref.Table)
		var s *Set
		if t != nil {
			s = t.Set(ref.Name)
		}
		if s == nil || s.Dynamic {
			continue // absence of the set itself is checked by verifyOp
		}
		have := make(map[string]string, len(s.Elements))
		for _, e := range s.Elements {
			have[keyString(e.Key)] = s.elementString(e)
		}
		for k, v := range want {
			if got, ok := have[k]; v == "" && ok || v != "" && got != v {
				return fmt.Errorf("set %s %s: element %s not as written", ref.Table, ref.Name, k)
			}
		}
	}
	return nil
}
