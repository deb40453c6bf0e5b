package nftables

import (
	"net/netip"

	"github.com/proxykit/proxykit/nat"
	"github.com/proxykit/proxykit/rulegen"
	"github.com/proxykit/proxykit/servicemodel"
)

// famRenderer renders one family's tables (one per shard).
type famRenderer struct {
	r                  *renderer
	fam                Family
	saddr, daddr       Field
	addrType           DataType
	plan               *rulegen.Plan
	mark               nat.Mark
	nodePortAddrs      []netip.Addr
	nodePortAllLocal   bool
	localhostNodePorts bool
	shards             []*shardState
}

// shardState is one table and the fragments of the ports it serves.
type shardState struct {
	index  int
	table  *Table
	frags  map[servicemodel.ServicePortName]*fragment
	cloned bool // the table was cloned during this update
	dirty  [numSharedMaps]bool
}

// fragment is what one service port contributes to its shard: its own
// chains and sets, and its elements of the shared maps.
type fragment struct {
	chains []*Chain
	sets   []*Set
	elems  [numSharedMaps][]Element
}

func newFamRenderer(r *renderer, f Family, plan *rulegen.Plan) *famRenderer {
	fr := &famRenderer{r: r, fam: f, saddr: IPSAddr, daddr: IPDAddr, addrType: TypeIPv4Addr}
	if f == FamilyIPv6 {
		fr.saddr, fr.daddr, fr.addrType = IP6SAddr, IP6DAddr, TypeIPv6Addr
	}
	fr.setPlan(plan)
	return fr
}

// renderAll renders every port of plan into fresh tables.
func (fr *famRenderer) renderAll(plan *rulegen.Plan) {
	n := fr.r.shards
	perShard := plan.Len()/n + 1
	fr.shards = make([]*shardState, n)
	for i := range fr.shards {
		t := NewTable(fr.fam, fr.r.opts.ShardName(i))
		t.Reserve(perShard*16, perShard*2)
		for _, c := range fr.staticChains(i) {
			_ = t.AddChain(c) // static names are valid and distinct
		}
		fr.shards[i] = &shardState{index: i, table: t, frags: make(map[servicemodel.ServicePortName]*fragment, perShard)}
	}
	mf := modelFamily(fr.fam)
	for _, name := range plan.Names() {
		sp, _ := plan.Get(name)
		pp := sp.Family(mf)
		if pp == nil {
			continue
		}
		sh := fr.shards[shardOf(name, n)]
		frag := fr.renderPort(pp)
		sh.frags[name] = frag
		for _, c := range frag.chains {
			_ = sh.table.ReplaceChain(c)
		}
		for _, s := range frag.sets {
			_ = sh.table.ReplaceSet(s)
		}
	}
	for _, sh := range fr.shards {
		sh.dirty = [numSharedMaps]bool{true, true, true, true}
		fr.rebuildMaps(sh)
	}
}

// updatePorts re-renders the changed ports and records in scope every
// chain and set that may differ.
func (fr *famRenderer) updatePorts(changed []servicemodel.ServicePortName, scope *Scope) {
	mf := modelFamily(fr.fam)
	for _, name := range changed {
		sh := fr.shards[shardOf(name, fr.r.shards)]
		if !sh.cloned {
			sh.table, sh.cloned = sh.table.Clone(), true
		}
		old := sh.frags[name]
		next := &fragment{}
		if sp, ok := fr.plan.Get(name); ok && sp.Family(mf) != nil {
			next = fr.renderPort(sp.Family(mf))
			sh.frags[name] = next
		} else {
			delete(sh.frags, name)
		}
		if old == nil {
			old = &fragment{}
		}
		fr.replace(sh, old, next, scope)
	}
	for _, sh := range fr.shards {
		if sh.cloned {
			fr.rebuildMaps(sh)
			for m := range numSharedMaps {
				if sh.dirty[m] {
					scope.Sets = append(scope.Sets, ObjectRef{Table: sh.table.ID(), Name: m.name()})
				}
			}
		}
		sh.cloned, sh.dirty = false, [numSharedMaps]bool{}
	}
}

// replace puts a port's new chains and sets in place of its old ones.
func (fr *famRenderer) replace(sh *shardState, old, next *fragment, scope *Scope) {
	id := sh.table.ID()
	ref := func(refs *[]ObjectRef) func(string) {
		return func(name string) { *refs = append(*refs, ObjectRef{Table: id, Name: name}) }
	}
	swap(old.chains, next.chains, func(c *Chain) string { return c.Name },
		func(c *Chain) { _ = sh.table.ReplaceChain(c) }, sh.table.RemoveChain, ref(&scope.Chains))
	swap(old.sets, next.sets, func(s *Set) string { return s.Name },
		func(s *Set) { _ = sh.table.ReplaceSet(s) }, sh.table.RemoveSet, ref(&scope.Sets))
	for m := range numSharedMaps {
		if len(old.elems[m]) > 0 || len(next.elems[m]) > 0 {
			sh.dirty[m] = true
		}
	}
}

// swap puts every object of next and removes those of old that next lacks,
// reporting each name it touches.
func swap[T any](old, next []T, name func(T) string, put func(T), remove, touched func(string)) {
	keep := make(map[string]bool, len(next))
	for _, o := range next {
		keep[name(o)] = true
		put(o)
		touched(name(o))
	}
	for _, o := range old {
		if n := name(o); !keep[n] {
			remove(n)
			touched(n)
		}
	}
}

// rebuildMaps rewrites the shard's dirty shared maps from its fragments, in
// the plan's name order.
func (fr *famRenderer) rebuildMaps(sh *shardState) {
	var sets [numSharedMaps]*Set
	for m := range numSharedMaps {
		if sh.dirty[m] {
			sets[m] = fr.sharedMapDef(m)
		}
	}
	// A key two services claim (an external IP shared on one port) goes
	// to the first in name order, as the first matching rule would.
	var seen [numSharedMaps]map[[3]Value]bool
	for _, name := range fr.plan.Names() {
		f := sh.frags[name]
		if f == nil {
			continue
		}
		for m, s := range sets {
			if s == nil {
				continue
			}
			if seen[m] == nil {
				seen[m] = make(map[[3]Value]bool, len(sh.frags))
			}
			for _, e := range f.elems[m] {
				var k [3]Value
				copy(k[:], e.Key)
				if !seen[m][k] {
					seen[m][k] = true
					s.Elements = append(s.Elements, e)
				}
			}
		}
	}
	for _, s := range sets {
		if s != nil {
			_ = sh.table.ReplaceSet(s)
		}
	}
}
