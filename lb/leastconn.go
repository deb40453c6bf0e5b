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
	less lessFunc
	nq   bool // a backend with no connection wins at once (nq)
}

// lessFunc reports whether a backend with load a and weight aw is preferable
// to one with load b and weight bw.
type lessFunc func(a, aw, b, bw int64) bool

// lc: fewest connections; weights other than 0 are ignored.
func lessLC(a, _, b, _ int64) bool { return a < b }

// wlc: fewest connections per unit of weight, a/aw < b/bw.
func lessWLC(a, aw, b, bw int64) bool { return a*bw < b*aw }

// sed: shortest expected delay, (a+1)/aw < (b+1)/bw.
func lessSED(a, aw, b, bw int64) bool { return (a+1)*bw < (b+1)*aw }

func newLC(bs []Backend, _ *options) (Scheduler, error) {
	return newLeastConn(LeastConnection, lessLC, false, bs)
}

func newWLC(bs []Backend, _ *options) (Scheduler, error) {
	return newLeastConn(WeightedLeastConnection, lessWLC, false, bs)
}

func newSED(bs []Backend, _ *options) (Scheduler, error) {
	return newLeastConn(ShortestExpectedDelay, lessSED, false, bs)
}

// nq (never queue) is sed, except that an idle backend is taken at once.
func newNQ(bs []Backend, _ *options) (Scheduler, error) {
	return newLeastConn(NeverQueue, lessSED, true, bs)
}

func newLeastConn(name string, less lessFunc, nq bool, bs []Backend) (Scheduler, error) {
	s := &leastConn{less: less, nq: nq}
	return made(s, s.init(name, true, bs, nil))
}

func (s *leastConn) Pick(PickKey) (Backend, error) {
	v := s.cur.Load()
	if len(v.live) == 0 {
		return Backend{}, ErrNoBackend
	}
	return s.chosen(v, leastLoaded(v.set, s.less, s.nq))
}

// leastLoaded returns the index into s.all of the preferred live backend.
// The caller has checked that s.live is not empty.
func leastLoaded(s *set, less lessFunc, idleFirst bool) int32 {
	n := len(s.live)
	start := rand.IntN(n)
	best := s.live[start]
	bestLoad, bestW := s.all[best].Active(), int64(s.all[best].Weight)
	for k := 1; k < n && (!idleFirst || bestLoad > 0); k++ {
		i := s.live[(start+k)%n]
		load, w := s.all[i].Active(), int64(s.all[i].Weight)
		if (idleFirst && load == 0) || less(load, w, bestLoad, bestW) {
			best, bestLoad, bestW = i, load, w
		}
	}
	return best
}
