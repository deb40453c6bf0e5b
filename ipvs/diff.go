package ipvs

import (
	"cmp"
	"iter"
	"maps"
	"net/netip"
	"slices"
	"strings"
	"sync"
)

// Changed names what may differ between two states. Diff then looks at these
// objects only (plus the virtual servers with terminating real servers), so
// its cost follows the change.
type Changed struct {
	Services  []VSKey
	Addresses []netip.Addr
	Sets      []string // whole sets are compared
}

// DiffOptions tune Diff.
type DiffOptions struct {
	// Changed limits the comparison; nil compares everything.
	Changed *Changed
	// Terminating, when set, removes real servers gracefully (weight 0 first,
	// deletion once drained or expired) and is updated by Diff: Diff records
	// real servers it starts terminating and forgets the ones it deletes or
	// restores. nil deletes removed real servers at once.
	Terminating *Terminating
}

// Diff returns the operations that turn current into desired, in OpKind
// order: sets and entries are added first, then addresses, virtual servers
// and real servers; deletions follow in the reverse order. Nil states are
// empty. Equal states give no operations.
func Diff(current, desired *State, opts DiffOptions) Ops {
	if current == nil {
		current = &State{}
	}
	if desired == nil {
		desired = &State{}
	}
	d := differ{cur: current, des: desired, term: opts.Terminating, buckets: map[OpKind]Ops{}}
	if ch := opts.Changed; ch != nil {
		services := ch.Services
		if d.term != nil {
			services = slices.Concat(services, d.term.Services())
		}
		forEachOnce(slices.Values(ch.Sets), d.set)
		forEachOnce(slices.Values(ch.Addresses), d.address)
		forEachOnce(slices.Values(services), d.service)
	} else {
		// The sets and addresses (their kinds of operation only) on a
		// goroutine of their own, beside the virtual servers.
		other := differ{cur: current, des: desired, buckets: map[OpKind]Ops{}}
		var wg sync.WaitGroup
		wg.Go(func() {
			forEachKey(current.Sets, desired.Sets, other.set)
			forEachPair(current.Addresses, desired.Addresses, other.addressPair)
		})
		d.diffServices()
		wg.Wait()
		maps.Copy(d.buckets, other.buckets)
	}
	var ops Ops
	for k := OpCreateSet; k <= OpDestroySet; k++ {
		b := d.buckets[k]
		slices.SortStableFunc(b, compareOps)
		ops = append(ops, b...)
	}
	return ops
}

// forEachKey calls f once for every key of a or b (in map order: Diff
// sorts the operations afterwards, which is cheaper than sorting all keys).
func forEachKey[K comparable, V any](a, b map[K]V, f func(K)) {
	forEachPair(a, b, func(k K, _ V, _ bool, _ V, _ bool) { f(k) })
}

// forEachPair calls f once for every key of a or b, with its value in a
// and in b (the zero value where absent) and whether each holds it: one
// lookup per key of a, and a second walk, over b, only when b holds keys
// that a lacks.
func forEachPair[K comparable, V any](a, b map[K]V, f func(k K, x V, inA bool, y V, inB bool)) {
	both := 0
	for k, x := range a {
		y, ok := b[k]
		if ok {
			both++
		}
		f(k, x, true, y, ok)
	}
	if both == len(b) {
		return
	}
	var none V
	for k, y := range b {
		if _, ok := a[k]; !ok {
			f(k, none, false, y, true)
		}
	}
}

// forEachOnce calls f once for every distinct key of seq.
func forEachOnce[K comparable](seq iter.Seq[K], f func(K)) {
	seen := map[K]struct{}{}
	for k := range seq {
		if _, ok := seen[k]; !ok {
			seen[k] = struct{}{}
			f(k)
		}
	}
}

// compareOps orders the operations of one bucket: by set, address, virtual
// server, real server, entry; a set's destruction before its re-creation.
func compareOps(a, b Op) int {
	return cmp.Or(
		strings.Compare(setName(a), setName(b)),
		cmp.Compare(destroyFirst(a), destroyFirst(b)),
		a.Addr.Compare(b.Addr),
		compareVS(a.VS, b.VS),
		a.Real.Addr.Compare(b.Real.Addr),
		cmp.Compare(a.Real.Port, b.Real.Port),
		compareEntries(a.Entry, b.Entry),
	)
}

func setName(o Op) string {
	if o.Set == nil {
		return ""
	}
	return o.Set.Name
}

func destroyFirst(o Op) int {
	if o.Kind == OpDestroySet {
		return 0
	}
	return 1
}

func compareVS(a, b *VirtualServer) int {
	switch {
	case a == nil && b == nil:
		return 0
	case a == nil:
		return -1
	case b == nil:
		return 1
	}
	return compareKeys(a.VSKey, b.VSKey)
}

type differ struct {
	cur, des *State
	term     *Terminating
	buckets  map[OpKind]Ops
}

func (d *differ) emit(o Op) { d.buckets[o.Kind] = append(d.buckets[o.Kind], o) }

func (d *differ) address(a netip.Addr) {
	_, have := d.cur.Addresses[a]
	_, want := d.des.Addresses[a]
	d.addressPair(a, struct{}{}, have, struct{}{}, want)
}

func (d *differ) addressPair(a netip.Addr, _ struct{}, have bool, _ struct{}, want bool) {
	switch {
	case want && !have:
		d.emit(Op{Kind: OpAddAddress, Addr: a})
	case have && !want:
		d.emit(Op{Kind: OpDelAddress, Addr: a})
	}
}

func (d *differ) set(name string) {
	cur, des := d.cur.Sets[name], d.des.Sets[name]
	switch {
	case cur != nil && des == nil:
		d.emit(Op{Kind: OpDestroySet, Set: cur})
		return
	case cur != nil && !cur.SameSpec(des):
		// Recreate: the destroy must come before the create.
		d.buckets[OpCreateSet] = append(d.buckets[OpCreateSet], Op{Kind: OpDestroySet, Set: cur})
		cur = nil
	}
	if des == nil {
		return
	}
	if cur == nil {
		d.emit(Op{Kind: OpCreateSet, Set: des.Spec()})
		cur = &IPSet{}
	}
	spec := des.Spec()
	adds, dels := diffEntries(&cur.entries, &des.entries)
	for _, e := range adds {
		d.emit(Op{Kind: OpAddEntry, Set: spec, Entry: e})
	}
	for _, e := range dels {
		d.emit(Op{Kind: OpDelEntry, Set: spec, Entry: e})
	}
}

func (d *differ) service(k VSKey) {
	d.servicePair(k, d.cur.Services[k], true, d.des.Services[k], true)
}

// servicePair diffs the virtual server k, cur and des (nil where absent).
func (d *differ) servicePair(k VSKey, cur *VirtualServer, _ bool, des *VirtualServer, _ bool) {
	switch {
	case cur == des: // the same object (or both nil): nothing terminates
		if d.term != nil && d.term.has(k) {
			d.term.prune(k, nil)
		}
		return
	case cur == nil:
		d.emit(Op{Kind: OpAddService, VS: des.Settings()})
		for _, r := range sortedReals(des.Reals) {
			d.emit(Op{Kind: OpAddReal, VS: des, Real: r})
		}
	case des == nil:
		d.emit(Op{Kind: OpDelService, VS: cur.Clone()})
	default:
		if !cur.SameSettings(des) {
			d.emit(Op{Kind: OpUpdateService, VS: des.Settings(), Prev: cur.Settings()})
		}
		d.reals(cur, des)
	}
	if d.term != nil && d.term.has(k) {
		// Forget real servers that are gone from the kernel, or all of them
		// when the virtual server goes.
		if des == nil {
			cur = nil
		}
		d.term.prune(k, cur)
	}
}

// reals diffs the real servers of one virtual server present on both sides.
func (d *differ) reals(cur, des *VirtualServer) {
	if sameReals(cur.Reals, des.Reals) {
		if d.term != nil && d.term.has(des.VSKey) {
			for _, r := range des.Reals {
				d.term.forget(des.VSKey, r.Key())
			}
		}
		return // the common case: same servers in the same order
	}
	curIdx, desIdx := indexReals(cur.Reals), indexReals(des.Reals)
	restoring := d.term != nil && d.term.has(des.VSKey)
	for _, r := range sortedReals(des.Reals) {
		i := curIdx(r.Key())
		switch {
		case i < 0:
			d.emit(Op{Kind: OpAddReal, VS: des, Real: r})
		case !cur.Reals[i].Equal(r):
			d.emit(Op{Kind: OpUpdateReal, VS: des, Real: r, PrevReal: cur.Reals[i]})
		}
		if i >= 0 && restoring {
			d.term.forget(des.VSKey, r.Key())
		}
	}
	for _, r := range sortedReals(cur.Reals) {
		if desIdx(r.Key()) >= 0 {
			continue
		}
		if d.term == nil {
			d.emit(Op{Kind: OpDelReal, VS: cur, Real: r})
		} else if o, ok := d.term.removed(cur, r); ok {
			d.emit(o)
		}
	}
}

// sameReals reports whether a and b hold equal real servers in the same
// order.
func sameReals(a, b []RealServer) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if !a[i].equal(&b[i]) {
			return false
		}
	}
	return true
}

// sortedReals returns rs in order (a copy when it had to sort).
func sortedReals(rs []RealServer) []RealServer {
	less := func(a, b RealServer) int {
		if c := a.Addr.Compare(b.Addr); c != 0 {
			return c
		}
		return int(a.Port) - int(b.Port)
	}
	if slices.IsSortedFunc(rs, less) {
		return rs
	}
	rs = slices.Clone(rs)
	slices.SortFunc(rs, less)
	return rs
}

// indexReals returns a lookup from key to index in rs, -1 when absent: a
// linear scan for short lists, a map for long ones.
func indexReals(rs []RealServer) func(RSKey) int {
	if len(rs) <= 16 {
		return func(k RSKey) int { return findReal(rs, k) }
	}
	m := make(map[RSKey]int, len(rs))
	for i, r := range rs {
		m[r.Key()] = i
	}
	return func(k RSKey) int {
		if i, ok := m[k]; ok {
			return i
		}
		return -1
	}
}
