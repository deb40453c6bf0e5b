package lb

import "math/rand/v2"

// Connection-counting schedulers: lc, wlc, sed, nq. Pick scans the live
// backends (O(N)) reading their open-connection counts atomically, chooses
// the least loaded, and counts the new connection on it; Done releases it.
// Concurrent picks may read the same counts and choose the same backend, so
// under concurrency the balance is approximate, as in IPVS. The scan starts
// at a random backend, so ties are broken at random rather than always in
// favour of the first backend.
//
// IPVS weighs a backend's load as 256*active + inactive connections; a
// userspace proxy has no inactive (TIME_WAIT) connections, so the load here
// is the number of open connections.
type leastConn struct {
	core[struct{}]
	rule loadRule
	nq   bool // a backend with no connection wins at once (nq)
}

// loadRule is how a scheduler compares backends' loads.
type loadRule uint8

const (
	ruleLC  loadRule = iota // fewest connections; weights other than 0 ignored
	ruleWLC                 // fewest connections per unit of weight, a/aw < b/bw
	ruleSED                 // shortest expected delay, (a+1)/aw < (b+1)/bw
)

// less reports whether a backend with load a and weight aw is preferable to
// one with load b and weight bw. A switch rather than a func value, so the
// scan inlines it.
func (r loadRule) less(a, aw, b, bw int64) bool {
	switch r {
	case ruleLC:
		return a < b
	case ruleWLC:
		return a*bw < b*aw
	default:
		return (a+1)*bw < (b+1)*aw
	}
}

func newLC(bs []Backend, _ *options) (Scheduler, error) {
	return newLeastConn(LeastConnection, ruleLC, false, bs)
}

func newWLC(bs []Backend, _ *options) (Scheduler, error) {
	return newLeastConn(WeightedLeastConnection, ruleWLC, false, bs)
}

func newSED(bs []Backend, _ *options) (Scheduler, error) {
	return newLeastConn(ShortestExpectedDelay, ruleSED, false, bs)
}

// nq (never queue) is sed, except that an idle backend is taken at once.
func newNQ(bs []Backend, _ *options) (Scheduler, error) {
	return newLeastConn(NeverQueue, ruleSED, true, bs)
}

func newLeastConn(name string, rule loadRule, nq bool, bs []Backend) (Scheduler, error) {
	s := &leastConn{rule: rule, nq: nq}
	return made(s, s.init(name, true, bs, nil))
}

func (s *leastConn) Pick(PickKey) (Backend, error) {
	v := s.cur.Load()
	if len(v.live) == 0 {
		return Backend{}, ErrNoBackend
	}
	return s.chosen(v, leastLoaded(v.set, s.rule, s.nq))
}

// leastLoaded returns the index into s.all of the preferred live backend,
// scanning from a random start; with idleFirst the first idle backend wins.
// The caller has checked that s.live is not empty.
func leastLoaded(s *set, rule loadRule, idleFirst bool) int32 {
	start := rand.IntN(len(s.live))
	best := int32(-1)
	var bestLoad, bestW int64
	for _, part := range [2][]int32{s.live[start:], s.live[:start]} {
		for _, i := range part {
			b := &s.all[i]
			load, w := b.st.active.Load(), int64(b.Weight)
			if idleFirst && load == 0 {
				return i
			}
			if best < 0 || rule.less(load, w, bestLoad, bestW) {
				best, bestLoad, bestW = i, load, w
			}
		}
	}
	return best
}
