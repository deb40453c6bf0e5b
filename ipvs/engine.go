package ipvs

import (
	"context"
	"errors"
	"fmt"
	"net/netip"
	"strings"
	"sync"
)

// engine implements Kernel over a driver: ownership, journal and undo.
type engine struct {
	d    driver
	opts Options

	mu     sync.Mutex
	loaded bool
	dummy  map[netip.Addr]struct{} // addresses on our dummy interface
	owned  map[VSKey]struct{}      // records in the ownership sets
	hasSet map[bool]bool           // ownership set exists, by family (true: IPv6)
	fail   func(Op) error
}

func newEngine(d driver, opts Options) *engine {
	return &engine{d: d, opts: opts.withDefaults()}
}

// SetFailure installs f, called before every kernel write of Apply (not of
// its undo); a non-nil error makes that write fail. nil removes it.
func (e *engine) SetFailure(f func(Op) error) {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.fail = f
}

// load reads the ownership facts, dummy addresses and ownership records,
// and returns the sets it read (ours by prefix, ownership sets included).
func (e *engine) load() ([]*IPSet, error) {
	addrs, err := e.d.addrs()
	if err != nil {
		return nil, fmt.Errorf("ipvs: reading %s addresses: %w", e.opts.Dummy, err)
	}
	e.dummy = make(map[netip.Addr]struct{}, len(addrs))
	for _, a := range addrs {
		e.dummy[a] = struct{}{}
	}
	sets, err := e.d.sets(e.opts.SetPrefix)
	if err != nil {
		return nil, fmt.Errorf("ipvs: reading ipsets: %w", err)
	}
	e.owned, e.hasSet = map[VSKey]struct{}{}, map[bool]bool{}
	for _, s := range sets {
		if !e.opts.isOwnerSet(s.Name) {
			continue
		}
		e.hasSet[s.IPv6] = true
		for en := range s.All() {
			e.owned[VSKey{Protocol: en.Protocol, Addr: en.Addr().Addr(), Port: en.Port}] = struct{}{}
		}
	}
	e.loaded = true
	return sets, nil
}

func (e *engine) ensureLoaded() error {
	if e.loaded {
		return nil
	}
	_, err := e.load()
	return err
}

// isOurs applies the ownership rule to a virtual server key.
func (e *engine) isOurs(k VSKey) bool {
	if k.FWMark != 0 {
		return e.opts.FWMarkMask != 0 && k.FWMark&e.opts.FWMarkMask == e.opts.FWMarkValue
	}
	if _, ok := e.dummy[k.Addr]; ok {
		return true
	}
	_, ok := e.owned[k]
	return ok
}

// Read implements Kernel.
func (e *engine) Read(ctx context.Context) (*State, error) {
	e.mu.Lock()
	defer e.mu.Unlock()
	sets, err := e.load()
	if err != nil {
		return nil, err
	}
	st := NewState()
	for a := range e.dummy {
		st.Addresses[a] = struct{}{}
	}
	svcs, err := e.d.services()
	if err != nil {
		return nil, fmt.Errorf("ipvs: listing virtual servers: %w", err)
	}
	for _, v := range svcs {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		if !e.isOurs(v.VSKey) {
			continue
		}
		if v.Reals, err = e.d.reals(v.VSKey); err != nil {
			return nil, fmt.Errorf("ipvs: listing real servers of %v: %w", v.VSKey, err)
		}
		st.Services[v.VSKey] = v
	}
	for _, s := range sets {
		if !e.opts.isOwnerSet(s.Name) {
			st.Sets[s.Name] = s
		}
	}
	return st, nil
}

// ReadService implements Kernel.
func (e *engine) ReadService(ctx context.Context, k VSKey) (*VirtualServer, error) {
	e.mu.Lock()
	defer e.mu.Unlock()
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	if err := e.ensureLoaded(); err != nil {
		return nil, err
	}
	if !e.isOurs(k) {
		return nil, fmt.Errorf("%w: %v", ErrNotFound, k)
	}
	v, err := e.d.service(k)
	if err != nil {
		return nil, err
	}
	if v.Reals, err = e.d.reals(k); err != nil {
		return nil, fmt.Errorf("ipvs: listing real servers of %v: %w", k, err)
	}
	return v, nil
}

// Cleanup implements Kernel.
func (e *engine) Cleanup(ctx context.Context) error {
	st, err := e.Read(ctx)
	if err != nil {
		return err
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	var errs []error
	for _, v := range st.SortedServices() {
		errs = append(errs, e.d.delService(v.VSKey))
	}
	sets, err := e.d.sets(e.opts.SetPrefix)
	errs = append(errs, err)
	for _, s := range sets {
		errs = append(errs, e.d.destroySet(s.Name))
	}
	errs = append(errs, e.d.delLink())
	e.loaded = false
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("ipvs: cleanup: %w", err)
	}
	return nil
}

// tx is one Apply: the journal of inverse operations and the write count.
type tx struct {
	journal [][]Op // per write, the operations that undo it, in order
	writes  int
}

// Apply implements Kernel.
func (e *engine) Apply(ctx context.Context, ops Ops) (ApplyResult, error) {
	e.mu.Lock()
	defer e.mu.Unlock()
	if err := e.ensureLoaded(); err != nil {
		return ApplyResult{}, err
	}
	var t tx
	for i := 0; i < len(ops); {
		n, at, failed, err := e.step(ctx, &t, ops[i:])
		if err != nil {
			return e.abort(&t, i+at, len(ops), failed, err)
		}
		i += n
	}
	e.opts.Logger.Debug("ipvs: applied", "ops", len(ops), "writes", t.writes)
	return ApplyResult{Writes: t.writes}, nil
}

// abort undoes t after operation i of n failed.
func (e *engine) abort(t *tx, i, n int, failed Op, err error) (ApplyResult, error) {
	done := t.writes
	undoErr := e.undo(t)
	if undoErr != nil {
		e.loaded = false // caches may be wrong; reload next time
	}
	e.opts.Logger.Warn("ipvs: apply failed, undone", "op", i, "of", n, "failed", failed.String(),
		"err", err, "writes", done, "undo_writes", t.writes-done, "undo_err", undoErr)
	return ApplyResult{Writes: t.writes}, &ApplyError{Index: i, Op: failed, Err: err, UndoErr: undoErr}
}

// step performs the first operation of ops or, when the driver batches
// entries, the run of entry operations ops starts with. It returns how many
// it performed and, on failure, the failed one's index in ops.
func (e *engine) step(ctx context.Context, t *tx, ops Ops) (n, at int, failed Op, err error) {
	if b, ok := e.d.(entryBatcher); ok {
		if run := e.entryRun(ops); run > 1 {
			at, err := e.doEntries(ctx, t, b, ops[:run])
			if err != nil {
				return 0, at, ops[at], err
			}
			return run, 0, Op{}, nil
		}
	}
	failed, err = e.do(ctx, t, ops[0])
	return 1, 0, failed, err
}

// do performs one operation, with its ownership record, journaling each
// write. It returns the step that failed.
func (e *engine) do(ctx context.Context, t *tx, o Op) (Op, error) {
	if err := ctx.Err(); err != nil {
		return o, err
	}
	if err := o.check(); err != nil {
		return o, err
	}
	if o.VS != nil && o.Kind != OpAddService && !e.isOurs(o.VS.VSKey) {
		return o, fmt.Errorf("%w: %v", ErrNotOurs, o.VS.VSKey)
	}
	if o.Kind == OpAddService && o.VS.FWMark != 0 && !e.isOurs(o.VS.VSKey) {
		return o, fmt.Errorf("%w: firewall mark %#x is outside FWMarkMask/FWMarkValue", ErrNotOurs, o.VS.FWMark)
	}
	if o.Kind == OpAddService && !e.isOurs(o.VS.VSKey) {
		if err := e.record(t, o.VS.VSKey); err != nil {
			return Op{Kind: OpAddEntry, Set: e.opts.ownerSet(o.VS.Addr.Is6()), Entry: ownerEntry(o.VS.VSKey)}, err
		}
	}
	if err := e.write(t, o); err != nil {
		return o, err
	}
	if o.Kind == OpDelService {
		if _, ok := e.owned[o.VS.VSKey]; ok {
			del := Op{Kind: OpDelEntry, Set: e.opts.ownerSet(o.VS.Addr.Is6()), Entry: ownerEntry(o.VS.VSKey)}
			if err := e.write(t, del); err != nil {
				return del, err
			}
		}
	}
	return o, nil
}

// record adds the ownership record of k, creating the set when needed.
func (e *engine) record(t *tx, k VSKey) error {
	set := e.opts.ownerSet(k.Addr.Is6())
	if !e.hasSet[set.IPv6] {
		if err := e.write(t, Op{Kind: OpCreateSet, Set: set}); err != nil {
			return err
		}
	}
	return e.write(t, Op{Kind: OpAddEntry, Set: set, Entry: ownerEntry(k)})
}

// write performs one kernel write after the failure hook, and journals its
// inverse.
func (e *engine) write(t *tx, o Op) error {
	if e.fail != nil {
		if err := e.fail(o); err != nil {
			return err
		}
	}
	t.writes++
	if err := e.exec(o); err != nil {
		return err
	}
	t.journal = append(t.journal, o.inverse())
	return nil
}

// undo performs the journal's inverse operations in reverse.
func (e *engine) undo(t *tx) error {
	var errs []error
	for i := len(t.journal) - 1; i >= 0; i-- {
		for _, inv := range t.journal[i] {
			t.writes++
			if err := e.exec(inv); err != nil {
				errs = append(errs, fmt.Errorf("undo %v: %w", inv, err))
			}
		}
	}
	t.journal = nil
	return errors.Join(errs...)
}

// exec performs one write on the driver and keeps the caches in step.
func (e *engine) exec(o Op) error {
	var err error
	switch o.Kind {
	case OpAddService:
		err = e.d.addService(o.VS)
	case OpUpdateService:
		err = e.d.updateService(o.VS)
	case OpDelService:
		err = e.d.delService(o.VS.VSKey)
	case OpAddReal:
		err = e.d.addReal(o.VS.VSKey, o.Real)
	case OpUpdateReal:
		err = e.d.updateReal(o.VS.VSKey, o.Real)
	case OpDelReal:
		err = e.d.delReal(o.VS.VSKey, o.Real)
	default:
		err = e.execOther(o)
	}
	if err != nil {
		return fmt.Errorf("%v: %w", strings.TrimSpace(o.String()), err)
	}
	return nil
}

func (e *engine) execOther(o Op) error {
	switch o.Kind {
	case OpAddAddress:
		if err := e.d.addAddr(o.Addr); err != nil {
			return err
		}
		e.dummy[o.Addr] = struct{}{}
	case OpDelAddress:
		if err := e.d.delAddr(o.Addr); err != nil {
			return err
		}
		delete(e.dummy, o.Addr)
	case OpCreateSet:
		if err := e.d.createSet(o.Set); err != nil {
			return err
		}
		if e.opts.isOwnerSet(o.Set.Name) {
			e.hasSet[o.Set.IPv6] = true
		}
	case OpDestroySet:
		if err := e.d.destroySet(o.Set.Name); err != nil {
			return err
		}
		if e.opts.isOwnerSet(o.Set.Name) {
			e.hasSet[o.Set.IPv6] = false
		}
	case OpAddEntry, OpDelEntry:
		return e.execEntry(o)
	default:
		return fmt.Errorf("ipvs: unknown operation %v", o.Kind)
	}
	return nil
}

func (e *engine) execEntry(o Op) error {
	k := VSKey{Protocol: o.Entry.Protocol, Addr: o.Entry.Addr().Addr(), Port: o.Entry.Port}
	owner := e.opts.isOwnerSet(o.Set.Name)
	if o.Kind == OpAddEntry {
		if err := e.d.addEntry(o.Set, o.Entry); err != nil {
			return err
		}
		if owner {
			e.owned[k] = struct{}{}
		}
		return nil
	}
	if err := e.d.delEntry(o.Set, o.Entry); err != nil {
		return err
	}
	if owner {
		delete(e.owned, k)
	}
	return nil
}
