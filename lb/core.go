package lb

import (
	"sync"
	"sync/atomic"
)

// set is an immutable, validated backend set with the per-backend states
// attached.
type set struct {
	all     []Backend // as given, in order, states attached
	live    []int32   // indices into all of the backends with Weight > 0
	total   int64     // sum of live weights
	uniform bool      // all live weights are equal
}

// newSet validates bs and attaches states, reusing prev's state for every
// backend whose ID survives so connection counts are preserved. A backend
// that already carries a state (taken from some scheduler's Backends or
// Pick) and is new to prev keeps that state.
func newSet(prev *set, bs []Backend) (*set, error) {
	if err := validate(bs); err != nil {
		return nil, err
	}
	old := map[string]*backendState{}
	if prev != nil {
		for _, b := range prev.all {
			old[b.ID] = b.st
		}
	}
	s := &set{all: make([]Backend, len(bs)), uniform: true}
	for i, b := range bs {
		if st := old[b.ID]; st != nil {
			b.st = st
		} else if b.st == nil { // a Backend from another scheduler keeps its count
			b.st = new(backendState)
		}
		s.all[i] = b
		if b.Weight == 0 {
			continue
		}
		if len(s.live) > 0 && b.Weight != s.all[s.live[0]].Weight {
			s.uniform = false
		}
		s.live = append(s.live, int32(i))
		s.total += int64(b.Weight)
	}
	return s, nil
}

// view is what a Pick reads: the set plus what a scheduler derives from it.
type view[T any] struct {
	*set
	x T
}

// core holds the current view of a scheduler. Update is serialised by mu and
// publishes a new view atomically; Pick only loads the pointer, so picks never
// wait for an Update and always see one consistent set.
type core[T any] struct {
	name   string
	counts bool // Pick counts connections and Done releases them
	mu     sync.Mutex
	cur    atomic.Pointer[view[T]]
	// derive builds the scheduler's data for a new set; prev is the view
	// being replaced, nil at first.
	derive func(s *set, prev *view[T]) T
}

func (c *core[T]) init(name string, counts bool, bs []Backend, derive func(*set, *view[T]) T) error {
	c.name, c.counts, c.derive = name, counts, derive
	return c.Update(bs)
}

// Name returns the scheduler's IPVS name.
func (c *core[T]) Name() string { return c.name }

// Update replaces the backend set. Backends whose ID was already present keep
// their connection counts; on error the previous set stays in place.
func (c *core[T]) Update(backends []Backend) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	prev := c.cur.Load()
	var prevSet *set
	if prev != nil {
		prevSet = prev.set
	}
	s, err := newSet(prevSet, backends)
	if err != nil {
		return err
	}
	v := &view[T]{set: s}
	if c.derive != nil {
		v.x = c.derive(s, prev)
	}
	c.cur.Store(v)
	return nil
}

// Backends returns a copy of the current set, in the order given to Update.
// Their Active method reports live connection counts.
func (c *core[T]) Backends() []Backend {
	return append([]Backend(nil), c.cur.Load().all...)
}

// Done releases a connection picked by a connection-counting scheduler. It is
// a no-op for the others, for a Backend not returned by Pick, and when the
// count is already 0 (so a double Done cannot drive it negative).
func (c *core[T]) Done(b Backend) {
	if !c.counts || b.st == nil {
		return
	}
	for {
		n := b.st.active.Load()
		if n <= 0 || b.st.active.CompareAndSwap(n, n-1) {
			return
		}
	}
}

// hold counts a connection on b that was opened without Pick (a proxy's
// session-affinity hit), so that a connection-counting scheduler sees it;
// Done releases it. It reports whether it counted.
func (c *core[T]) hold(b Backend) bool {
	if !c.counts || b.st == nil {
		return false
	}
	b.st.active.Add(1)
	return true
}

// hold counts a connection on b for s when s is one of this package's
// connection-counting schedulers (see core.hold).
func hold(s Scheduler, b Backend) bool {
	h, ok := s.(interface{ hold(Backend) bool })
	return ok && h.hold(b)
}

// chosen returns the backend at index i of v, counting the connection when
// the scheduler counts.
func (c *core[T]) chosen(v *view[T], i int32) (Backend, error) {
	b := v.all[i]
	if c.counts {
		b.st.active.Add(1)
	}
	return b, nil
}

// made returns s, or the error of its initialisation.
func made(s Scheduler, err error) (Scheduler, error) {
	if err != nil {
		return nil, err
	}
	return s, nil
}
