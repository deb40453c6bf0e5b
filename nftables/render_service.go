package nftables

import (
	"net/netip"
	"strings"

	"github.com/proxykit/proxykit/nat"
	"github.com/proxykit/proxykit/rulegen"
)

// portWriter renders one PortPlan into a fragment.
type portWriter struct {
	fr    *famRenderer
	pp    *rulegen.PortPlan
	n     portNames
	frag  *fragment
	a     *arena
	proto uint8
	// boxed once per port; markMasq sets the masquerade mark inline (a jump
	// to a marking chain per endpoint would make the kernel's validation of
	// every commit walk that chain 100k times)
	protoStmt, markMasq Stmt
	// the chains internal and external traffic go to; "" when the set has
	// no endpoints (the action is then in intAction/extAction)
	internal, external   string
	intAction, extAction rulegen.Action
	eps                  []epNames
	epIndex              map[netip.AddrPort]int // when there are many endpoints
}

// epNames are one endpoint's chain and affinity set names.
type epNames struct {
	ap              netip.AddrPort
	chain, affinity string
	written         bool
}

var protoNumbers = map[string]uint8{"TCP": 6, "UDP": 17, "SCTP": 132}

func (fr *famRenderer) renderPort(pp *rulegen.PortPlan) *fragment {
	// Sizes for the usual case: the local endpoints are among the
	// cluster's; the arena grows when they are not.
	neps, nfe := max(len(pp.ClusterEndpoints), len(pp.LocalEndpoints)), len(pp.Frontends)
	rules, stmts := 2*neps+6, 4*neps+12
	if pp.Affinity > 0 {
		rules, stmts = rules+2*neps, stmts+3*neps
	}
	w := &portWriter{fr: fr, pp: pp, n: newPortNames(pp), proto: protoNumbers[string(pp.Protocol)],
		a:    newArena(rules, stmts, 3*nfe+2, neps+nfe, neps+3),
		frag: &fragment{chains: make([]*Chain, 0, neps+3)}}
	w.protoStmt, w.markMasq = MatchProto{Proto: w.proto}, SetMark{Op: MarkOr, Value: fr.mark.Value}
	w.endpointNames()
	w.choices()
	w.externalChain()
	w.frontends()
	return w.frag
}

// endpointNames names every distinct endpoint of the port, cutting all the
// names from one string.
func (w *portWriter) endpointNames() {
	pp := w.pp
	n := len(pp.ClusterEndpoints) + len(pp.LocalEndpoints)
	if n == 0 {
		return
	}
	w.eps = make([]epNames, 0, n)
	if n > 16 {
		w.epIndex = make(map[netip.AddrPort]int, n)
	}
	per := len(w.n.id) + 32
	if pp.Affinity > 0 {
		per *= 2
	}
	// One string holds every name (a Builder's String does not copy).
	var b strings.Builder
	b.Grow(n * per)
	var tmp [160]byte
	put := func(kind string, ap netip.AddrPort) [2]int {
		start := b.Len()
		b.Write(w.n.appendEndpoint(append(tmp[:0], kind...), ap))
		return [2]int{start, b.Len()}
	}
	type span struct{ chain, aff [2]int }
	spans := make([]span, 0, n)
	for _, set := range [][]rulegen.Endpoint{pp.ClusterEndpoints, pp.LocalEndpoints} {
		for _, ep := range set {
			if w.epAt(ep.AddrPort()) >= 0 {
				continue
			}
			s := span{chain: put("endpoint-", ep.AddrPort())}
			if pp.Affinity > 0 {
				s.aff = put("affinity-", ep.AddrPort())
			}
			if w.epIndex != nil {
				w.epIndex[ep.AddrPort()] = len(w.eps)
			}
			w.eps = append(w.eps, epNames{ap: ep.AddrPort()})
			spans = append(spans, s)
		}
	}
	all := b.String()
	for i, s := range spans {
		w.eps[i].chain = all[s.chain[0]:s.chain[1]]
		w.eps[i].affinity = all[s.aff[0]:s.aff[1]]
	}
}

func (w *portWriter) epAt(ap netip.AddrPort) int {
	if w.epIndex != nil {
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
	w.frag.chains = append(w.frag.chains, w.a.chain(name, w.a.list(rules...)))
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
	rules := make([]Rule, 0, 2+len(eps))
	if clusterIPMasq {
		if r, ok := w.masqRule(); ok {
			rules = append(rules, r)
		}
	}
	m := &Set{Name: mapName, Key: []DataType{TypeNumgen}, Verdict: true, Elements: make([]Element, len(eps))}
	for i, ep := range eps {
		en := w.endpointChain(ep)
		m.Elements[i] = Element{Key: fr.numgenKey(i), Verdict: a.verdict(Goto(en.chain))}
		if pp.Affinity > 0 {
			rules = append(rules, a.rule(Lookup{Keys: fr.saddrKey, Set: en.affinity}, Goto(en.chain)))
		}
	}
	rules = append(rules, a.rule(NumgenVMap{Mod: uint32(len(eps)), Map: mapName}))
	w.frag.sets = append(w.frag.sets, m)
	w.frag.chains = append(w.frag.chains, a.chain(name, rules))
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
		w.frag.sets = append(w.frag.sets, &Set{Name: en.affinity, Key: []DataType{fr.addrType}, Timeout: true, Dynamic: true,
			DefaultTimeout: w.pp.Affinity, Size: fr.r.opts.affinitySetSize()})
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
