package iptables

import "fmt"

// Static chain names, after the prefix.
const (
	chainServices         = "SERVICES"
	chainNodePorts        = "NODEPORTS"
	chainPostrouting      = "POSTROUTING"
	chainMarkMasq         = "MARK-MASQ"
	chainExternalServices = "EXTERNAL-SERVICES"
	chainForward          = "FORWARD"
	chainFirewall         = "PROXY-FIREWALL"
	chainCanary           = "PROXY-CANARY"
)

// sharedChain identifies a chain that every service contributes rules to.
type sharedChain uint8

const (
	natServices sharedChain = iota
	natNodePorts
	filterServices
	filterExternal
	filterNodePorts
	filterFirewall
	numShared
)

func (s sharedChain) table() string {
	if s <= natNodePorts {
		return TableNat
	}
	return TableFilter
}

func (s sharedChain) name(prefix string) string {
	return prefix + [...]string{chainServices, chainNodePorts, chainServices, chainExternalServices, chainNodePorts, chainFirewall}[s]
}

// staticRules returns the rules of the static chains and of the built-in
// hooks: masquerade marking, postrouting, forwarding, the jumps from the
// built-in chains, and the NodePort dispatch at the end of KUBE-SERVICES.
func (r *renderer) staticChains() (nat, filter []*Chain) {
	p, m := r.prefix, r.mark
	markStr := fmt.Sprintf("%#x/%#x", m.Value, m.Mask)
	nat = []*Chain{
		r.chain(p+chainMarkMasq, r.rule(p+chainMarkMasq, "-j", "MARK", "--set-xmark", markStr)),
		r.chain(p+chainPostrouting,
			r.rule(p+chainPostrouting, "-m", "mark", "!", "--mark", markStr, "-j", "RETURN"),
			r.rule(p+chainPostrouting, "-j", "MARK", "--set-xmark", fmt.Sprintf("%#x/0x0", m.Value)),
			r.rule(p+chainPostrouting, "-m", "comment", "--comment", "kubernetes service traffic requiring SNAT", "-j", "MASQUERADE", "--random-fully")),
		r.chain(p + chainCanary),
		builtin("PREROUTING", r.rule("PREROUTING", "-m", "comment", "--comment", "kubernetes service portals", "-j", p+chainServices)),
		builtin("OUTPUT", r.rule("OUTPUT", "-m", "comment", "--comment", "kubernetes service portals", "-j", p+chainServices)),
		builtin("POSTROUTING", r.rule("POSTROUTING", "-m", "comment", "--comment", "kubernetes postrouting rules", "-j", p+chainPostrouting)),
	}
	newState := []string{"-m", "conntrack", "--ctstate", "NEW"}
	hook := func(chain, comment, target string, isNew bool) Rule {
		var args []string
		if isNew {
			args = append(args, newState...)
		}
		return r.rule(chain, append(args, "-m", "comment", "--comment", comment, "-j", p+target)...)
	}
	fw := "kubernetes load balancer firewall"
	filter = []*Chain{
		r.chain(p+chainForward,
			r.rule(p+chainForward, "-m", "conntrack", "--ctstate", "INVALID", "-j", "DROP"),
			r.rule(p+chainForward, "-m", "comment", "--comment", "kubernetes forwarding rules", "-m", "mark", "--mark", markStr, "-j", "ACCEPT"),
			r.rule(p+chainForward, "-m", "comment", "--comment", "kubernetes forwarding conntrack rule", "-m", "conntrack", "--ctstate", "RELATED,ESTABLISHED", "-j", "ACCEPT")),
		r.chain(p + chainCanary),
		builtin("INPUT",
			hook("INPUT", fw, chainFirewall, true),
			hook("INPUT", "kubernetes health check service ports", chainNodePorts, false),
			hook("INPUT", "kubernetes externally-visible service portals", chainExternalServices, true)),
		builtin("FORWARD",
			hook("FORWARD", fw, chainFirewall, true),
			hook("FORWARD", "kubernetes forwarding rules", chainForward, false),
			hook("FORWARD", "kubernetes service portals", chainServices, true),
			hook("FORWARD", "kubernetes externally-visible service portals", chainExternalServices, true)),
		builtin("OUTPUT",
			hook("OUTPUT", fw, chainFirewall, true),
			hook("OUTPUT", "kubernetes service portals", chainServices, true)),
	}
	return nat, filter
}

// nodePortDispatch is the last rule of nat KUBE-SERVICES: traffic to a
// NodePort address goes on to KUBE-NODEPORTS.
func (r *renderer) nodePortDispatch() []Rule {
	p := r.prefix
	comment := []string{"-m", "comment", "--comment", "kubernetes service nodeports; NOTE: this must be the last rule in this chain"}
	npa := r.plan.Config.NodePortAddresses
	if npa.AllLocal() {
		args := comment
		if r.family == IPv4 && !r.plan.Config.LocalhostNodePorts {
			args = append([]string{"!", "-d", "127.0.0.0/8"}, args...)
		}
		if r.family == IPv6 {
			args = append([]string{"!", "-d", "::1/128"}, args...)
		}
		return []Rule{r.rule(p+chainServices, append(args, "-m", "addrtype", "--dst-type", "LOCAL", "-j", p+chainNodePorts)...)}
	}
	var out []Rule
	for _, a := range r.nodePortAddrs {
		out = append(out, r.rule(p+chainServices, append([]string{"-d", hostPrefix(a)}, append(comment, "-j", p+chainNodePorts)...)...))
	}
	return out
}

func builtin(name string, rules ...Rule) *Chain {
	c := NewChain(name, rules...)
	c.Policy = "ACCEPT"
	return c
}
