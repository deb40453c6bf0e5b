package nftables

import (
	"net/netip"

	"github.com/proxykit/proxykit/rulegen"
)

// externalChain writes the external- chain: masquerade and the external
// policy, with the ETP=Local short-circuits: traffic from local pods goes
// where ClusterIP traffic goes, unmasqueraded; traffic from the node itself
// likewise, masqueraded.
func (w *portWriter) externalChain() {
	pp := w.pp
	if !w.hasExternal() || !pp.HasEndpoints {
		return
	}
	var rules []Rule
	if !pp.ExternalLocal {
		rules = append(rules, w.a.rule(w.markMasq), w.a.rule(toSet(w.external, w.extAction)))
		w.addChain(w.n.ext, rules...)
		return
	}
	internal := toSet(w.internal, w.intAction)
	if local := w.fr.isLocal; local != nil {
		rules = append(rules, w.a.rule(local, internal))
	}
	rules = append(rules,
		w.a.rule(MatchLocalSaddr{}, w.markMasq),
		w.a.rule(MatchLocalSaddr{}, internal),
		w.a.rule(toSet(w.external, w.extAction)))
	w.addChain(w.n.ext, rules...)
}

func (w *portWriter) hasExternal() bool {
	for _, fe := range w.pp.Frontends {
		if fe.External() {
			return true
		}
	}
	return false
}

// frontends adds the port's elements to the shared maps: where each
// frontend's traffic goes, or its verdict when it has no endpoints (the
// reject chain; drop for ITP=Local without local endpoints).
func (w *portWriter) frontends() {
	pp := w.pp
	var nodePortDone, fwDone bool
	for _, fe := range pp.Frontends {
		switch {
		case fe.Kind == rulegen.ClusterIP:
			w.elem(smServiceIPs, w.key3(fe.Addr, fe.Port), toSet(w.internal, w.intAction))
		case fe.Kind == rulegen.NodePort:
			if nodePortDone {
				continue // one element serves every NodePort address
			}
			nodePortDone = true
			key := w.a.key(Proto(w.proto), Port(uint16(fe.Port)))
			if pp.HasEndpoints {
				w.elem(smNodePorts, key, Goto(w.n.ext))
			} else {
				w.elem(smNodePorts, key, Goto(chainReject))
			}
		default:
			target := w.n.ext
			if fe.Kind == rulegen.LoadBalancer && len(fe.SourceRanges) > 0 {
				if !fwDone {
					w.firewallChain(fe.SourceRanges)
					fwDone = true
				}
				target = w.n.fw
			}
			if !pp.HasEndpoints && target == w.n.ext {
				target = chainReject
			}
			w.elem(smServiceIPs, w.key3(fe.Addr, fe.Port), Goto(target))
		}
	}
}

func (w *portWriter) key3(a netip.Addr, port int32) []Value {
	return w.a.key(IP(a), Proto(w.proto), Port(uint16(port)))
}

// firewallChain writes the firewall- chain of the port's load-balancer IPs:
// allowed sources go on (to the external- chain, or to the reject chain
// when the port has no endpoints); the others are dropped.
func (w *portWriter) firewallChain(ranges []netip.Prefix) {
	next := Goto(w.n.ext)
	if !w.pp.HasEndpoints {
		next = Goto(chainReject)
	}
	rules := make([]Rule, 0, len(ranges)+1)
	for _, p := range ranges {
		if p.Addr().Is4() != (w.fr.fam == FamilyIPv4) {
			continue
		}
		rules = append(rules, w.a.rule(MatchAddr{Field: w.fr.saddr, Prefix: p}, next))
	}
	w.addChain(w.n.fw, append(rules, w.a.rule(Drop()))...)
}
