package iptables

import (
	"github.com/proxykit/proxykit/rulegen"
)

// frontend writes the rules that capture one frontend's traffic: the jump
// in nat, and in filter the REJECT (no endpoints at all), the DROP (no
// endpoint the policy may use) and the source-range firewall.
func (w *svcWriter) frontend(fe rulegen.Frontend) {
	pp := w.pp
	switch fe.Kind {
	case rulegen.ClusterIP:
		_, action := pp.InternalSet()
		args := w.dstArgs(fe, "cluster IP")
		if action == rulegen.Forward {
			w.add(natServices, append(args, "-j", w.internal))
			return
		}
		w.add(filterServices, w.verdict(args, action))
	case rulegen.NodePort:
		w.nodePort(fe)
	default:
		w.externalFrontend(fe)
	}
}

func (w *svcWriter) externalFrontend(fe rulegen.Frontend) {
	pp := w.pp
	what := "external IP"
	if fe.Kind == rulegen.LoadBalancer {
		what = "loadbalancer IP"
	}
	args := w.dstArgs(fe, what)
	if !pp.HasEndpoints {
		w.add(filterExternal, w.verdict(args, rulegen.Reject))
		return
	}
	target := w.n.chain(kindEXT)
	if fe.Kind == rulegen.LoadBalancer && len(fe.SourceRanges) > 0 {
		target = w.firewallChain(fe)
		w.add(filterFirewall, append(w.dstArgs(fe, "traffic not accepted by "+target), "-j", "DROP"))
	}
	w.add(natServices, append(args, "-j", target))
	if _, action := pp.ExternalSet(); action == rulegen.Drop {
		w.add(filterExternal, append(w.dstArgs(fe, "has no local endpoints"), "-j", "DROP"))
	}
}

// firewallChain writes the nat FW chain of a load-balancer IP: allowed
// sources go on to the EXT chain; the rest fall through undisturbed and are
// dropped by the filter firewall, which still sees the load-balancer IP.
func (w *svcWriter) firewallChain(fe rulegen.Frontend) string {
	fw := w.n.chain(kindFW)
	for _, c := range w.frag.nat {
		if c.Name == fw {
			return fw // one FW chain serves every LB IP of the port
		}
	}
	var rules []Rule
	for _, src := range fe.SourceRanges {
		rules = append(rules, w.r.rule(fw, join([]string{"-s", src.Masked().String()}, w.comment("loadbalancer IP"),
			[]string{"-j", w.n.chain(kindEXT)})...))
	}
	w.frag.nat = append(w.frag.nat, w.r.chain(fw, rules...))
	return fw
}

// nodePort writes the NodePort rules. The nat rule and the health-check
// rule are written once per port (the dispatch to KUBE-NODEPORTS, for every
// local address or the configured ones, is static); filter verdicts are
// written per NodePort address.
func (w *svcWriter) nodePort(fe rulegen.Frontend) {
	pp := w.pp
	if w.firstNodePort(fe) {
		if pp.HealthCheckNodePort != 0 {
			w.add(filterNodePorts, join(w.proto(), w.comment("health check node port"),
				w.portMatch(pp.HealthCheckNodePort), []string{"-j", "ACCEPT"}))
		}
		if pp.HasEndpoints {
			w.add(natNodePorts, join(w.proto(), w.comment(""), w.portMatch(fe.Port), []string{"-j", w.n.chain(kindEXT)}))
		}
	}
	if !pp.HasEndpoints {
		w.add(filterExternal, w.verdict(w.nodePortDst(fe, ""), rulegen.Reject))
	} else if _, action := pp.ExternalSet(); action == rulegen.Drop {
		w.add(filterExternal, append(w.nodePortDst(fe, "has no local endpoints"), "-j", "DROP"))
	}
}

func (w *svcWriter) firstNodePort(fe rulegen.Frontend) bool {
	for _, prev := range w.pp.Frontends {
		if prev.Kind == rulegen.NodePort {
			return prev.Addr == fe.Addr && prev.Port == fe.Port
		}
	}
	return false
}

// nodePortDst matches a NodePort frontend's destination in filter rules:
// its address, or every local address.
func (w *svcWriter) nodePortDst(fe rulegen.Frontend, what string) []string {
	if fe.Addr.IsValid() {
		return join([]string{"-d", hostPrefix(fe.Addr)}, w.proto(), w.comment(what), w.portMatch(fe.Port))
	}
	return join(w.proto(), []string{"-m", "addrtype", "--dst-type", "LOCAL"}, w.comment(what), w.portMatch(fe.Port))
}

// verdict appends REJECT or DROP.
func (w *svcWriter) verdict(args []string, action rulegen.Action) []string {
	if action == rulegen.Drop {
		return append(append([]string{}, args...), "-j", "DROP")
	}
	with := "icmp-port-unreachable"
	if w.r.family == IPv6 {
		with = "icmp6-port-unreachable"
	}
	return append(append([]string{}, args...), "-j", "REJECT", "--reject-with", with)
}

func (w *svcWriter) add(s sharedChain, args []string) {
	w.frag.shared[s] = append(w.frag.shared[s], w.r.rule(s.name(w.r.prefix), args...))
}
