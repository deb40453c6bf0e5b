package lb

import (
	"fmt"
	"slices"
	"time"
)

// Scheduler chooses a backend for each new connection or flow.
//
// All methods are safe for concurrent use. Pick never blocks on Update: the
// backend set is an immutable snapshot published atomically, and Update
// replaces it. Picks racing with an Update see either the old or the new set.
type Scheduler interface {
	// Name returns the IPVS name of the algorithm ("rr", "mh", ...).
	Name() string
	// Pick chooses a backend for a new connection. It returns ErrNoBackend
	// when no backend has a weight above 0. For connection-counting
	// schedulers (lc, wlc, sed, nq, lblc, lblcr) the pick opens a
	// connection on the backend: call Done with the returned Backend when
	// the connection closes. Calling Done is harmless for the others, so a
	// proxy can call it unconditionally.
	Pick(key PickKey) (Backend, error)
	// Done closes a connection opened by Pick.
	Done(b Backend)
	// Update replaces the backend set. Backends that keep their ID keep
	// their connection counts (and, for mh, almost all of their keys).
	// A Backend taken from another scheduler's Backends or Pick brings
	// its count along, so New(name, old.Backends()) switches a service to
	// another algorithm without losing counts.
	// Connections picked before an Update may still be passed to Done.
	// On error (a *BackendError) the previous set stays in place.
	Update(backends []Backend) error
	// Backends returns a copy of the current set in the order given.
	Backends() []Backend
}

// The scheduler names, as IPVS spells them, plus "random".
const (
	RoundRobin                       = "rr"
	WeightedRoundRobin               = "wrr"
	LeastConnection                  = "lc"
	WeightedLeastConnection          = "wlc"
	LocalityBasedLeastConnection     = "lblc"
	LocalityBasedLeastConnectionRepl = "lblcr"
	ShortestExpectedDelay            = "sed"
	NeverQueue                       = "nq"
	SourceHashing                    = "sh"
	DestinationHashing               = "dh"
	MaglevHashing                    = "mh"
	Random                           = "random"
)

const (
	defaultLocalityExpiry    = 24 * time.Hour
	defaultLocalityCacheSize = 16384
)

// constructors maps each name to its constructor.
var constructors = map[string]func([]Backend, *options) (Scheduler, error){
	RoundRobin:                       newRR,
	WeightedRoundRobin:               newWRR,
	LeastConnection:                  newLC,
	WeightedLeastConnection:          newWLC,
	ShortestExpectedDelay:            newSED,
	NeverQueue:                       newNQ,
	LocalityBasedLeastConnection:     newLBLC,
	LocalityBasedLeastConnectionRepl: newLBLCR,
	SourceHashing:                    newSH,
	DestinationHashing:               newDH,
	MaglevHashing:                    newMH,
	Random:                           newRandom,
}

// Names returns the known scheduler names, sorted.
func Names() []string {
	names := make([]string, 0, len(constructors))
	for n := range constructors {
		names = append(names, n)
	}
	slices.Sort(names)
	return names
}

// New returns the scheduler called name over backends. An unknown name gives
// an *UnknownSchedulerError (errors.Is(err, ErrUnknownScheduler)); an invalid
// backend a *BackendError; an invalid option an *OptionError. Options that do
// not apply to the named scheduler are ignored, so a proxy may pass the same
// options to every service. An empty backend set is valid: Pick then returns
// ErrNoBackend until Update supplies backends.
func New(name string, backends []Backend, opts ...Option) (Scheduler, error) {
	ctor, ok := constructors[name]
	if !ok {
		return nil, &UnknownSchedulerError{Name: name}
	}
	o := options{
		expiry:    defaultLocalityExpiry,
		cacheSize: defaultLocalityCacheSize,
		now:       time.Now,
	}
	for _, opt := range opts {
		if opt != nil {
			opt(&o)
		}
	}
	if o.err != nil {
		return nil, o.err
	}
	return ctor(backends, &o)
}

// Option configures New.
type Option func(*options)

type options struct {
	tableSize uint64 // mh; 0 = default rule
	port      bool   // sh, mh: hash the client port; dh: the destination port
	expiry    time.Duration
	cacheSize int
	now       func() time.Time
	err       error
}

// OptionError reports an invalid option value.
type OptionError struct {
	Option string
	Reason string
}

func (e *OptionError) Error() string {
	return fmt.Sprintf("lb: option %s: %s", e.Option, e.Reason)
}

// WithTableSize sets the Maglev (mh) lookup table size, which must be a
// prime >= 3 and at most 1<<24. Without it the table has 65537 entries, grown
// to the next prime >= 100*N when there are more than 655 selectable
// backends. If a set has more selectable backends than m, the table grows by
// that same rule, so an Update never fails for size.
func WithTableSize(m uint64) Option {
	return func(o *options) {
		if m < 3 || m > maxTableSize || !isPrime(m) {
			o.err = &OptionError{Option: "WithTableSize", Reason: fmt.Sprintf("%d is not a prime in [3, %d]", m, maxTableSize)}
			return
		}
		o.tableSize = m
	}
}

// WithPort makes sh and mh hash the client's port as well as its address
// (IPVS's sh-port and mh-port flags), and dh the destination port as well
// as its address. Other schedulers ignore it.
func WithPort() Option {
	return func(o *options) { o.port = true }
}

// WithLocalityExpiry sets how long lblc and lblcr remember an unused
// destination (IPVS's lblc_expiration sysctl, default 24h), and after how
// long without change lblcr drops the most loaded member of a destination's
// replica set.
func WithLocalityExpiry(d time.Duration) Option {
	return func(o *options) {
		if d <= 0 {
			o.err = &OptionError{Option: "WithLocalityExpiry", Reason: "must be positive"}
			return
		}
		o.expiry = d
	}
}

// WithLocalityCacheSize bounds the number of destinations lblc and lblcr
// remember (default 16384, as IPVS's 1024 buckets * 16).
func WithLocalityCacheSize(n int) Option {
	return func(o *options) {
		if n <= 0 {
			o.err = &OptionError{Option: "WithLocalityCacheSize", Reason: "must be positive"}
			return
		}
		o.cacheSize = n
	}
}

// WithClock sets the time source of lblc and lblcr (default time.Now), for
// tests.
func WithClock(now func() time.Time) Option {
	return func(o *options) {
		if now == nil {
			o.err = &OptionError{Option: "WithClock", Reason: "nil clock"}
			return
		}
		o.now = now
	}
}
