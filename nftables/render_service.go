package nftables

import (
	"net/netip"

	"github.com/proxykit/proxykit/nat"
	"github.com/proxykit/proxykit/rulegen"
)

// portWriter renders PortPlans into fragments cut from its arena; one
// writer serves a chunk of ports in turn (its scratch space is reused).
type portWriter struct {
	fr    *famRenderer
	pp    *rulegen.PortPlan
	n     portNames
	frag  *fragment
	a     *arena
	proto uint8
	// protoStmt and markMasq are boxed once per family; markMasq sets the
	// masquerade mark inline (a jump to a marking chain per endpoint would
	// make the kernel's validation of every commit walk that chain 100k
	// times)
	protoStmt, markMasq Stmt
	// the chains internal and external traffic go to; "" when the set has
	// no endpoints (the action is then in intAction/extAction)
	internal, external   string
	intAction, extAction rulegen.Action
	eps                  []epNames
	epIndex              map[netip.AddrPort]int // when indexed (many endpoints)
	indexed              bool
	spans                [][2]int // scratch of endpointNames
	nameBuf              []byte   // scratch of endpointNames
}

// epNames are one endpoint's chain and affinity set names.
type epNames struct {
	ap              netip.AddrPort
	chain, affinity string
	written         bool
}

var protoNumbers = map[string]uint8{"TCP": 6, "UDP": 17, "SCTP": 132}

// portSize estimates what rendering pp takes from an arena, for the usual
// case where the local endpoints are among the cluster's (the arena grows
// when they are not).
func portSize(pp *rulegen.PortPlan) arenaSize {
	neps, nfe := max(len(pp.ClusterEndpoints), len(pp.LocalEndpoints)), len(pp.Frontends)
	idLen := len(pp.Name.Namespace) + len(pp.Name.Name) + len(pp.Protocol) + 8
	s := arenaSize{rules: 2*neps + 2, stmts: 4*neps + 5, values: 3 * nfe, verdicts: neps + nfe,
		chains: neps + 1, sets: 1, elems: len(pp.ClusterEndpoints) + len(pp.LocalEndpoints) + nfe, frags: 1,
		names: 7*idLen + 58 + neps*(idLen+32)}
	if nfe > 1 { // external and firewall chains
		s.rules, s.stmts, s.chains = s.rules+6, s.stmts+10, s.chains+2
	}
	if pp.InternalLocal || pp.ExternalLocal { // a local choice chain
		s.rules, s.stmts, s.chains, s.sets = s.rules+2, s.stmts+5, s.chains+1, s.sets+1
	}
	if pp.Affinity > 0 {
		s.rules, s.stmts, s.sets = s.rules+2*neps, s.stmts+3*neps, s.sets+neps
		s.names += neps * (idLen + 32)
	}
	return s
}

func (fr *famRenderer) newPortWriter(a *arena) *portWriter {
	return &portWriter{fr: fr, a: a, markMasq: fr.markMasq}
}

// render renders one port into a fragment.
func (w *portWriter) render(pp *rulegen.PortPlan) *fragment { return w.renderSized(pp, portSize(pp)) }

// renderSized renders one port whose portSize is size.
func (w *portWriter) renderSized(pp *rulegen.PortPlan, size arenaSize) *fragment {
	w.pp, w.n, w.proto = pp, portNamesIn(w.a, pp), protoNumbers[string(pp.Protocol)]
	w.protoStmt = w.fr.protoMatch(w.proto)
	w.internal, w.external, w.intAction, w.extAction = "", "", 0, 0
	w.frag = &w.a.frags.take(1)[0]
	w.frag.chains, w.frag.sets = w.a.chainPtrs.take(size.chains)[:0], w.a.setPtrs.take(size.sets)[:0]
	w.frag.hashes, w.frag.setHashes = w.a.hashes.take(size.chains)[:0], w.a.hashes.take(size.sets)[:0]
	w.frontendElems()
	w.endpointNames()
	w.choices()
	w.externalChain()
	w.frontends()
	w.frag.valid = w.validNames()
	return w.frag
}

// validNames reports whether every chain and set name of the fragment is
// valid: the longest port name checked in full (the others share its id
// and start with a fixed prefix), the endpoint names (a fixed prefix, the
// id, an address without zone and a port) by length.
func (w *portWriter) validNames() bool {
	if validName("chain", w.n.endpointsLocal) != nil {
		return false
	}
	for i := range w.eps {
		if len(w.eps[i].chain) > 255 || len(w.eps[i].affinity) > 255 || w.eps[i].ap.Addr().Zone() != "" {
			return false
		}
	}
	return true
}

// frontendElems cuts the room for the port's shared-map elements.
func (w *portWriter) frontendElems() {
	var n [numSharedMaps]int
	for _, fe := range w.pp.Frontends {
		if fe.Kind == rulegen.NodePort {
			n[smNodePorts] = 1
		} else {
			n[smServiceIPs]++
		}
	}
	for m := range numSharedMaps {
		w.frag.elems[m] = w.a.elems.take(n[m])[:0]
	}
}

// endpointNames names every distinct endpoint of the port, cutting all the
// names from the arena's text.
func (w *portWriter) endpointNames() {
	pp := w.pp
	n := len(pp.ClusterEndpoints) + len(pp.LocalEndpoints)
	w.eps, w.spans, w.indexed = w.eps[:0], w.spans[:0], n > 16
	if n == 0 {
		return
	}
	if w.indexed {
		if w.epIndex == nil {
			w.epIndex = make(map[netip.AddrPort]int, n)
		}
		clear(w.epIndex)
	}
	b := w.nameBuf[:0]
	put := func(kind string, ap netip.AddrPort) [2]int {
		start := len(b)
		b = w.n.appendEndpoint(append(b, kind...), ap)
		return [2]int{start, len(b)}
	}
	for _, set := range [][]rulegen.Endpoint{pp.ClusterEndpoints, pp.LocalEndpoints} {
		for _, ep := range set {
			if w.epAt(ep.AddrPort()) >= 0 {
				continue
			}
			chain, aff := put("endpoint-", ep.AddrPort()), [2]int{}
			if pp.Affinity > 0 {
				aff = put("affinity-", ep.AddrPort())
			}
			if w.indexed {
				w.epIndex[ep.AddrPort()] = len(w.eps)
			}
			w.eps = append(w.eps, epNames{ap: ep.AddrPort()})
			w.spans = append(w.spans, chain, aff)
		}
	}
	all := w.a.name(b)
	w.nameBuf = b
	for i := range w.eps {
		c, f := w.spans[2*i], w.spans[2*i+1]
		w.eps[i].chain, w.eps[i].affinity = all[c[0]:c[1]], all[f[0]:f[1]]
	}
}

func (w *portWriter) epAt(ap netip.AddrPort) int {
	if w.indexed {
		if i, ok := w.epIndex[ap]; ok {
			return i
		}
		return -1
	}
	for i := range w.eps {
		if w.eps[i].ap == ap {
			return i
		}
	}
	return -1
}

func (w *portWriter) addChain(name string, rules ...Rule) {
	w.pushChain(w.a.chain(name, w.a.list(rules...)))
}

// pushChain adds a chain to the fragment, with the hash of its name (taken
// now, while the name is in this CPU's cache, for the table's index).
func (w *portWriter) pushChain(c *Chain) {
	w.frag.chains, w.frag.hashes = append(w.frag.chains, c), append(w.frag.hashes, nameHash(c.Name))
}

// pushSet adds a set to the fragment, with the hash of its name.
func (w *portWriter) pushSet(s *Set) {
	w.frag.sets, w.frag.setHashes = append(w.frag.sets, s), append(w.frag.setHashes, nameHash(s.Name))
}

func (w *portWriter) elem(m sharedMap, key []Value, v Verdict) {
	w.frag.elems[m] = append(w.frag.elems[m], Element{Key: key, Verdict: w.a.verdict(v)})
}

// choices writes the endpoint-choice chains (cluster and local) with their
// numgen maps and endpoint chains, and picks where internal and external
// traffic go.
func (w *portWriter) choices() {
	pp := w.pp
	var eps []rulegen.Endpoint
	eps, w.intAction = pp.InternalSet()
	_, w.extAction = pp.ExternalSet()
	if len(pp.ClusterEndpoints) > 0 && (!pp.InternalLocal || !pp.ExternalLocal) {
		w.choiceChain(w.n.service, w.n.endpoints, pp.ClusterEndpoints, !pp.InternalLocal)
	}
	if (pp.InternalLocal || pp.ExternalLocal) && len(pp.LocalEndpoints) > 0 {
		w.choiceChain(w.n.local, w.n.endpointsLocal, pp.LocalEndpoints, pp.InternalLocal)
	}
	if len(eps) > 0 {
		w.internal = w.n.service
		if pp.InternalLocal {
			w.internal = w.n.local
		}
	}
	if w.extAction == rulegen.Forward {
		w.external = w.n.service
		if pp.ExternalLocal {
			w.external = w.n.local
		}
	}
}

// choiceChain writes a chain that picks one of eps: the ClusterIP
// masquerade rule (when clusterIPMasq), affinity lookups, then the numgen
// map.
func (w *portWriter) choiceChain(name, mapName string, eps []rulegen.Endpoint, clusterIPMasq bool) {
	fr, pp, a := w.fr, w.pp, w.a
	n := 2
	if pp.Affinity > 0 {
		n += len(eps)
	}
	rules := a.rules.take(n)[:0]
	if clusterIPMasq {
		if r, ok := w.masqRule(); ok {
			rules = append(rules, r)
		}
	}
	m := a.sets.one(Set{Name: mapName, Key: fr.numgenType, Verdict: true, Elements: a.elems.take(len(eps))})
	for i, ep := range eps {
		en := w.endpointChain(ep)
		m.Elements[i] = Element{Key: fr.numgenKey(i), Verdict: a.verdict(Goto(en.chain))}
		if pp.Affinity > 0 {
			rules = append(rules, a.rule(Lookup{Keys: fr.saddrKey, Set: en.affinity}, Goto(en.chain)))
		}
	}
	rules = append(rules, a.rule(NumgenVMap{Mod: uint32(len(eps)), Map: mapName}))
	w.pushSet(m)
	w.pushChain(a.chain(name, rules))
}

// masqRule spells the ClusterIP masquerade condition; false for Never (or
// IfNotLocal without a detector).
func (w *portWriter) masqRule() (Rule, bool) {
	fr, pp := w.fr, w.pp
	dst := MatchAddr{Field: fr.daddr, Prefix: netip.PrefixFrom(pp.ClusterIP, pp.ClusterIP.BitLen())}
	port := MatchPort{Proto: w.proto, Port: uint16(pp.Port)}
	switch pp.ClusterIPMasquerade {
	case nat.Never:
		return Rule{}, false
	case nat.IfNotLocal:
		m := fr.notLocal
		if m == nil {
			return Rule{}, false
		}
		return w.a.rule(dst, port, m, w.markMasq), true
	}
	return w.a.rule(dst, port, w.markMasq), true
}

// endpointChain writes (once per endpoint) the chain that masquerades
// hairpin traffic, records affinity and DNATs; it returns its names.
func (w *portWriter) endpointChain(ep rulegen.Endpoint) *epNames {
	en := &w.eps[w.epAt(ep.AddrPort())]
	if en.written {
		return en
	}
	en.written = true
	fr, a := w.fr, w.a
	hairpin := a.rule(MatchAddr{Field: fr.saddr, Prefix: netip.PrefixFrom(ep.Addr, ep.Addr.BitLen())}, w.markMasq)
	dnat := a.rule(w.protoStmt, DNAT{Addr: ep.Addr, Port: uint16(ep.Port)})
	if w.pp.Affinity > 0 {
		w.pushSet(a.sets.one(Set{Name: en.affinity, Key: fr.addrKeyType, Timeout: true, Dynamic: true,
			DefaultTimeout: w.pp.Affinity, Size: fr.r.opts.affinitySetSize()}))
		w.addChain(en.chain, hairpin, a.rule(UpdateSet{Keys: fr.saddrKey, Set: en.affinity, Timeout: w.pp.Affinity}), dnat)
		return en
	}
	w.addChain(en.chain, hairpin, dnat)
	return en
}

// toSet is the verdict that sends traffic on to a choice chain, or applies
// the set's action when it has no endpoints.
func toSet(chain string, action rulegen.Action) Verdict {
	switch {
	case chain != "":
		return Goto(chain)
	case action == rulegen.Reject:
		return Goto(chainReject)
	}
	return Drop()
}
