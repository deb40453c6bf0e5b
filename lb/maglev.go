package lb

// mh is Maglev hashing (Eisenbud et al., NSDI 2016, section 3.4), keyed like
// IPVS's mh by the client address (and port with WithPort).
//
// Each live backend gets a permutation of the M table slots from two hashes
// of its ID: offset = h1 mod M, skip = h2 mod (M-1) + 1 (M prime, so every
// skip walks all slots). Backends take turns claiming their next free
// preferred slot until the table is full, so each gets M/N slots (floor or
// ceiling) and a change of the set moves few keys of surviving backends.
// Turns go in order of h1, so the table depends on the set, not on the
// order of the slice given to Update.
//
// Weights use the weighted variant (as Envoy does): the heaviest backends
// claim a slot on every round, a backend of weight w on w/max of the rounds
// (it accumulates credit w per round and claims when the credit reaches
// max). Shares are proportional to weight; equal weights give the classic
// algorithm.
//
// Table size: WithTableSize, else 65537; grown to the next prime >= 100*N
// when N (live backends) exceeds 655 (or the fixed size), so a backend
// always has about 100 slots or more. A size change moves most keys. Memory:
// 2 bytes per slot (128 KiB at 65537) while the set has at most 65536
// backends, 4 bytes beyond.
type mh struct {
	core[maglevTable]
	port bool
}

// maglevTable maps slots to indices into set.all; one of small and large
// is set, or neither when no backend is live.
type maglevTable struct {
	small []uint16
	large []int32
}

// lookup returns the index into set.all for hash h, false when empty.
func (t maglevTable) lookup(h uint64) (int32, bool) {
	if n := len(t.small); n > 0 {
		return int32(t.small[reduce(h, uint64(n))]), true
	}
	if n := len(t.large); n > 0 {
		return t.large[reduce(h, uint64(n))], true
	}
	return 0, false
}

const (
	defaultTableSize = 65537
	maxTableSize     = 1 << 24
	slotsPerBackend  = 100
)

func newMH(bs []Backend, o *options) (Scheduler, error) {
	s := &mh{port: o.port}
	fixed := o.tableSize
	derive := func(st *set, _ *view[maglevTable]) maglevTable {
		return buildMaglev(st, tableSize(len(st.live), fixed))
	}
	return made(s, s.init(MaglevHashing, false, bs, derive))
}

func (s *mh) Pick(k PickKey) (Backend, error) {
	v := s.cur.Load()
	i, ok := v.x.lookup(keyHash(k.Client, s.port, seedSource))
	if !ok {
		return Backend{}, ErrNoBackend
	}
	return v.all[i], nil
}

// tableSize returns the table size for n live backends, given a fixed size
// (0 = default).
func tableSize(n int, fixed uint64) uint64 {
	want := uint64(n) * slotsPerBackend
	switch {
	case fixed != 0 && uint64(n) <= fixed:
		return fixed
	case fixed == 0 && want <= defaultTableSize:
		return defaultTableSize
	case want >= maxTableSize:
		return prevPrime(maxTableSize)
	default:
		return nextPrime(want)
	}
}
