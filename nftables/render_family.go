package nftables

import (
	"net/netip"
	"runtime"
	"slices"
	"sync"
	"sync/atomic"

	"github.com/proxykit/proxykit/internal/hashindex"
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
	markMasq          Stmt    // sets the masquerade mark
	protoStmts        [3]Stmt // MatchProto of tcp, udp, sctp
	saddrKey          []Field // the source address as a set key
	numgenKeys        []Value // Int(0), Int(1), ...: numgen map keys
	numgenType        []DataType
	addrKeyType       []DataType // an address set's key
	shards            []*shardState
}

// shardState is one table and the fragments of the ports it serves.
type shardState struct {
	index  int
	table  *Table
	names  []servicemodel.ServicePortName // sorted
	frags  []*fragment                    // of names
	cloned bool                           // the table was cloned during this update
	dirty  [numSharedMaps]bool
}

// fragment is what one service port contributes to its shard: its own
// chains and sets, and its elements of the shared maps. valid says that
// its chains and sets passed the checks of Table.AddChain and AddSet when
// rendered (their names are the port's id and addresses with fixed
// prefixes, and the sets are valid by construction).
type fragment struct {
	chains    []*Chain
	hashes    []uint64 // of the chains' names (nameHash)
	sets      []*Set
	setHashes []uint64 // of the sets' names
	elems     [numSharedMaps][]Element
	valid     bool
}

func newFamRenderer(r *renderer, f Family, plan *rulegen.Plan) *famRenderer {
	fr := &famRenderer{r: r, fam: f, saddr: IPSAddr, daddr: IPDAddr, addrType: TypeIPv4Addr}
	if f == FamilyIPv6 {
		fr.saddr, fr.daddr, fr.addrType = IP6SAddr, IP6DAddr, TypeIPv6Addr
	}
	fr.saddrKey, fr.numgenType, fr.addrKeyType = []Field{fr.saddr}, []DataType{TypeNumgen}, []DataType{fr.addrType}
	for i, p := range [...]uint8{6, 17, 132} {
		fr.protoStmts[i] = MatchProto{Proto: p}
	}
	fr.numgenKeys = make([]Value, 256)
	for i := range fr.numgenKeys {
		fr.numgenKeys[i] = Int(uint32(i))
	}
	fr.setPlan(plan)
	return fr
}

// renderAll renders every port of plan (sps are the plan's entries in
// name order) into fresh tables, in two parallel passes: every CPU renders
// chunks of ports, each chunk from one arena; then every CPU builds whole
// shards, one after the other, so that a table and its name index stay in
// cache while they grow.
func (fr *famRenderer) renderAll(names []servicemodel.ServicePortName, sps []*rulegen.ServicePlan) {
	mf := modelFamily(fr.fam)
	n := fr.r.shards
	byShard := make([][]int32, n) // port indexes, in name order
	for i, name := range names {
		if sps[i].Family(mf) != nil {
			s := shardOf(name, n)
			byShard[s] = append(byShard[s], int32(i))
		}
	}
	const chunk = 128
	frags := make([]*fragment, len(names))
	parallel((len(names)+chunk-1)/chunk, 1, func(c int) {
		fr.renderChunk(sps[c*chunk:min((c+1)*chunk, len(names))], frags[c*chunk:])
	})
	fr.shards = make([]*shardState, n)
	parallel(n, 1, func(s int) {
		sh := &shardState{index: s, frags: make([]*fragment, len(byShard[s])),
			names: make([]servicemodel.ServicePortName, len(byShard[s]))}
		for k, i := range byShard[s] {
			sh.frags[k], sh.names[k] = frags[i], names[i]
		}
		fr.fillShard(sh)
		fr.shards[s] = sh
	})
}

// renderChunk renders the family's plans of sps into frags, from one arena.
func (fr *famRenderer) renderChunk(sps []*rulegen.ServicePlan, frags []*fragment) {
	mf := modelFamily(fr.fam)
	var size arenaSize
	sizes := make([]arenaSize, len(sps))
	for i, sp := range sps {
		if pp := sp.Family(mf); pp != nil {
			sizes[i] = portSize(pp)
			size.add(sizes[i])
		}
	}
	w := fr.newPortWriter(newArena(size))
	for i, sp := range sps {
		if pp := sp.Family(mf); pp != nil {
			frags[i] = w.renderSized(pp, sizes[i])
		}
	}
}

// fillShard builds a shard's table from its fragments: the static chains,
// the ports' chains and sets (room reserved for exactly these) and the
// shared maps.
func (fr *famRenderer) fillShard(sh *shardState) {
	var chains, sets int
	for _, f := range sh.frags {
		chains, sets = chains+len(f.chains), sets+len(f.sets)
	}
	sh.table = NewTable(fr.fam, fr.r.opts.ShardName(sh.index))
	sh.table.Reserve(chains+6, sets+2) // and the static chains and maps
	for _, c := range fr.staticChains(sh.index) {
		_ = sh.table.AddChain(c) // static names are valid and distinct
	}
	for _, f := range sh.frags {
		sh.add(f)
	}
	sh.dirty = [numSharedMaps]bool{true, true}
	fr.rebuildMaps(sh)
	sh.dirty = [numSharedMaps]bool{}
}

// add adds a port's chains and sets to the shard's table.
func (sh *shardState) add(f *fragment) {
	if f.valid { // checked when rendered: only a name clash can fail
		for i, c := range f.chains {
			if !sh.table.chains.addHashed(f.hashes[i], c) {
				sh.table.chains.replace(c.Name, c)
			}
		}
		for i, set := range f.sets {
			if !sh.table.sets.addHashed(f.setHashes[i], set) {
				sh.table.sets.replace(set.Name, set)
			}
		}
		return
	}
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
	var size arenaSize
	for _, name := range changed {
		if sp, ok := fr.plan.Get(name); ok && sp.Family(mf) != nil {
			size.add(portSize(sp.Family(mf)))
		}
	}
	w := fr.newPortWriter(newArena(size))
	for _, name := range changed {
		sh := fr.shards[shardOf(name, fr.r.shards)]
		if !sh.cloned {
			sh.table, sh.cloned = sh.table.Clone(), true
		}
		old, next := &fragment{}, &fragment{}
		i, found := slices.BinarySearchFunc(sh.names, name, servicemodel.ServicePortName.Compare)
		if found {
			old = sh.frags[i]
		}
		if sp, ok := fr.plan.Get(name); ok && sp.Family(mf) != nil {
			next = w.render(sp.Family(mf))
			if found {
				sh.frags[i] = next
			} else {
				sh.names, sh.frags = slices.Insert(sh.names, i, name), slices.Insert(sh.frags, i, next)
			}
		} else if found {
			sh.names, sh.frags = slices.Delete(sh.names, i, i+1), slices.Delete(sh.frags, i, i+1)
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

// mapKey is a shared map's key in a compact, cheaply hashed form.
type mapKey struct {
	addr  netip.Addr
	proto uint32
	port  uint32
}

func newMapKey(k []Value) mapKey {
	var mk mapKey
	if len(k) == 3 {
		mk.addr, k = k[0].addr, k[1:]
	}
	if len(k) == 2 {
		mk.proto, mk.port = k[0].num, k[1].num
	}
	return mk
}

// packed returns the key in 64 bits when it fits (no address or an IPv4
// one, a protocol number and a port), so that keys can be told apart
// without a map of structs.
func (mk mapKey) packed() (uint64, bool) {
	if mk.proto > 0xff || mk.port > 0xffff || (mk.addr.IsValid() && !mk.addr.Is4()) {
		return 0, false
	}
	x := uint64(mk.proto)<<32 | uint64(mk.port)<<40
	if mk.addr.IsValid() {
		a := mk.addr.As4()
		x |= 1<<56 | uint64(a[0])<<24 | uint64(a[1])<<16 | uint64(a[2])<<8 | uint64(a[3])
	}
	return x, true
}

// keySeen tells whether a shared map's key was seen before.
type keySeen struct {
	packed     hashindex.Index // index into keys
	keys       []uint64        // the packed keys indexed
	other      map[mapKey]struct{}
	packedMore map[uint64]struct{} // packed keys whose tag another holds
}

func (s *keySeen) reserve(n int) {
	s.packed.Reserve(n)
	s.keys = make([]uint64, 0, n)
}

// add records k; false when it was seen before.
func (s *keySeen) add(k mapKey) bool {
	if x, ok := k.packed(); ok {
		return s.addPacked(x)
	}
	return addNew(&s.other, k)
}

// addPacked records the packed key x; false when it was seen before.
func (s *keySeen) addPacked(x uint64) bool {
	i, added := s.packed.Insert(x, int32(len(s.keys)))
	if added {
		s.keys = append(s.keys, x)
		return true
	}
	if s.keys[i] == x {
		return false
	}
	return addNew(&s.packedMore, x)
}

// addNew adds k to the set *m (made when nil); false if it was there.
func addNew[K comparable](m *map[K]struct{}, k K) bool {
	if _, dup := (*m)[k]; dup {
		return false
	}
	if *m == nil {
		*m = map[K]struct{}{}
	}
	(*m)[k] = struct{}{}
	return true
}

// rebuildMaps rewrites the shard's dirty shared maps from its fragments, in
// name order.
func (fr *famRenderer) rebuildMaps(sh *shardState) {
	for m := range numSharedMaps {
		if !sh.dirty[m] {
			continue
		}
		s := fr.sharedMapDef(m)
		n := 0
		for _, f := range sh.frags {
			n += len(f.elems[m])
		}
		s.Elements = make([]Element, 0, n)
		// A key two services claim (an external IP shared on one port)
		// goes to the first in name order, as the first matching rule
		// would.
		var seen keySeen
		seen.reserve(n)
		for _, f := range sh.frags {
			for _, e := range f.elems[m] {
				if seen.add(newMapKey(e.Key)) {
					s.Elements = append(s.Elements, e)
				}
			}
		}
		_ = sh.table.ReplaceSet(s)
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
