package lb

import (
	"sync"
	"sync/atomic"
)

// rr is IPVS round robin: the selectable backends in turn, ignoring weights
// other than 0. One atomic counter; the turn continues across Update.
type rr struct {
	core[struct{}]
	next atomic.Uint64
}

func newRR(bs []Backend, _ *options) (Scheduler, error) {
	s := &rr{}
	return made(s, s.init(RoundRobin, false, bs, nil))
}

func (s *rr) Pick(PickKey) (Backend, error) {
	v := s.cur.Load()
	n := uint64(len(v.live))
	if n == 0 {
		return Backend{}, ErrNoBackend
	}
	return v.all[v.live[(s.next.Add(1)-1)%n]], nil
}

// wrr is smooth weighted round robin (nginx): each turn every backend's
// current weight grows by its weight, the largest wins and loses the total.
// Backends are spread evenly (weights 5,1,1 give a a b a c a a, not
// a a a a a b c). Unlike IPVS's wrr the order is interleaved, the shares are
// the same.
//
// When one period of the sequence (sum of weights / their gcd) is short, it
// is precomputed on Update and Pick is one atomic increment; otherwise Pick
// runs the smooth step under a mutex, in O(N). Equal weights degrade to rr.
type wrr struct {
	core[wrrData]
	next atomic.Uint64
}

type wrrData struct {
	seq    []int32 // one period of picks (indices into all), when precomputed
	smooth *smoothState
}

// Precompute the period when it costs at most this many steps * backends.
const wrrPrecomputeBudget = 1 << 22

func newWRR(bs []Backend, _ *options) (Scheduler, error) {
	s := &wrr{}
	return made(s, s.init(WeightedRoundRobin, false, bs, deriveWRR))
}

func deriveWRR(s *set, _ *view[wrrData]) wrrData {
	n := len(s.live)
	if n == 0 {
		return wrrData{}
	}
	if s.uniform {
		return wrrData{seq: s.live}
	}
	g := 0
	for _, i := range s.live {
		g = gcd(g, s.all[i].Weight)
	}
	period := s.total / int64(g)
	st := newSmoothState(s, g)
	if period*int64(n) > wrrPrecomputeBudget {
		return wrrData{smooth: st}
	}
	seq := make([]int32, period)
	for k := range seq {
		seq[k] = st.step(s)
	}
	return wrrData{seq: seq}
}

func (s *wrr) Pick(PickKey) (Backend, error) {
	v := s.cur.Load()
	if seq := v.x.seq; len(seq) > 0 {
		return v.all[seq[(s.next.Add(1)-1)%uint64(len(seq))]], nil
	}
	if v.x.smooth == nil {
		return Backend{}, ErrNoBackend
	}
	v.x.smooth.mu.Lock()
	i := v.x.smooth.step(v.set)
	v.x.smooth.mu.Unlock()
	return v.all[i], nil
}

// smoothState is the nginx smooth weighted round-robin state over s.live,
// with weights divided by their gcd.
type smoothState struct {
	mu    sync.Mutex
	g     int64
	total int64
	cur   []int64
}

func newSmoothState(s *set, g int) *smoothState {
	return &smoothState{g: int64(g), total: s.total / int64(g), cur: make([]int64, len(s.live))}
}

// step returns the next index into s.all. The caller serialises.
func (st *smoothState) step(s *set) int32 {
	best := 0
	for j, i := range s.live {
		st.cur[j] += int64(s.all[i].Weight) / st.g
		if st.cur[j] > st.cur[best] {
			best = j
		}
	}
	st.cur[best] -= st.total
	return s.live[best]
}

func gcd(a, b int) int {
	for b != 0 {
		a, b = b, a%b
	}
	return a
}
