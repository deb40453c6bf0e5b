package lb

import "net/netip"

// hashed is sh (source hashing) or dh (destination hashing): the key's hash
// is mapped onto the live backends in proportion to their weights, in O(1)
// through an alias table (where IPVS fills a 256-bucket table, weight
// buckets per backend). The same key picks the same backend while the set
// is unchanged; a change of the set moves many keys, as in IPVS. Use mh for
// consistent hashing.
type hashed struct {
	core[aliasTable]
	dest bool // dh: hash the destination; sh: the client
	port bool // hash the port as well
}

func newSH(bs []Backend, o *options) (Scheduler, error) {
	return newHashed(SourceHashing, false, bs, o)
}

func newDH(bs []Backend, o *options) (Scheduler, error) {
	return newHashed(DestinationHashing, true, bs, o)
}

func newHashed(name string, dest bool, bs []Backend, o *options) (Scheduler, error) {
	s := &hashed{dest: dest, port: o.port}
	return made(s, s.init(name, false, bs, newAliasTable))
}

func (s *hashed) Pick(k PickKey) (Backend, error) {
	v := s.cur.Load()
	if len(v.live) == 0 {
		return Backend{}, ErrNoBackend
	}
	var h uint64
	if s.dest {
		h = keyHash(k.Dest, s.port, seedDest)
	} else {
		h = keyHash(k.Client, s.port, seedSource)
	}
	return v.all[v.x.index(v.set, h)], nil
}

// keyHash hashes an address, and its port when withPort.
func keyHash(ap netip.AddrPort, withPort bool, seed uint64) uint64 {
	var port uint16
	if withPort {
		port = ap.Port()
	}
	return hashAddr(ap.Addr(), port, seed)
}
