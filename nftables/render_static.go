package nftables

import (
	"net/netip"

	"github.com/proxykit/proxykit/nat"
	"github.com/proxykit/proxykit/rulegen"
)

// The priorities of the base chains: dstnat and srcnat, as kube-proxy.
// There are no filter chains: the reject and drop verdicts of services
// without (usable) endpoints sit in the NAT maps (nat chains see exactly
// the first packet of each connection), because every base chain costs
// the kernel a walk of its graph on each commit.
const (
	prioDstNAT = -100
	prioSrcNAT = 100
)

func rule(stmts ...Stmt) Rule { return Rule{Stmts: stmts} }

func baseChain(name, typ, hook string, prio int, rules ...Rule) *Chain {
	return &Chain{Name: name, Hook: &Hook{Type: typ, Hook: hook, Priority: prio}, Rules: rules}
}

// sharedMapDef returns the definition (without elements) of a shared map.
func (fr *famRenderer) sharedMapDef(m sharedMap) *Set {
	key := []DataType{TypeInetProto, TypeInetService}
	if m == smServiceIPs {
		key = []DataType{fr.addrType, TypeInetProto, TypeInetService}
	}
	return &Set{Name: m.name(), Key: key, Verdict: true}
}

// staticObjects returns the chains and maps of a shard that do not depend
// on any one service: base chains, the dispatch chains, masquerading.
func (fr *famRenderer) staticChains(shard int) []*Chain {
	m := fr.mark
	toServices := rule(Jump(chainServices))
	chains := []*Chain{
		baseChain(chainNatPrerouting, "nat", "prerouting", prioDstNAT, toServices),
		baseChain(chainNatOutput, "nat", "output", prioDstNAT, toServices),
		{Name: chainServices, Rules: fr.dispatch(mapServiceIPs, mapServiceNodePorts)},
		{Name: chainReject, Rules: []Rule{rule(Reject{})}},
	}
	if shard == 0 {
		// Masquerading is node-wide: one chain, in shard 0, serves the
		// marks every shard sets.
		chains = append(chains,
			baseChain(chainNatPostrouting, "nat", "postrouting", prioSrcNAT, rule(Jump(chainMasquerading))),
			&Chain{Name: chainMasquerading, Rules: []Rule{
				rule(MatchMark{Mask: m.Mask, Value: m.Value, Neg: true}, Return()),
				rule(SetMark{Op: MarkXor, Value: m.Value}),
				rule(Masquerade{FullyRandom: true}),
			}})
	}
	return chains
}

// dispatch looks traffic up in a map of service addresses, then in a map of
// NodePorts for the NodePort addresses: every local address (but
// localhost, unless localhost NodePorts are on) or the configured ones.
func (fr *famRenderer) dispatch(ips, nodePorts string) []Rule {
	rules := []Rule{rule(VMap{Keys: []Field{fr.daddr, L4Proto, THDPort}, Map: ips})}
	np := VMap{Keys: []Field{L4Proto, THDPort}, Map: nodePorts}
	if fr.nodePortAllLocal {
		stmts := []Stmt{MatchLocalDaddr{}}
		switch {
		case fr.fam == FamilyIPv6:
			stmts = append(stmts, MatchAddr{Field: fr.daddr, Neg: true, Prefix: netip.MustParsePrefix("::1/128")})
		case !fr.localhostNodePorts:
			stmts = append(stmts, MatchAddr{Field: fr.daddr, Neg: true, Prefix: netip.MustParsePrefix("127.0.0.0/8")})
		}
		return append(rules, rule(append(stmts, np)...))
	}
	for _, a := range fr.nodePortAddrs {
		rules = append(rules, rule(MatchAddr{Field: fr.daddr, Prefix: netip.PrefixFrom(a, a.BitLen())}, np))
	}
	return rules
}

// localMatch spells the local-traffic detector (traffic from this node's
// pods), negated with neg; nil when the detector has no spelling.
func (fr *famRenderer) localMatch(neg bool) Stmt {
	d := fr.plan.Config.LocalDetector
	switch d.Mode {
	case nat.DetectClusterCIDR, nat.DetectNodeCIDR:
		if p, ok := d.CIDR(fr.fam == FamilyIPv4); ok {
			return MatchAddr{Field: fr.saddr, Neg: neg, Prefix: p}
		}
	case nat.DetectBridgeInterface:
		return MatchIfname{Name: d.Interface, Neg: neg}
	case nat.DetectInterfaceNamePrefix:
		return MatchIfname{Name: d.Interface + "*", Neg: neg}
	}
	return nil
}

// setPlan takes the node-wide settings of a plan.
func (fr *famRenderer) setPlan(plan *rulegen.Plan) {
	fr.plan = plan
	fr.mark = plan.Config.Mark()
	addrs, allLocal, _ := plan.NodePortAddrs(modelFamily(fr.fam))
	fr.nodePortAddrs, fr.nodePortAllLocal = addrs, allLocal
	fr.localhostNodePorts = plan.Config.LocalhostNodePorts && fr.fam == FamilyIPv4
	fr.isLocal, fr.notLocal = fr.localMatch(false), fr.localMatch(true)
	fr.markMasq = SetMark{Op: MarkOr, Value: fr.mark.Value}
}

// protoMatch returns the boxed match of protocol p, shared for the usual
// protocols.
func (fr *famRenderer) protoMatch(p uint8) Stmt {
	for _, s := range fr.protoStmts {
		if s.(MatchProto).Proto == p {
			return s
		}
	}
	return MatchProto{Proto: p}
}
