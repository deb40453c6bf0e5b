package lb

import "math/rand/v2"

// random picks a backend at random, in proportion to its weight (in O(1),
// through an alias table). It uses math/rand/v2's runtime-backed generator:
// no lock, no allocation, not reproducible.
type random struct {
	core[aliasTable]
}

func newRandom(bs []Backend, _ *options) (Scheduler, error) {
	s := &random{}
	return made(s, s.init(Random, false, bs, newAliasTable))
}

func (s *random) Pick(PickKey) (Backend, error) {
	v := s.cur.Load()
	if len(v.live) == 0 {
		return Backend{}, ErrNoBackend
	}
	return v.all[v.x.index(v.set, rand.Uint64())], nil
}
