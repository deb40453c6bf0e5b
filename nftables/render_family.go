package nftables

import (
	"net/netip"
	"runtime"
	"slices"
	"sync"
	"sync/atomic"

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
	// shared by every port's rules (never modified)
	isLocal, notLocal Stmt    // the local-traffic detector; nil without one
	saddrKey          []Field // the source address as a set key
	numgenKeys        []Value // Int(0), Int(1), ...: numgen map keys
	shards            []*shardState
}

// shardState is one table and the fragments of the ports it serves.
type shardState struct {
	index  int
	table  *Table
	frags  map[servicemodel.ServicePortName]*fragment
	names  []servicemodel.ServicePortName // of frags, sorted
	cloned bool                           // the table was cloned during this update
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
	fr.saddrKey = []Field{fr.saddr}
	fr.numgenKeys = make([]Value, 256)
	for i := range fr.numgenKeys {
		fr.numgenKeys[i] = Int(uint32(i))
	}
	fr.setPlan(plan)
	return fr
}

// renderAll renders every port of plan into fresh tables. Workers render
// the ports chunk by chunk while one builder per shard (as many at once as
// there are CPUs) adds each finished chunk's fragments to its table, in
// name order.
func (fr *famRenderer) renderAll(plan *rulegen.Plan) {
	names := plan.Names()
	mf := modelFamily(fr.fam)
	n := fr.r.shards
	members := make([][]int, n)
	sizes := make([][2]int, n) // chains, sets: an estimate for Reserve
	for i, name := range names {
		sp, _ := plan.Get(name)
		if pp := sp.Family(mf); pp != nil {
			s := shardOf(name, n)
			members[s] = append(members[s], i)
			eps := max(len(pp.ClusterEndpoints), len(pp.LocalEndpoints))
			sizes[s][0] += eps + 3
			sizes[s][1] += 2
		}
	}
	const chunk = 128
	frags := make([]*fragment, len(names))
	done := make([]chan struct{}, (len(names)+chunk-1)/chunk)
	for c := range done {
		done[c] = make(chan struct{})
	}
	fr.shards = make([]*shardState, n)
	var wg sync.WaitGroup
	wg.Go(func() {
		parallel(len(done), 1, func(c int) {
			for i := c * chunk; i < min((c+1)*chunk, len(names)); i++ {
				if sp, _ := plan.Get(names[i]); sp.Family(mf) != nil {
					frags[i] = fr.renderPort(sp.Family(mf))
				}
			}
			close(done[c])
		})
	})
	parallel(n, 1, func(s int) {
		sh := fr.newShard(s, sizes[s], len(members[s]))
		for _, i := range members[s] {
			<-done[i/chunk]
			sh.add(names[i], frags[i])
		}
		sh.dirty = [numSharedMaps]bool{true, true}
		fr.rebuildMaps(sh)
		sh.dirty = [numSharedMaps]bool{}
		fr.shards[s] = sh
	})
	wg.Wait()
}

// newShard returns shard s's table with its static chains, room reserved
// for about size chains and sets.
func (fr *famRenderer) newShard(s int, size [2]int, ports int) *shardState {
	t := NewTable(fr.fam, fr.r.opts.ShardName(s))
	t.Reserve(size[0]+16, size[1]+8)
	for _, c := range fr.staticChains(s) {
		_ = t.AddChain(c) // static names are valid and distinct
	}
	return &shardState{index: s, table: t, frags: make(map[servicemodel.ServicePortName]*fragment, ports),
		names: make([]servicemodel.ServicePortName, 0, ports)}
}

// add adds a port's fragment to a shard being built (names in order).
func (sh *shardState) add(name servicemodel.ServicePortName, f *fragment) {
	sh.frags[name] = f
	sh.names = append(sh.names, name)
	for _, c := range f.chains {
		if sh.table.AddChain(c) != nil {
			_ = sh.table.ReplaceChain(c)
		}
	}
	for _, set := range f.sets {
		if sh.table.AddSet(set) != nil {
			_ = sh.table.ReplaceSet(set)
		}
	}
}

// parallel calls f(0..n-1) on GOMAXPROCS goroutines, handing out chunk
// indexes at a time.
func parallel(n, chunk int, f func(int)) {
	workers := min(runtime.GOMAXPROCS(0), (n+chunk-1)/chunk)
	if workers <= 1 {
		for i := range n {
			f(i)
		}
		return
	}
	var next atomic.Int64
	var wg sync.WaitGroup
	for range workers {
		wg.Go(func() {
			for {
				start := int(next.Add(int64(chunk))) - chunk
				if start >= n {
					return
				}
				for i := start; i < min(start+chunk, n); i++ {
					f(i)
				}
			}
		})
	}
	wg.Wait()
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
		i, found := slices.BinarySearchFunc(sh.names, name, servicemodel.ServicePortName.Compare)
		if sp, ok := fr.plan.Get(name); ok && sp.Family(mf) != nil {
			next = fr.renderPort(sp.Family(mf))
			sh.frags[name] = next
			if !found {
				sh.names = slices.Insert(sh.names, i, name)
			}
		} else if found {
			delete(sh.frags, name)
			sh.names = slices.Delete(sh.names, i, i+1)
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
// name order.
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
	for _, name := range sh.names {
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

// numgenKey returns the key of a numgen map's i-th element, shared between
// maps for the common indexes (keys are never modified).
func (fr *famRenderer) numgenKey(i int) []Value {
	if i < len(fr.numgenKeys) {
		return fr.numgenKeys[i : i+1 : i+1]
	}
	return []Value{Int(uint32(i))}
}
