package ipvs

import (
	"fmt"
	"net/netip"
	"strconv"

	"github.com/proxykit/proxykit/iptables"
	"github.com/proxykit/proxykit/rulegen"
)

// The companion chains, after the chain prefix.
const (
	chainServices    = "SERVICES"
	chainPostrouting = "POSTROUTING"
	chainMarkMasq    = "MARK-MASQ"
	chainShortcut    = "EXT-SHORTCUT"
	chainFirewall    = "IPVS-FIREWALL"
	chainSourceRange = "IPVS-SOURCE-RANGES"
	chainForward     = "FORWARD"
)

// companionRules builds one family's companion rules; rules go through
// iptables.NewRule, in the argument order iptables-save prints.
type companionRules struct {
	p, set string // chain prefix; set prefix for this family
	v6     bool
	cfg    rulegen.Config
	err    error
}

func (c *companionRules) rule(chain string, args ...string) iptables.Rule {
	r, err := iptables.NewRule(chain, args...)
	if err != nil && c.err == nil {
		c.err = fmt.Errorf("ipvs: companion rule: %w", err)
	}
	return r
}

func (c *companionRules) match(set, dirs string) []string {
	return []string{"-m", "set", "--match-set", SetName(c.set, set, c.v6), dirs}
}

func (c *companionRules) chain(name string, rules ...iptables.Rule) *iptables.Chain {
	return iptables.NewChain(name, rules...)
}

func builtinChain(name string, rules ...iptables.Rule) *iptables.Chain {
	c := iptables.NewChain(name, rules...)
	c.Policy = "ACCEPT"
	return c
}

// companion returns the nat and filter tables of one family.
func (b *builder) companion(plan *rulegen.Plan, f iptables.Family, cuts []shortcut) *iptables.Ruleset {
	c := &companionRules{p: b.r.opts.ChainPrefix, set: b.r.opts.SetPrefix, v6: f == iptables.IPv6, cfg: plan.Config}
	rs := iptables.NewRuleset(f)
	natT, filterT := rs.EnsureTable(iptables.TableNat), rs.EnsureTable(iptables.TableFilter)
	for _, ch := range c.natChains(cuts) {
		natT.SetChain(ch)
	}
	for _, ch := range c.filterChains() {
		filterT.SetChain(ch)
	}
	if c.err != nil {
		// The arguments are built here from validated values: an error is a bug.
		natT.SetChain(c.chain(c.p+chainServices, c.rule(c.p+chainServices, "-m", "comment", "--comment", "proxykit render error: "+c.err.Error())))
	}
	return rs
}

func (c *companionRules) markString() string {
	m := c.cfg.Mark()
	return fmt.Sprintf("%#x/%#x", m.Value, m.Mask)
}

// natChains: KUBE-SERVICES (from PREROUTING and OUTPUT) marks for
// masquerade and short-circuits; KUBE-POSTROUTING masquerades marked and
// hairpin traffic.
func (c *companionRules) natChains(cuts []shortcut) []*iptables.Chain {
	p := c.p
	svc, post, masq, cut := p+chainServices, p+chainPostrouting, p+chainMarkMasq, p+chainShortcut
	lo := "127.0.0.0/8"
	if c.v6 {
		lo = "::1/128"
	}
	fromNode := []string{"-m", "addrtype", "--src-type", "LOCAL"}
	local := c.detector(false)
	var svcRules []iptables.Rule
	svcRules = append(svcRules, c.rule(svc, "-s", lo, "-j", "RETURN"))
	svcRules = append(svcRules, c.rule(svc, cat(fromNode, c.match(SetExternalLocal, "dst,dst"), []string{"-j", masq})...))
	svcRules = append(svcRules, c.rule(svc, cat(fromNode, c.match(SetExternalLocal, "dst,dst"), []string{"-j", cut})...))
	if local != nil {
		svcRules = append(svcRules, c.rule(svc, cat(local, c.match(SetExternalLocal, "dst,dst"), []string{"-j", cut})...))
	}
	switch {
	case c.cfg.MasqueradeAll:
		svcRules = append(svcRules, c.rule(svc, cat(c.match(SetClusterIP, "dst,dst"), []string{"-j", masq})...))
	case local != nil:
		svcRules = append(svcRules, c.rule(svc, cat(c.detector(true), c.match(SetClusterIP, "dst,dst"), []string{"-j", masq})...))
	default:
		svcRules = append(svcRules, c.rule(svc, cat(c.match(SetClusterIP, "src,dst"), []string{"-j", masq})...))
	}
	for _, set := range []string{SetExternalIP, SetLoadBalancer, SetNodePort} {
		svcRules = append(svcRules, c.rule(svc, cat(c.match(set, "dst,dst"), []string{"-j", masq})...))
	}
	var cutRules []iptables.Rule
	for _, s := range cuts {
		proto := lower(s.proto)
		cutRules = append(cutRules, c.rule(cut, "-d", hostCIDR(s.frontend), "-p", proto, "-m", proto,
			"--dport", strconv.Itoa(int(s.frontend.Port())), "-j", "DNAT", "--to-destination", s.cluster.String()))
	}
	portals := []string{"-m", "comment", "--comment", "kubernetes service portals", "-j", svc}
	return []*iptables.Chain{
		c.chain(svc, svcRules...),
		c.chain(cut, cutRules...),
		c.chain(masq, c.rule(masq, "-j", "MARK", "--set-xmark", c.markString())),
		c.chain(post,
			c.rule(post, cat(c.match(SetLoopback, "dst,dst,src"), []string{"-j", "MASQUERADE"})...),
			c.rule(post, "-m", "mark", "!", "--mark", c.markString(), "-j", "RETURN"),
			c.rule(post, "-j", "MARK", "--set-xmark", fmt.Sprintf("%#x/0x0", c.cfg.Mark().Value)),
			c.rule(post, "-m", "comment", "--comment", "kubernetes service traffic requiring SNAT", "-j", "MASQUERADE", "--random-fully")),
		builtinChain("PREROUTING", c.rule("PREROUTING", portals...)),
		builtinChain("OUTPUT", c.rule("OUTPUT", portals...)),
		builtinChain("POSTROUTING", c.rule("POSTROUTING", "-m", "comment", "--comment", "kubernetes postrouting rules", "-j", post)),
	}
}

// filterChains: new connections to frontends without endpoints are
// rejected, to Local-policy frontends without a local endpoint dropped, to
// LoadBalancers from outside their source ranges dropped; replies of IPVS
// connections are forwarded whatever FORWARD's policy.
func (c *companionRules) filterChains() []*iptables.Chain {
	p := c.p
	fw, src, fwd := p+chainFirewall, p+chainSourceRange, p+chainForward
	unreach := "icmp-port-unreachable"
	if c.v6 {
		unreach = "icmp6-port-unreachable"
	}
	hook := func(chain, target string) iptables.Rule {
		return c.rule(chain, "-m", "conntrack", "--ctstate", "NEW", "-m", "comment", "--comment", "kubernetes ipvs service firewall", "-j", target)
	}
	return []*iptables.Chain{
		c.chain(fw,
			c.rule(fw, cat(c.match(SetNoEndpoints, "dst,dst"), []string{"-j", "REJECT", "--reject-with", unreach})...),
			c.rule(fw, cat(c.match(SetNoLocalEndpoints, "dst,dst"), []string{"-j", "DROP"})...),
			c.rule(fw, cat(c.match(SetFirewall, "dst,dst"), []string{"-j", src})...)),
		c.chain(src,
			c.rule(src, cat(c.match(SetSourceRanges, "dst,dst,src"), []string{"-j", "RETURN"})...),
			c.rule(src, "-j", "DROP")),
		c.chain(fwd,
			c.rule(fwd, "-m", "comment", "--comment", "kubernetes forwarding rules", "-m", "mark", "--mark", c.markString(), "-j", "ACCEPT"),
			c.rule(fwd, "-m", "comment", "--comment", "kubernetes forwarding conntrack rule", "-m", "conntrack", "--ctstate", "RELATED,ESTABLISHED", "-j", "ACCEPT")),
		builtinChain("INPUT", hook("INPUT", fw)),
		builtinChain("FORWARD", c.rule("FORWARD", "-m", "comment", "--comment", "kubernetes forwarding rules", "-j", fwd)),
		builtinChain("OUTPUT", hook("OUTPUT", fw)),
	}
}

// detector spells the local-traffic detector as a match (negated), nil
// when it has none.
func (c *companionRules) detector(negate bool) []string {
	f := iptables.IPv4
	if c.v6 {
		f = iptables.IPv6
	}
	return iptables.DetectorMatch(c.cfg.LocalDetector, f, negate)
}

func cat(parts ...[]string) []string {
	var out []string
	for _, p := range parts {
		out = append(out, p...)
	}
	return out
}

func lower(p Protocol) string {
	return map[Protocol]string{TCP: "tcp", UDP: "udp", SCTP: "sctp"}[p]
}

func hostCIDR(ap interface{ Addr() netip.Addr }) string {
	a := ap.Addr()
	return netip.PrefixFrom(a, a.BitLen()).String()
}
