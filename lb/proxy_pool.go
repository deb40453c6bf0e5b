package lb

import (
	"errors"
	"net/netip"
	"slices"
	"sync"
	"time"
)

// pool is one endpoint set of a service port with its scheduler and
// session-affinity table. It is immutable once built; a Sync that changes
// the set builds a new pool (sharing the affinity table and, through the
// Backends, the connection counts).
type pool struct {
	sched Scheduler
	want  string // the scheduler asked for (sched may be the default)
	eps   []netip.AddrPort
	byID  map[string]Backend // the scheduler's backends, with their counts
	aff   *affinity          // nil without session affinity
}

// same reports whether p (possibly nil) already is what a spec asks for.
func (p *pool) same(sched string, aff time.Duration, eps []netip.AddrPort) bool {
	return p != nil && p.want == sched && p.aff.timeoutIs(aff) && slices.Equal(p.eps, eps)
}

func newPool(sched string, o ProxyOptions, aff time.Duration, eps []netip.AddrPort, old *pool) (*pool, error) {
	bs := make([]Backend, len(eps))
	for i, ep := range eps {
		bs[i] = Backend{ID: ep.String(), Addr: ep, Weight: 1}
	}
	np := &pool{want: sched, eps: eps}
	name := sched
	if _, err := New(name, nil, o.SchedulerOptions...); errors.Is(err, ErrUnknownScheduler) {
		o.Logger.Warn("unknown scheduler hint; using the default", "scheduler", sched, "default", o.Scheduler)
		name = o.Scheduler
	}
	var err error
	if old != nil && old.sched.Name() == name {
		// Start from the old set so that surviving backends keep their
		// connection counts, then move to the new one.
		if np.sched, err = New(name, old.sched.Backends(), o.SchedulerOptions...); err == nil {
			err = np.sched.Update(bs)
		}
	} else {
		np.sched, err = New(name, bs, o.SchedulerOptions...)
	}
	if err != nil {
		return nil, err
	}
	np.byID = make(map[string]Backend, len(bs))
	for _, b := range np.sched.Backends() {
		np.byID[b.ID] = b
	}
	switch {
	case aff <= 0:
	case old != nil && old.aff.timeoutIs(aff):
		np.aff = old.aff
	default:
		np.aff = newAffinity(aff, o.Now)
	}
	return np, nil
}

// has reports whether the pool's set holds a backend.
func (p *pool) has(id string) bool {
	_, ok := p.byID[id]
	return ok
}

// affinity is a ClientIP session-affinity table: the backend each client
// address last connected to, forgotten after timeout without a connection
// (as the iptables "recent" match kube-proxy uses).
type affinity struct {
	timeout time.Duration
	now     func() time.Time

	mu      sync.Mutex
	m       map[netip.Addr]affEntry
	sweepAt int
}

type affEntry struct {
	b    Backend
	last time.Time
}

func newAffinity(timeout time.Duration, now func() time.Time) *affinity {
	return &affinity{timeout: timeout, now: now, m: map[netip.Addr]affEntry{}, sweepAt: 1024}
}

func (a *affinity) timeoutIs(d time.Duration) bool {
	if a == nil {
		return d <= 0
	}
	return a.timeout == d
}

// lookup returns the client's backend if it is still remembered.
func (a *affinity) lookup(client netip.Addr) (Backend, bool) {
	if a == nil {
		return Backend{}, false
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	e, ok := a.m[client]
	if !ok || a.now().Sub(e.last) >= a.timeout {
		return Backend{}, false
	}
	return e.b, true
}

// remember records the client's backend and refreshes its timer; it
// sweeps expired entries when the table has doubled since the last sweep.
func (a *affinity) remember(client netip.Addr, b Backend) {
	if a == nil {
		return
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	now := a.now()
	a.m[client] = affEntry{b: Backend{ID: b.ID, Addr: b.Addr, Weight: b.Weight}, last: now}
	if len(a.m) < a.sweepAt {
		return
	}
	for c, e := range a.m {
		if now.Sub(e.last) >= a.timeout {
			delete(a.m, c)
		}
	}
	a.sweepAt = max(1024, 2*len(a.m))
}
