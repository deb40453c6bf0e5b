// Package lb provides the load-balancing schedulers of a userspace L4 proxy:
// given a new connection or flow (its client and destination addresses), a
// Scheduler chooses one of a service's backends.
//
// The schedulers are the ones IPVS offers, under IPVS's names, plus random:
//
//	rr     round robin
//	wrr    weighted round robin (smooth, nginx-style interleaving)
//	lc     least connection
//	wlc    weighted least connection
//	sed    shortest expected delay
//	nq     never queue
//	lblc   locality-based least connection (by destination address)
//	lblcr  locality-based least connection with replication
//	sh     source hashing
//	dh     destination hashing
//	mh     Maglev consistent hashing (by client address)
//	random weighted random
//
// Create one with New(name, backends, options...). A Backend has an ID,
// an address and a weight; weight 0 means "never choose for new
// connections", as in IPVS. Pick returns ErrNoBackend when no backend has a
// weight above 0.
//
// The schedulers are pure: no I/O, no goroutines, no package-level mutable
// state. (The package's userspace proxy, Proxy, is not: it implements
// rulegen.Backend by listening on the Plan's frontends and forwarding TCP and
// UDP to endpoints chosen by these schedulers; see NewProxy.) Every Scheduler
// is safe for concurrent use: the backend set is an
// immutable snapshot behind an atomic pointer that Update replaces, so picks
// never wait for an Update. rr, wrr (short periods), random, sh, dh and mh
// pick lock-free in O(1), without allocation. lc, wlc, sed and nq
// scan the backends (O(N)) reading atomic connection counts. lblc, lblcr and
// wrr with long periods take a mutex.
//
// Connection-counting schedulers (lc, wlc, sed, nq, lblc, lblcr) count a
// connection on the backend Pick returns; the caller passes that Backend to
// Done when the connection closes. Done is a no-op for the others, so a proxy
// can always call it. Update keeps the counts of backends whose ID survives.
//
// Hashes (sh, dh, mh) are fixed functions of the key, with no per-process
// seed: the same key picks the same backend in every process for the same
// backend set. mh also keeps almost every key in place when a backend joins
// or leaves (about 0.6% of the other backends' keys move when one of 1000
// leaves).
package lb
