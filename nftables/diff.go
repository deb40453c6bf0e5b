package nftables

import (
	"hash/maphash"
	"slices"
)

// ObjectRef names a chain or a set within a table.
type ObjectRef struct {
	Table TableID
	Name  string
}

// Scope restricts Diff to the chains and sets that may have changed (a
// renderer knows them from the changed services). Objects outside the scope
// are assumed equal; tables missing on either side are still added or deleted
// whole. A nil Scope compares everything, which is what a full resync does.
type Scope struct {
	Chains []ObjectRef
	Sets   []ObjectRef
}

// Diff returns the transaction that turns current into desired. Each chain is
// compared by pointer, then by hook and a cached hash of its rules; each set by
// definition, then element by element. Dynamic sets' elements belong to the
// kernel and are never compared.
//
// Order: delete tables, add tables; flush chains that referenced a set or were
// a base chain that must be recreated; delete those; add sets and chains; delete
// stale elements; flush and rewrite changed chains; add elements; flush
// removed chains; delete removed sets (their elements may jump to removed
// chains), then removed chains.
func Diff(current, desired *Ruleset, scope *Scope) *Transaction {
	p := &planner{}
	for _, ct := range current.tables() {
		if desired.Table(ct.ID()) == nil {
			p.delTables = append(p.delTables, Op{Kind: OpDeleteTable, Table: ct.ID()})
		}
	}
	for _, dt := range desired.tables() {
		ct := current.Table(dt.ID())
		if ct == nil {
			p.addTables = append(p.addTables, Op{Kind: OpAddTable, Table: dt.ID(), Comment: dt.Comment})
			ct = NewTable(dt.Family, dt.Name)
		}
		p.diffTable(ct, dt, scope)
	}
	return p.transaction()
}

func (r *Ruleset) tables() []*Table {
	if r == nil {
		return nil
	}
	return r.Tables
}

type planner struct {
	delTables, addTables             []Op
	preFlush, preDelete              []Op
	addSets, addChains               []Op
	delElems, rewrite, addElems      []Op
	flushRemoved, delChains, delSets []Op
	flushed                          map[ObjectRef]bool
}

func (p *planner) transaction() *Transaction {
	var ops []Op
	for _, phase := range [][]Op{p.delTables, p.addTables, p.preFlush, p.preDelete, p.addSets, p.addChains,
		p.delElems, p.rewrite, p.addElems, p.flushRemoved, p.delSets, p.delChains} {
		ops = append(ops, phase...)
	}
	return &Transaction{Ops: ops}
}

func (p *planner) diffTable(ct, dt *Table, scope *Scope) {
	id := dt.ID()
	var chainNames, setNames []string
	if scope != nil && ct.chains.len()+ct.sets.len() > 0 {
		chainNames, setNames = scopedNames(id, scope)
	} else {
		chainNames, setNames = allNames(ct, dt)
	}
	// Sets first: a recreated set forces a rewrite of the chains using it.
	rewriteChains := map[string]bool{}
	for _, name := range setNames {
		p.diffSet(ct, dt, name, rewriteChains)
	}
	for _, name := range chainNames {
		p.diffChain(ct, dt, name, rewriteChains[name])
		delete(rewriteChains, name)
	}
	for name := range rewriteChains { // out of scope but using a recreated set
		p.diffChain(ct, dt, name, true)
	}
}

func allNames(ct, dt *Table) (chains, sets []string) {
	seen := map[string]bool{}
	for _, t := range []*Table{dt, ct} {
		for _, c := range t.Chains() {
			if !seen[c.Name] {
				seen[c.Name] = true
				chains = append(chains, c.Name)
			}
		}
	}
	seen = map[string]bool{}
	for _, t := range []*Table{dt, ct} {
		for _, s := range t.Sets() {
			if !seen[s.Name] {
				seen[s.Name] = true
				sets = append(sets, s.Name)
			}
		}
	}
	return chains, sets
}

func scopedNames(id TableID, scope *Scope) (chains, sets []string) {
	for _, r := range scope.Chains {
		if r.Table == id && !slices.Contains(chains, r.Name) {
			chains = append(chains, r.Name)
		}
	}
	for _, r := range scope.Sets {
		if r.Table == id && !slices.Contains(sets, r.Name) {
			sets = append(sets, r.Name)
		}
	}
	return chains, sets
}

func (p *planner) flushOnce(id TableID, name string, into *[]Op) {
	ref := ObjectRef{id, name}
	if p.flushed[ref] {
		return
	}
	if p.flushed == nil {
		p.flushed = map[ObjectRef]bool{}
	}
	p.flushed[ref] = true
	*into = append(*into, Op{Kind: OpFlushChain, Table: id, Name: name})
}

func (p *planner) diffChain(ct, dt *Table, name string, mustRewrite bool) {
	id := dt.ID()
	cur, des := ct.Chain(name), dt.Chain(name)
	switch {
	case cur == nil && des == nil:
		return
	case des == nil:
		if len(cur.Rules) > 0 {
			p.flushOnce(id, name, &p.flushRemoved)
		}
		p.delChains = append(p.delChains, Op{Kind: OpDeleteChain, Table: id, Name: name})
		return
	case cur == nil:
		p.addChains = append(p.addChains, Op{Kind: OpAddChain, Table: id, Name: name, Chain: des})
		p.addRules(id, des)
		return
	}
	if !sameHook(cur.Hook, des.Hook) {
		p.flushOnce(id, name, &p.preFlush)
		p.preDelete = append(p.preDelete, Op{Kind: OpDeleteChain, Table: id, Name: name})
		p.addChains = append(p.addChains, Op{Kind: OpAddChain, Table: id, Name: name, Chain: des})
		p.addRules(id, des)
		return
	}
	if !mustRewrite && (cur == des || cur.contentHash(ct.Family) == des.contentHash(dt.Family)) {
		return
	}
	p.flushOnce(id, name, &p.rewrite)
	p.addRules(id, des)
}

func (p *planner) addRules(id TableID, c *Chain) {
	for i := range c.Rules {
		p.rewrite = append(p.rewrite, Op{Kind: OpAddRule, Table: id, Name: c.Name, Rule: &c.Rules[i]})
	}
}

func sameHook(a, b *Hook) bool {
	if a == nil || b == nil {
		return a == b
	}
	return a.String() == b.String()
}

func (p *planner) diffSet(ct, dt *Table, name string, rewriteChains map[string]bool) {
	id := dt.ID()
	cur, des := ct.Set(name), dt.Set(name)
	switch {
	case cur == nil && des == nil:
		return
	case des == nil:
		p.delSets = append(p.delSets, Op{Kind: OpDeleteSet, Table: id, Name: name})
		return
	case cur == nil:
		p.createSet(id, des)
		return
	case !sameSetDef(cur, des):
		for _, c := range ct.Chains() {
			if chainUsesSet(c, name) {
				p.flushOnce(id, c.Name, &p.preFlush)
				rewriteChains[c.Name] = true
			}
		}
		p.preDelete = append(p.preDelete, Op{Kind: OpDeleteSet, Table: id, Name: name})
		p.createSet(id, des)
		return
	}
	if des.Dynamic {
		return
	}
	p.diffElements(id, cur, des)
}

func (p *planner) createSet(id TableID, s *Set) {
	p.addSets = append(p.addSets, Op{Kind: OpAddSet, Table: id, Name: s.Name, Set: s})
	if len(s.Elements) > 0 && !s.Dynamic {
		p.addElems = append(p.addElems, Op{Kind: OpAddElements, Table: id, Name: s.Name, Set: s, Elements: s.Elements})
	}
}

func (p *planner) diffElements(id TableID, cur, des *Set) {
	idx := newElemIndex(cur.Elements)
	seen := make([]bool, len(cur.Elements))
	var add, del []Element
	for i := range des.Elements {
		e := &des.Elements[i]
		if j := idx.find(e.Key); j >= 0 {
			seen[j] = true
			if sameElement(cur, des, &cur.Elements[j], e) {
				continue
			}
			del = append(del, cur.Elements[j])
		}
		add = append(add, *e)
	}
	for j, e := range cur.Elements { // keep the current order for stable output
		if !seen[j] {
			del = append(del, e)
		}
	}
	if len(del) > 0 {
		p.delElems = append(p.delElems, Op{Kind: OpDeleteElements, Table: id, Name: des.Name, Set: des, Elements: del})
	}
	if len(add) > 0 {
		p.addElems = append(p.addElems, Op{Kind: OpAddElements, Table: id, Name: des.Name, Set: des, Elements: add})
	}
}

// elemIndex finds elements by key through a 64-bit hash (no allocation per
// element); keys whose hash collides go to a slower exact map.
type elemIndex struct {
	elems    []Element
	seed     maphash.Seed
	byHash   map[uint64]int
	collided map[elemKey]int
}

func newElemIndex(elems []Element) *elemIndex {
	x := &elemIndex{elems: elems, seed: maphash.MakeSeed(), byHash: make(map[uint64]int, len(elems))}
	for i := range elems {
		h := x.hash(elems[i].Key)
		if j, dup := x.byHash[h]; dup && keyOf(elems[j].Key) != keyOf(elems[i].Key) {
			if x.collided == nil {
				x.collided = map[elemKey]int{}
			}
			x.collided[keyOf(elems[i].Key)] = i
			continue
		}
		x.byHash[h] = i
	}
	return x
}

func (x *elemIndex) hash(key []Value) uint64 {
	var h maphash.Hash
	h.SetSeed(x.seed)
	for _, v := range key {
		a := v.addr.As16()
		_, _ = h.Write(a[:])
		var n [6]byte
		n[0], n[1], n[2] = byte(v.typ), byte(v.bits), byte(v.num>>24)
		n[3], n[4], n[5] = byte(v.num>>16), byte(v.num>>8), byte(v.num)
		_, _ = h.Write(n[:])
		_, _ = h.WriteString(v.str)
	}
	return h.Sum64()
}

// find returns the index of the element with this key, or -1.
func (x *elemIndex) find(key []Value) int {
	if j, ok := x.byHash[x.hash(key)]; ok && keyOf(x.elems[j].Key) == keyOf(key) {
		return j
	}
	if j, ok := x.collided[keyOf(key)]; ok {
		return j
	}
	return -1
}

// elemKey is an element's key as a comparable value (keys have at most 5 fields).
type elemKey [5]Value

func keyOf(key []Value) elemKey {
	var k elemKey
	copy(k[:], key)
	return k
}

// sameElement compares two elements of sets with the same definition
// without printing them (a timeout equal to the set's default counts as none).
func sameElement(sa, sb *Set, a, b *Element) bool {
	ta, tb := a.Timeout, b.Timeout
	if ta == sa.DefaultTimeout {
		ta = 0
	}
	if tb == sb.DefaultTimeout {
		tb = 0
	}
	return ta == tb && a.Comment == b.Comment && keyOf(a.Key) == keyOf(b.Key) &&
		(a.Verdict == nil) == (b.Verdict == nil) && (a.Verdict == nil || *a.Verdict == *b.Verdict) &&
		(a.Data == nil) == (b.Data == nil) && (a.Data == nil || *a.Data == *b.Data)
}

func sameSetDef(a, b *Set) bool {
	return slices.Equal(a.Key, b.Key) && a.Interval == b.Interval && a.Verdict == b.Verdict && a.Data == b.Data && a.Timeout == b.Timeout &&
		a.Dynamic == b.Dynamic && a.DefaultTimeout == b.DefaultTimeout && a.size() == b.size() && a.Comment == b.Comment
}

func chainUsesSet(c *Chain, set string) bool {
	for _, r := range c.Rules {
		for _, s := range r.Stmts {
			if slices.Contains(stmtSets(s), set) {
				return true
			}
		}
	}
	return false
}

// stmtSets lists the sets and maps a statement references.
func stmtSets(s Stmt) []string {
	switch s := s.(type) {
	case Lookup:
		return []string{s.Set}
	case VMap:
		return []string{s.Map}
	case NumgenVMap:
		return []string{s.Map}
	case UpdateSet:
		return []string{s.Set}
	}
	return nil
}

// stmtChain returns the chain a statement jumps to, if any.
func stmtChain(s Stmt) string {
	if v, ok := s.(Verdict); ok && (v.Kind == VerdictJump || v.Kind == VerdictGoto) {
		return v.Chain
	}
	return ""
}
