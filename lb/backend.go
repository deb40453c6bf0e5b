package lb

import (
	"errors"
	"fmt"
	"net/netip"
	"sync/atomic"
)

// Backend is one destination a scheduler can choose.
//
// Backends are identified by ID: when a scheduler's set is replaced with
// Update, a backend with the same ID as before keeps its connection count.
// Compare backends by ID, not with ==, because a Backend returned by Pick
// also carries a reference to that count.
type Backend struct {
	// ID identifies the backend, for example "10.244.1.5:8080". Non-empty,
	// unique within a set. Hash schedulers (mh) derive a backend's place
	// from its ID, so keep IDs stable across restarts.
	ID string
	// Addr is where connections to this backend go. Schedulers do not look
	// at it; it must be valid.
	Addr netip.AddrPort
	// Weight is the backend's relative share, as in IPVS: 0 means the
	// backend is never chosen for new connections (it may still hold
	// existing ones). Negative weights and weights above MaxWeight are
	// invalid. Schedulers that otherwise ignore weights (rr, lc) still
	// skip weight 0.
	Weight int

	st *backendState
}

// MaxWeight is the largest weight a Backend may have. It keeps the weighted
// arithmetic (sums, products with connection counts) far from overflow.
const MaxWeight = 1 << 24

// backendState is shared by every snapshot that contains the backend (by
// ID), so connection counts survive Update.
type backendState struct {
	active atomic.Int64
}

// Active reports the number of open connections the scheduler that returned
// b counts for it (connections picked and not yet Done). It is 0 for a
// Backend that was not returned by Pick or Backends, and for schedulers that
// do not count connections.
func (b Backend) Active() int64 {
	if b.st == nil {
		return 0
	}
	return b.st.active.Load()
}

// PickKey describes the new connection or flow to schedule. It is passed by
// value and hashed without allocation.
type PickKey struct {
	// Client is the source address and port of the flow. sh and mh hash
	// the address (and the port with WithPort).
	Client netip.AddrPort
	// Dest is the address and port the client connected to (the service
	// frontend, or for transparent caches the original destination). dh,
	// lblc and lblcr use the address (dh also the port with WithPort).
	Dest netip.AddrPort
}

// ErrNoBackend is returned by Pick when no backend can be chosen: the set is
// empty, or every backend has weight 0.
var ErrNoBackend = errors.New("lb: no backend available")

// ErrUnknownScheduler is the sentinel that UnknownSchedulerError wraps.
var ErrUnknownScheduler = errors.New("lb: unknown scheduler")

// UnknownSchedulerError is returned by New for a name it does not know.
type UnknownSchedulerError struct {
	Name string
}

func (e *UnknownSchedulerError) Error() string {
	return fmt.Sprintf("lb: unknown scheduler %q (known: %v)", e.Name, Names())
}

// Unwrap lets errors.Is(err, ErrUnknownScheduler) match.
func (e *UnknownSchedulerError) Unwrap() error { return ErrUnknownScheduler }

// BackendError reports an invalid backend in a set given to New or Update.
// The scheduler keeps its previous set when Update fails.
type BackendError struct {
	Index  int    // position in the slice
	ID     string // the backend's ID, possibly empty
	Reason string // what is wrong
}

func (e *BackendError) Error() string {
	return fmt.Sprintf("lb: backend %d (%q): %s", e.Index, e.ID, e.Reason)
}

// validate checks a backend set: IDs non-empty and unique, weights >= 0,
// addresses valid.
func validate(bs []Backend) error {
	seen := make(map[string]struct{}, len(bs))
	for i, b := range bs {
		bad := func(reason string) error { return &BackendError{Index: i, ID: b.ID, Reason: reason} }
		switch {
		case b.ID == "":
			return bad("empty ID")
		case b.Weight < 0 || b.Weight > MaxWeight:
			return bad(fmt.Sprintf("weight %d out of range [0, %d]", b.Weight, MaxWeight))
		case !b.Addr.IsValid():
			return bad("invalid address")
		}
		if _, dup := seen[b.ID]; dup {
			return bad("duplicate ID")
		}
		seen[b.ID] = struct{}{}
	}
	return nil
}
