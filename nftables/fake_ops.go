package nftables

import (
	"fmt"
	"slices"
	"sort"
	"syscall"
)

func (w *fakeTx) apply(op Op) error {
	switch op.Kind {
	case OpAddTable:
		if err := validComment(op.Comment); err != nil {
			return fmt.Errorf("%v: %w", err, syscall.EINVAL)
		}
		if w.tables[op.Table] == nil {
			w.tables[op.Table] = &fakeTable{id: op.Table, comment: op.Comment, chains: map[string]*fakeChain{}, sets: map[string]*fakeSet{}}
			w.touched[op.Table] = true
		}
		return nil
	case OpDeleteTable:
		if w.tables[op.Table] == nil {
			return fmt.Errorf("table %s: %w", op.Table, syscall.ENOENT)
		}
		delete(w.tables, op.Table)
		delete(w.touched, op.Table)
		return nil
	}
	t, err := w.table(op.Table)
	if err != nil {
		return err
	}
	switch op.Kind {
	case OpAddChain:
		return w.addChain(t, op)
	case OpFlushChain:
		c, err := w.chain(t, op.Name)
		if err == nil {
			c.rules = nil
		}
		return err
	case OpDeleteChain:
		return w.deleteChain(t, op.Name)
	case OpAddRule:
		return w.addRule(t, op)
	case OpAddSet:
		return w.addSet(t, op)
	case OpDeleteSet:
		return w.deleteSet(t, op.Name)
	case OpAddElements:
		return w.addElements(t, op)
	case OpDeleteElements:
		return w.deleteElements(t, op)
	}
	return fmt.Errorf("unknown op %d: %w", op.Kind, syscall.EINVAL)
}

func (w *fakeTx) addChain(t *fakeTable, op Op) error {
	if op.Chain == nil || validName("chain", op.Name) != nil || op.Chain.Name != op.Name {
		return fmt.Errorf("add chain %q: %w", op.Name, syscall.EINVAL)
	}
	if h := op.Chain.Hook; h != nil {
		if err := h.Validate(); err != nil {
			return fmt.Errorf("add chain %q: %v: %w", op.Name, err, syscall.EINVAL)
		}
	}
	if c := t.chains[op.Name]; c != nil {
		if !sameHook(c.hook, op.Chain.Hook) {
			return fmt.Errorf("chain %s exists with another hook: %w", op.Name, syscall.EEXIST)
		}
		return nil
	}
	c := &fakeChain{hook: op.Chain.Hook}
	t.chains[op.Name] = c
	if w.touchedChains == nil {
		w.touchedChains = map[*fakeChain]bool{}
	}
	w.touchedChains[c] = true
	t.order = append(t.order, op.Name)
	return nil
}

func (w *fakeTx) deleteChain(t *fakeTable, name string) error {
	c := t.chains[name]
	if c == nil {
		return fmt.Errorf("chain %s: %w", name, syscall.ENOENT)
	}
	if len(c.rules) > 0 {
		return fmt.Errorf("chain %s holds %d rules: %w", name, len(c.rules), syscall.EBUSY)
	}
	if user := t.chainUser(name); user != "" {
		return fmt.Errorf("chain %s is referenced by %s: %w", name, user, syscall.EBUSY)
	}
	delete(t.chains, name)
	return nil
}

// chainUser names a rule or element that jumps to chain, or returns "".
func (t *fakeTable) chainUser(chain string) string {
	for name, c := range t.chains {
		for _, r := range c.rules {
			for _, s := range r.Stmts {
				if stmtChain(s) == chain {
					return "a rule of chain " + name
				}
			}
		}
	}
	for name, s := range t.sets {
		for _, e := range s.elems {
			if e.Verdict != nil && e.Verdict.Chain == chain {
				return "an element of map " + name
			}
		}
	}
	return ""
}

func (w *fakeTx) addRule(t *fakeTable, op Op) error {
	if op.Rule == nil {
		return fmt.Errorf("add rule to %s without a rule: %w", op.Name, syscall.EINVAL)
	}
	c, err := w.chain(t, op.Name)
	if err != nil {
		return err
	}
	for _, s := range op.Rule.Stmts {
		if err := t.checkStmt(s); err != nil {
			return fmt.Errorf("rule %q: %w", ruleText(t.id.Family, *op.Rule), err)
		}
	}
	c.rules = append(c.rules, *op.Rule)
	return nil
}

func (t *fakeTable) checkStmt(s Stmt) error {
	if target := stmtChain(s); target != "" && t.chains[target] == nil {
		return fmt.Errorf("jump to missing chain %s: %w", target, syscall.ENOENT)
	}
	for _, name := range stmtSets(s) {
		set := t.sets[name]
		if set == nil {
			return fmt.Errorf("missing set %s: %w", name, syscall.ENOENT)
		}
		if err := checkSetUse(s, &set.def); err != nil {
			return err
		}
	}
	if u, ok := s.(Unknown); ok {
		return fmt.Errorf("unknown statement %s: %w", u.Desc, syscall.EINVAL)
	}
	return nil
}

// checkSetUse checks that a lookup's key and kind fit the set.
func checkSetUse(s Stmt, set *Set) error {
	var keys []DataType
	wantVerdict, wantDynamic := false, false
	switch s := s.(type) {
	case Lookup:
		keys = fieldTypes(s.Keys)
	case VMap:
		keys, wantVerdict = fieldTypes(s.Keys), true
	case NumgenVMap:
		keys, wantVerdict = []DataType{TypeNumgen}, true
	case UpdateSet:
		keys, wantDynamic = fieldTypes(s.Keys), true
	}
	switch {
	case !slices.Equal(keys, set.Key):
		return fmt.Errorf("key %v does not fit set %s of type %s: %w", keys, set.Name, set.typeLine(), syscall.EINVAL)
	case wantVerdict && !set.Verdict:
		return fmt.Errorf("%s is not a verdict map: %w", set.Name, syscall.EOPNOTSUPP)
	case wantDynamic && !set.Dynamic:
		return fmt.Errorf("%s is not a dynamic set: %w", set.Name, syscall.EOPNOTSUPP)
	}
	return nil
}

func fieldTypes(fs []Field) []DataType {
	out := make([]DataType, len(fs))
	for i, f := range fs {
		out[i] = f.dataType()
	}
	return out
}

func (w *fakeTx) addSet(t *fakeTable, op Op) error {
	if op.Set == nil {
		return fmt.Errorf("add set %s without a definition: %w", op.Name, syscall.EINVAL)
	}
	def := *op.Set
	def.Elements = nil
	if err := def.Validate(); err != nil || def.Name != op.Name {
		return fmt.Errorf("add set %s: %v: %w", op.Name, err, syscall.EINVAL)
	}
	if old := t.sets[op.Name]; old != nil {
		if !sameSetDef(&old.def, &def) {
			return fmt.Errorf("set %s exists with another definition: %w", op.Name, syscall.EEXIST)
		}
		return nil
	}
	s := &fakeSet{def: def, elems: map[string]Element{}}
	t.sets[op.Name] = s
	if w.touchedSets == nil {
		w.touchedSets = map[*fakeSet]bool{}
	}
	w.touchedSets[s] = true
	t.setOrder = append(t.setOrder, op.Name)
	return nil
}

func (w *fakeTx) deleteSet(t *fakeTable, name string) error {
	if t.sets[name] == nil {
		return fmt.Errorf("set %s: %w", name, syscall.ENOENT)
	}
	for cname, c := range t.chains {
		if chainUsesSetRules(c.rules, name) {
			return fmt.Errorf("set %s is used by chain %s: %w", name, cname, syscall.EBUSY)
		}
	}
	delete(t.sets, name)
	return nil
}

func chainUsesSetRules(rules []Rule, set string) bool {
	return chainUsesSet(&Chain{Rules: rules}, set)
}

func (w *fakeTx) addElements(t *fakeTable, op Op) error {
	s, err := w.set(t, op.Name)
	if err != nil {
		return err
	}
	for i := range op.Elements {
		e := op.Elements[i]
		if err := s.def.checkElement(&e); err != nil {
			return fmt.Errorf("%v: %w", err, syscall.EINVAL)
		}
		if e.Verdict != nil && e.Verdict.Chain != "" && t.chains[e.Verdict.Chain] == nil {
			return fmt.Errorf("element %s: jump to missing chain %s: %w", keyString(e.Key), e.Verdict.Chain, syscall.ENOENT)
		}
		k := keyString(e.Key)
		if old, ok := s.elems[k]; ok {
			if s.def.elementString(old) != s.def.elementString(e) {
				return fmt.Errorf("element %s exists with other data: %w", k, syscall.EBUSY)
			}
			continue
		}
		s.elems[k] = e
		s.order = append(s.order, k)
	}
	if s.def.Interval {
		all := s.def
		all.Elements = nil
		for _, e := range s.elems {
			all.Elements = append(all.Elements, e)
		}
		if err := checkDisjoint(&all); err != nil {
			return fmt.Errorf("%v: %w", err, syscall.EEXIST)
		}
	}
	return nil
}

func (w *fakeTx) deleteElements(t *fakeTable, op Op) error {
	s, err := w.set(t, op.Name)
	if err != nil {
		return err
	}
	for _, e := range op.Elements {
		k := keyString(e.Key)
		if _, ok := s.elems[k]; !ok {
			return fmt.Errorf("element %s of set %s: %w", k, op.Name, syscall.ENOENT)
		}
		delete(s.elems, k)
	}
	if len(s.order) > 2*len(s.elems)+16 { // compact the order list now and then
		s.order = liveKeys(s.order, s.elems)
	}
	return nil
}

// liveKeys returns order without deleted or repeated keys.
func liveKeys(order []string, elems map[string]Element) []string {
	seen := make(map[string]bool, len(elems))
	out := make([]string, 0, len(elems))
	for _, k := range order {
		if _, ok := elems[k]; ok && !seen[k] {
			seen[k] = true
			out = append(out, k)
		}
	}
	return out
}

func sortIDs(ids []TableID) {
	sort.Slice(ids, func(i, j int) bool {
		if ids[i].Family != ids[j].Family {
			return ids[i].Family < ids[j].Family
		}
		return ids[i].Name < ids[j].Name
	})
}
