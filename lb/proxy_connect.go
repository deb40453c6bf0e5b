package lb

import (
	"context"
	"errors"
	"fmt"
	"net/netip"
	"slices"
	"time"
)

// DialError is returned when no backend accepted a connection within the
// retry budget. Err joins every attempt's error (or is ErrNoBackend).
type DialError struct {
	Attempts int
	Err      error
}

func (e *DialError) Error() string {
	return fmt.Sprintf("lb: no backend reachable after %d attempts: %v", e.Attempts, e.Err)
}

func (e *DialError) Unwrap() error { return e.Err }

// lease is a backend chosen for one connection; release reports its end to
// the scheduler when the connection was counted (Pick, or hold for a
// session-affinity hit).
type lease struct {
	pool   *pool
	b      Backend
	picked bool
}

func (l lease) release() {
	if l.picked {
		l.pool.sched.Done(l.b)
	}
}

// retryBudget bounds the connection attempts for one client.
type retryBudget struct {
	attempts int // 0: each backend once
	total    time.Duration
	each     time.Duration
}

func (o ProxyOptions) budget() retryBudget {
	return retryBudget{attempts: o.MaxAttempts, total: o.RetryBudget, each: o.DialTimeout}
}

// connect chooses backends for key and dials them until one answers: first
// the client's affinity backend, then the scheduler's picks, then (when the
// scheduler repeats itself, as hashes do) the untried backends in order.
// Backends in exclude count as tried.
// Cancelling ctx (the proxy's) interrupts them.
func connect[C any](ctx context.Context, pl *pool, key PickKey, rb retryBudget, exclude []string,
	dial func(context.Context, netip.AddrPort) (C, error)) (C, lease, error) {
	var zero C
	end := time.Now().Add(rb.total)
	attempts := rb.attempts
	if attempts == 0 {
		attempts = len(pl.eps)
	}
	var triedBuf [4]string
	tried := append(triedBuf[:0], exclude...)
	var errs []error
	for len(tried) < attempts {
		ls, err := pl.choose(key, tried)
		if err != nil {
			errs = append(errs, err)
			break
		}
		tried = append(tried, ls.b.ID)
		deadline := time.Now().Add(rb.each)
		if end.Before(deadline) {
			deadline = end
		}
		dctx, cancel := context.WithDeadline(ctx, deadline)
		c, err := dial(dctx, ls.b.Addr)
		cancel()
		if err == nil {
			pl.aff.remember(key.Client.Addr(), ls.b)
			return c, ls, nil
		}
		ls.release()
		errs = append(errs, err)
		if ctx.Err() != nil || !time.Now().Before(end) {
			break
		}
	}
	return zero, lease{}, &DialError{Attempts: len(tried) - len(exclude), Err: errors.Join(errs...)}
}

// choose returns the next backend to try for key, none of tried.
func (pl *pool) choose(key PickKey, tried []string) (lease, error) {
	if len(tried) == 0 {
		if b, ok := pl.aff.lookup(key.Client.Addr()); ok {
			if cur, ok := pl.byID[b.ID]; ok {
				return lease{pool: pl, b: cur, picked: hold(pl.sched, cur)}, nil
			}
		}
	}
	b, err := pl.sched.Pick(key)
	if err != nil {
		return lease{}, err
	}
	if !slices.Contains(tried, b.ID) {
		return lease{pool: pl, b: b, picked: true}, nil
	}
	pl.sched.Done(b)
	for _, c := range pl.sched.Backends() {
		if c.Weight > 0 && !slices.Contains(tried, c.ID) {
			return lease{pool: pl, b: c, picked: hold(pl.sched, c)}, nil // counted, as a pick is
		}
	}
	return lease{}, ErrNoBackend
}
