package rulegen

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"sync"
	"time"

	"k8s.io/utils/clock"

	"github.com/proxykit/proxykit/servicemodel"
)

// SyncReport describes one Backend.Sync call made by a Syncer.
type SyncReport struct {
	Start    time.Time
	Duration time.Duration
	Full     bool
	// Changed is the number of changed service ports sent; -1 for "unknown".
	Changed int
	Writes  int
	// Failures counts consecutive failed syncs, this one included.
	Failures int
	Err      error
}

// SyncerOptions configures a Syncer. Zero durations take the defaults.
type SyncerOptions struct {
	Node   Node
	Config Config
	// MinInterval is the least time between two syncs; changes arriving
	// within it are coalesced into one sync. Default 1s.
	MinInterval time.Duration
	// FullSyncPeriod schedules a full resync (read back, repair drift).
	// Default 1h; negative disables.
	FullSyncPeriod time.Duration
	// RetryInitial and RetryMax bound the exponential backoff after a
	// failed sync. Defaults 1s and 1m.
	RetryInitial, RetryMax time.Duration
	// Observer receives a report after every sync. It must not block long.
	Observer func(SyncReport)
	Clock    clock.Clock
	Logger   *slog.Logger
}

func (o *SyncerOptions) defaults() {
	if o.MinInterval == 0 {
		o.MinInterval = time.Second
	}
	if o.FullSyncPeriod == 0 {
		o.FullSyncPeriod = time.Hour
	}
	if o.RetryInitial == 0 {
		o.RetryInitial = time.Second
	}
	if o.RetryMax == 0 {
		o.RetryMax = time.Minute
	}
	if o.Clock == nil {
		o.Clock = clock.RealClock{}
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
}

// Syncer drives a Backend from a stream of snapshots: it compiles (or
// incrementally updates) the Plan, coalesces bursts, resyncs periodically,
// retries with exponential backoff and honours NeedFull.
type Syncer struct {
	backend Backend
	opts    SyncerOptions
	wake    chan struct{}
	parked  chan struct{} // test hooks, nil outside tests
	resume  chan struct{}

	mu      sync.Mutex
	snap    *servicemodel.Snapshot
	pending map[servicemodel.ServicePortName]bool // changed since the plan was updated
	unknown bool                                  // a caller did not know what changed
	// loop state, owned by Run
	plan        *Plan
	unsynced    map[servicemodel.ServicePortName]bool // changed since the last successful sync
	unsyncedAll bool                                  // ... and it is not known what
	needFull    bool
	failures    int
	lastSync    time.Time
	lastFull    time.Time
}

// NewSyncer returns a Syncer for a backend. Run starts it.
func NewSyncer(b Backend, opts SyncerOptions) (*Syncer, error) {
	if b == nil {
		return nil, errors.New("rulegen: NewSyncer needs a backend")
	}
	opts.defaults()
	if err := opts.Config.validate(opts.Node); err != nil {
		return nil, err
	}
	return &Syncer{backend: b, opts: opts, wake: make(chan struct{}, 1),
		pending: map[servicemodel.ServicePortName]bool{}, unsynced: map[servicemodel.ServicePortName]bool{}}, nil
}

// Update hands the Syncer a new snapshot and the service ports that changed
// since the previous one (nil when unknown). It never blocks.
func (s *Syncer) Update(snap *servicemodel.Snapshot, changed []servicemodel.ServicePortName) {
	s.mu.Lock()
	s.snap = snap
	if changed == nil {
		s.unknown = true
	}
	for _, n := range changed {
		s.pending[n] = true
	}
	s.mu.Unlock()
	select {
	case s.wake <- struct{}{}:
	default:
	}
}

// Run syncs until ctx ends, then returns ctx.Err(). The first sync, once a
// snapshot has arrived, is a full one.
func (s *Syncer) Run(ctx context.Context) error {
	s.needFull = true
	timer := s.opts.Clock.NewTimer(time.Hour)
	defer timer.Stop()
	for {
		now := s.opts.Clock.Now()
		due, ok := s.nextDue(now)
		if ok && !due.After(now) {
			s.syncOnce(ctx)
			continue
		}
		wait := time.Hour
		if ok {
			wait = due.Sub(now)
		}
		timer.Reset(wait)
		if s.parked != nil && !s.park(ctx) { // test hook: the test acts while the loop is parked
			return ctx.Err()
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-s.wake:
		case <-timer.C():
		}
		if !timer.Stop() {
			select {
			case <-timer.C():
			default:
			}
		}
	}
}

// park reports the loop parked and waits to be resumed (tests only).
func (s *Syncer) park(ctx context.Context) bool {
	select {
	case s.parked <- struct{}{}:
	case <-ctx.Done():
		return false
	}
	select {
	case <-s.resume:
		return true
	case <-ctx.Done():
		return false
	}
}

// nextDue returns when the next sync should run, if any is needed.
func (s *Syncer) nextDue(now time.Time) (time.Time, bool) {
	s.mu.Lock()
	haveSnap, pending := s.snap != nil, len(s.pending) > 0 || s.unknown
	s.mu.Unlock()
	if !haveSnap {
		return time.Time{}, false
	}
	earliest := s.lastSync.Add(s.opts.MinInterval)
	if s.failures > 0 {
		earliest = s.lastSync.Add(s.backoff())
	}
	switch {
	case pending || s.needFull || s.failures > 0 || s.plan == nil:
		return later(earliest, time.Time{}), true
	case s.opts.FullSyncPeriod > 0:
		return later(earliest, s.lastFull.Add(s.opts.FullSyncPeriod)), true
	}
	return time.Time{}, false
}

func later(a, b time.Time) time.Time {
	if a.After(b) {
		return a
	}
	return b
}

func (s *Syncer) backoff() time.Duration {
	d := s.opts.RetryInitial
	for i := 1; i < s.failures && d < s.opts.RetryMax; i++ {
		d *= 2
	}
	return min(d, s.opts.RetryMax)
}

// syncOnce updates the plan from the latest snapshot and calls the backend.
func (s *Syncer) syncOnce(ctx context.Context) {
	start := s.opts.Clock.Now()
	full := s.needFull || s.opts.FullSyncPeriod > 0 && !start.Before(s.lastFull.Add(s.opts.FullSyncPeriod))
	req, err := s.prepare(full)
	report := SyncReport{Start: start, Full: full, Changed: len(req.Changed)}
	if req.Changed == nil {
		report.Changed = -1
	}
	var res SyncResult
	if err == nil {
		res, err = s.backend.Sync(ctx, req)
	}
	report.Duration = s.opts.Clock.Since(start)
	report.Writes = res.Writes
	s.lastSync = s.opts.Clock.Now()
	if err != nil {
		s.failures++
		report.Failures, report.Err = s.failures, err
		s.opts.Logger.Error("sync failed", "full", full, "failures", s.failures, "retryIn", s.backoff(), "err", err)
	} else {
		s.failures = 0
		clear(s.unsynced)
		s.unsyncedAll = false
		s.needFull = res.NeedFull
		if full {
			s.lastFull = start
		}
		s.opts.Logger.Debug("synced", "full", full, "changed", report.Changed, "writes", res.Writes, "took", report.Duration)
	}
	if s.opts.Observer != nil {
		s.opts.Observer(report)
	}
}

// prepare folds pending changes into the plan and builds the request.
func (s *Syncer) prepare(full bool) (SyncRequest, error) {
	s.mu.Lock()
	snap, unknown := s.snap, s.unknown
	changed := make([]servicemodel.ServicePortName, 0, len(s.pending))
	for n := range s.pending {
		changed = append(changed, n)
	}
	clear(s.pending)
	s.unknown = false
	s.mu.Unlock()
	slices.SortFunc(changed, servicemodel.ServicePortName.Compare)

	var err error
	if s.plan == nil || unknown {
		s.plan, err = Compile(snap, s.opts.Node, s.opts.Config)
	} else if len(changed) > 0 {
		s.plan, err = s.plan.Update(snap, changed)
	}
	if err != nil {
		return SyncRequest{}, fmt.Errorf("compile plan: %w", err)
	}
	for _, n := range changed {
		s.unsynced[n] = true
	}
	s.unsyncedAll = s.unsyncedAll || unknown
	req := SyncRequest{Plan: s.plan, Full: full}
	if !full && !s.unsyncedAll {
		req.Changed = make([]servicemodel.ServicePortName, 0, len(s.unsynced))
		for n := range s.unsynced {
			req.Changed = append(req.Changed, n)
		}
		slices.SortFunc(req.Changed, servicemodel.ServicePortName.Compare)
	}
	return req, nil
}
