package ipvs

// vsArena allocates the virtual and real servers of a bulk render in
// chunks rather than one by one: fewer objects to allocate and for the
// garbage collector to track. A nil arena allocates each on its own.
type vsArena struct {
	vs    []VirtualServer
	reals []RealServer
}

// Chunk sizes: small enough that a chunk which a few survivors keep alive
// wastes little.
const (
	arenaVS    = 256
	arenaReals = 2048
)

// newVS returns a zero virtual server.
func (a *vsArena) newVS() *VirtualServer {
	if a == nil {
		return &VirtualServer{}
	}
	if len(a.vs) == cap(a.vs) {
		a.vs = make([]VirtualServer, 0, arenaVS)
	}
	a.vs = a.vs[:len(a.vs)+1]
	return &a.vs[len(a.vs)-1]
}

// newReals returns an empty slice with room for n real servers; appending
// more than n moves it out of the arena.
func (a *vsArena) newReals(n int) []RealServer {
	if a == nil || n > arenaReals/4 {
		return make([]RealServer, 0, n)
	}
	if cap(a.reals)-len(a.reals) < n {
		a.reals = make([]RealServer, 0, arenaReals)
	}
	i := len(a.reals)
	a.reals = a.reals[:i+n]
	return a.reals[i : i : i+n]
}
