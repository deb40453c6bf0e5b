package ipvs

import (
	"context"
	"errors"
	"maps"
	"slices"
	"sync"
	"time"
)

// DefaultGracePeriod is how long a removed real server may keep its
// connections before it is deleted anyway.
const DefaultGracePeriod = 15 * time.Minute

// Terminating is the list of real servers being removed gracefully: each has
// weight 0 and is deleted once drained or when its grace period has passed.
// Diff reads and updates it. The zero value is ready, with time.Now and
// DefaultGracePeriod. Safe for concurrent use.
type Terminating struct {
	// Now is the clock; nil means time.Now.
	Now func() time.Time
	// GracePeriod bounds how long a removed real server is kept; 0 means
	// DefaultGracePeriod.
	GracePeriod time.Duration

	mu    sync.Mutex
	since map[VSKey]map[RSKey]time.Time
}

func (t *Terminating) now() time.Time {
	if t.Now == nil {
		return time.Now()
	}
	return t.Now()
}

func (t *Terminating) grace() time.Duration {
	if t.GracePeriod <= 0 {
		return DefaultGracePeriod
	}
	return t.GracePeriod
}

// Services returns the virtual servers that have terminating real servers,
// in order. A caller that diffs only what changed should refresh these from
// the kernel (Kernel.ReadService) first, so that Diff sees their connection
// counts.
func (t *Terminating) Services() []VSKey {
	t.mu.Lock()
	defer t.mu.Unlock()
	return slices.SortedFunc(maps.Keys(t.since), compareKeys)
}

// Len returns the number of terminating real servers.
func (t *Terminating) Len() int {
	t.mu.Lock()
	defer t.mu.Unlock()
	n := 0
	for _, m := range t.since {
		n += len(m)
	}
	return n
}

// Since returns when the real server started terminating.
func (t *Terminating) Since(vs VSKey, rs RSKey) (time.Time, bool) {
	t.mu.Lock()
	defer t.mu.Unlock()
	at, ok := t.since[vs][rs]
	return at, ok
}

// drained reports whether r has no connections left that matter: no active
// ones and, for UDP (where every flow counts as inactive), no inactive ones.
func drained(proto Protocol, r RealServer) bool {
	return r.ActiveConns == 0 && (proto != UDP || r.InactiveConns == 0)
}

// removed decides about a real server that left the desired state: weight 0
// first (unless already drained), deletion once drained or expired. It
// returns the operation to do now, if any.
func (t *Terminating) removed(vs *VirtualServer, r RealServer) (Op, bool) {
	if drained(vs.Protocol, r) {
		t.forget(vs.VSKey, r.Key())
		return Op{Kind: OpDelReal, VS: vs, Real: r}, true
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	now := t.now()
	if t.since == nil {
		t.since = map[VSKey]map[RSKey]time.Time{}
	}
	m := t.since[vs.VSKey]
	if m == nil {
		m = map[RSKey]time.Time{}
		t.since[vs.VSKey] = m
	}
	at, ok := m[r.Key()]
	if !ok {
		at = now
		m[r.Key()] = now
	}
	if r.Weight != 0 {
		zero := r
		zero.Weight = 0
		return Op{Kind: OpUpdateReal, VS: vs, Real: zero, PrevReal: r}, true
	}
	if now.Sub(at) >= t.grace() {
		t.forgetLocked(vs.VSKey, r.Key())
		return Op{Kind: OpDelReal, VS: vs, Real: r}, true
	}
	return Op{}, false
}

// forget drops a real server from the list (restored or deleted).
func (t *Terminating) forget(vs VSKey, rs RSKey) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.forgetLocked(vs, rs)
}

func (t *Terminating) forgetLocked(vs VSKey, rs RSKey) {
	if m := t.since[vs]; m != nil {
		delete(m, rs)
		if len(m) == 0 {
			delete(t.since, vs)
		}
	}
}

// prune drops the entries of vs whose real servers are gone from cur (nil:
// the whole virtual server is gone).
func (t *Terminating) prune(vs VSKey, cur *VirtualServer) {
	t.mu.Lock()
	defer t.mu.Unlock()
	m := t.since[vs]
	for rs := range m {
		if cur == nil || findReal(cur.Reals, rs) < 0 {
			delete(m, rs)
		}
	}
	if len(m) == 0 {
		delete(t.since, vs)
	}
}

// has reports whether vs has terminating real servers (cheap check).
func (t *Terminating) has(vs VSKey) bool {
	t.mu.Lock()
	defer t.mu.Unlock()
	return len(t.since[vs]) > 0
}

// Refresh re-reads from k the virtual servers that have terminating real
// servers and stores them in cur (deleting those that are gone), so that a
// Diff limited to what changed sees their current connection counts. It
// costs one read per such virtual server.
func (t *Terminating) Refresh(ctx context.Context, k Kernel, cur *State) error {
	for _, key := range t.Services() {
		v, err := k.ReadService(ctx, key)
		switch {
		case errors.Is(err, ErrNotFound):
			delete(cur.Services, key)
		case err != nil:
			return err
		default:
			cur.AddService(v)
		}
	}
	return nil
}
