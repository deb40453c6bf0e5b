package lb

import (
	"net/netip"
	"slices"
	"sync"
	"time"
)

// locality is lblc or lblcr, IPVS's locality-based least-connection
// schedulers, simplified as follows.
//
// Both remember, per destination address (PickKey.Dest's address), the
// backend (lblc) or set of backends (lblcr) that served it, in a cache under
// a mutex. A backend is overloaded when its open connections exceed its
// weight while some live backend has fewer than half its weight in open
// connections.
//
//   - lblc uses the remembered backend unless it is gone, has weight 0, or
//     is overloaded; then it picks by wlc and remembers that one instead.
//   - lblcr uses the least loaded (per weight) live member of the set unless
//     it is overloaded; then it picks by wlc and adds that backend to the
//     set. When the set has more than one member and has not changed for the
//     expiry period, its most loaded member is dropped.
//
// Entries unused for the expiry period (WithLocalityExpiry, default 24h as
// IPVS) are forgotten when next looked up. When the cache holds its maximum
// (WithLocalityCacheSize, default 16384), expired entries are swept, and if
// that leaves it full, arbitrary entries until it is 3/4 full. Remembering a
// new destination allocates; picks for known destinations do not.
type locality struct {
	core[map[string]int32] // backend ID -> index into all
	replicate              bool
	expiry                 int64 // nanoseconds
	capacity               int
	now                    func() time.Time

	mu    sync.Mutex
	cache map[netip.Addr]*localEntry
}

type localEntry struct {
	ids     []string // backend IDs: one for lblc, a set for lblcr
	lastUse int64    // unix nanoseconds
	lastMod int64
}

func newLBLC(bs []Backend, o *options) (Scheduler, error) {
	return newLocality(LocalityBasedLeastConnection, false, bs, o)
}

func newLBLCR(bs []Backend, o *options) (Scheduler, error) {
	return newLocality(LocalityBasedLeastConnectionRepl, true, bs, o)
}

func newLocality(name string, replicate bool, bs []Backend, o *options) (Scheduler, error) {
	s := &locality{
		replicate: replicate,
		expiry:    int64(o.expiry),
		capacity:  o.cacheSize,
		now:       o.now,
		cache:     map[netip.Addr]*localEntry{},
	}
	return made(s, s.init(name, true, bs, indexByID))
}

func indexByID(s *set, _ *view[map[string]int32]) map[string]int32 {
	m := make(map[string]int32, len(s.all))
	for i, b := range s.all {
		m[b.ID] = int32(i)
	}
	return m
}

func (s *locality) Pick(k PickKey) (Backend, error) {
	v := s.cur.Load()
	if len(v.live) == 0 {
		return Backend{}, ErrNoBackend
	}
	now := s.now().UnixNano()
	dst := k.Dest.Addr()
	s.mu.Lock()
	defer s.mu.Unlock()
	e := s.cache[dst]
	if e != nil && now-e.lastUse > s.expiry {
		delete(s.cache, dst)
		e = nil
	}
	i := int32(-1)
	if e != nil {
		e.lastUse = now
		i = s.fromEntry(v, e, now)
	}
	if i < 0 {
		i = leastLoaded(v.set, ruleWLC, false)
		s.remember(dst, e, v.all[i].ID, now)
	}
	return s.chosen(v, i)
}

// fromEntry prunes e of backends that are gone or have weight 0, and
// returns the member to use, or -1 when none is usable.
func (s *locality) fromEntry(v *view[map[string]int32], e *localEntry, now int64) int32 {
	e.ids = slices.DeleteFunc(e.ids, func(id string) bool {
		i, ok := v.x[id]
		return !ok || v.all[i].Weight == 0
	})
	if s.replicate && len(e.ids) > 1 && now-e.lastMod > s.expiry {
		worst := s.member(v, e, true)
		e.ids = slices.DeleteFunc(e.ids, func(id string) bool { return v.x[id] == worst })
		e.lastMod = now
	}
	if len(e.ids) == 0 {
		return -1
	}
	best := s.member(v, e, false)
	if overloaded(v.set, best) {
		return -1
	}
	return best
}

// member returns the least loaded member of e by wlc's measure, or with
// most the most loaded (e.ids is not empty).
func (s *locality) member(v *view[map[string]int32], e *localEntry, most bool) int32 {
	best := v.x[e.ids[0]]
	for _, id := range e.ids[1:] {
		i := v.x[id]
		a, b := v.all[i], v.all[best]
		if most {
			a, b = b, a
		}
		if ruleWLC.less(a.Active(), int64(a.Weight), b.Active(), int64(b.Weight)) {
			best = i
		}
	}
	return best
}

// remember records id for dst: replacing (lblc) or joining (lblcr) the
// existing entry e, or in a new entry when e is nil.
func (s *locality) remember(dst netip.Addr, e *localEntry, id string, now int64) {
	if e == nil {
		if len(s.cache) >= s.capacity {
			s.evict(now)
		}
		s.cache[dst] = &localEntry{ids: []string{id}, lastUse: now, lastMod: now}
		return
	}
	e.lastMod = now
	switch {
	case !s.replicate:
		e.ids = append(e.ids[:0], id)
	case !slices.Contains(e.ids, id):
		e.ids = append(e.ids, id)
	}
}

// evict makes room in a full cache.
func (s *locality) evict(now int64) {
	for dst, e := range s.cache {
		if now-e.lastUse > s.expiry {
			delete(s.cache, dst)
		}
	}
	if len(s.cache) < s.capacity {
		return
	}
	for dst := range s.cache {
		if len(s.cache) < max(1, s.capacity*3/4) {
			break
		}
		delete(s.cache, dst)
	}
}

// overloaded is IPVS's test: i has more open connections than its weight
// and some live backend has fewer than half its weight.
func overloaded(s *set, i int32) bool {
	if s.all[i].Active() <= int64(s.all[i].Weight) {
		return false
	}
	for _, j := range s.live {
		if 2*s.all[j].Active() < int64(s.all[j].Weight) {
			return true
		}
	}
	return false
}
