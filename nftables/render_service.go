package nftables

import (
	"net/netip"

	"github.com/proxykit/proxykit/nat"
	"github.com/proxykit/proxykit/rulegen"
)

// portWriter renders one PortPlan into a fragment.
type portWriter struct {
	fr    *famRenderer
	pp    *rulegen.PortPlan
	n     portNames
	frag  *fragment
	proto uint8
	// the chains internal and external traffic go to; "" when the set has
	// no endpoints (the action is then in intAction/extAction)
	internal, external   string
	intAction, extAction rulegen.Action
	epChains             map[netip.AddrPort]string
}

var protoNumbers = map[string]uint8{"TCP": 6, "UDP": 17, "SCTP": 132}

func (fr *famRenderer) renderPort(pp *rulegen.PortPlan) *fragment {
	w := &portWriter{fr: fr, pp: pp, n: newPortNames(pp), proto: protoNumbers[string(pp.Protocol)],
		frag: &fragment{chains: make([]*Chain, 0, 3+len(pp.ClusterEndpoints))}}
	w.choices()
	w.externalChain()
	w.frontends()
	return w.frag
}

func (w *portWriter) addChain(name string, rules ...Rule) {
	w.frag.chains = append(w.frag.chains, &Chain{Name: name, Rules: rules})
}

func (w *portWriter) elem(m sharedMap, key []Value, v Verdict) {
	w.frag.elems[m] = append(w.frag.elems[m], Element{Key: key, Verdict: &v})
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
	fr, pp := w.fr, w.pp
	rules := make([]Rule, 0, 2+len(eps))
	if clusterIPMasq {
		if r, ok := w.masqRule(); ok {
			rules = append(rules, r)
		}
	}
	m := &Set{Name: mapName, Key: []DataType{TypeNumgen}, Verdict: true, Elements: make([]Element, len(eps))}
	for i, ep := range eps {
		chain := w.endpointChain(ep)
		m.Elements[i] = Element{Key: []Value{Int(uint32(i))}, Verdict: &Verdict{Kind: VerdictGoto, Chain: chain}}
		if pp.Affinity > 0 {
			rules = append(rules, rule(Lookup{Keys: []Field{fr.saddr}, Set: "affinity-" + chain[len("endpoint-"):]}, Goto(chain)))
		}
	}
	rules = append(rules, rule(NumgenVMap{Mod: uint32(len(eps)), Map: mapName}))
	w.frag.sets = append(w.frag.sets, m)
	w.addChain(name, rules...)
}

// masqRule spells the ClusterIP masquerade condition; false for Never (or
// IfNotLocal without a detector).
func (w *portWriter) masqRule() (Rule, bool) {
	fr, pp := w.fr, w.pp
	stmts := []Stmt{MatchAddr{Field: fr.daddr, Prefix: netip.PrefixFrom(pp.ClusterIP, pp.ClusterIP.BitLen())},
		MatchPort{Proto: w.proto, Port: uint16(pp.Port)}}
	switch pp.ClusterIPMasquerade {
	case nat.Never:
		return Rule{}, false
	case nat.IfNotLocal:
		m := fr.localMatch(true)
		if m == nil {
			return Rule{}, false
		}
		stmts = append(stmts, m)
	}
	return rule(append(stmts, Jump(chainMarkMasq))...), true
}

// endpointChain writes (once per endpoint) the chain that masquerades
// hairpin traffic, records affinity and DNATs; it returns its name.
func (w *portWriter) endpointChain(ep rulegen.Endpoint) string {
	if c, ok := w.epChains[ep.AddrPort()]; ok {
		return c
	}
	fr := w.fr
	suffix := w.n.endpoint(ep)
	name := "endpoint-" + suffix
	if w.epChains == nil {
		w.epChains = map[netip.AddrPort]string{}
	}
	w.epChains[ep.AddrPort()] = name
	rules := make([]Rule, 0, 3)
	rules = append(rules, rule(MatchAddr{Field: fr.saddr, Prefix: netip.PrefixFrom(ep.Addr, ep.Addr.BitLen())}, Jump(chainMarkMasq)))
	if w.pp.Affinity > 0 {
		set := "affinity-" + suffix
		w.frag.sets = append(w.frag.sets, &Set{Name: set, Key: []DataType{fr.addrType}, Timeout: true, Dynamic: true, DefaultTimeout: w.pp.Affinity})
		rules = append(rules, rule(UpdateSet{Keys: []Field{fr.saddr}, Set: set, Timeout: w.pp.Affinity}))
	}
	rules = append(rules, rule(MatchProto{Proto: w.proto}, DNAT{Addr: ep.Addr, Port: uint16(ep.Port)}))
	w.addChain(name, rules...)
	return name
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
