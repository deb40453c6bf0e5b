package iptables

import (
	"github.com/proxykit/proxykit/rulegen"
)

// frontend writes the rules that capture one frontend's traffic: the jump
// in nat, and in filter the REJECT (no endpoints at all), the DROP (no
// endpoint the policy may use) and the source-range firewall.
func (w *svcWriter) frontend(fe rulegen.Frontend) {
	switch fe.Kind {
	case rulegen.ClusterIP:
		_, action := w.pp.InternalSet()
		if action == rulegen.Forward {
			w.dst(w.sharedW(natServices), fe, " cluster IP").jump(w.internal)
			return
		}
		w.verdict(w.dst(w.sharedW(filterServices), fe, " cluster IP"), action)
	case rulegen.NodePort:
		w.nodePort(fe)
	default:
		w.externalFrontend(fe)
	}
}

// dst writes "-d A/32 -p tcp -m comment --comment "<spn><what>" -m tcp --dport N".
func (w *svcWriter) dst(rw *ruleWriter, fe rulegen.Frontend, what string) *ruleWriter {
	if fe.Addr.IsValid() {
		rw.host("-d", fe.Addr)
	}
	return w.dport(rw.a(w.n.protoArg).comment(w.n.spn, what), fe.Port)
}

func (w *svcWriter) externalFrontend(fe rulegen.Frontend) {
	pp := w.pp
	what := " external IP"
	if fe.Kind == rulegen.LoadBalancer {
		what = " loadbalancer IP"
	}
	if !pp.HasEndpoints {
		w.verdict(w.dst(w.sharedW(filterExternal), fe, what), rulegen.Reject)
		return
	}
	target := w.n.ext
	if fe.Kind == rulegen.LoadBalancer && len(fe.SourceRanges) > 0 {
		target = w.firewallChain(fe)
		w.dst(w.sharedW(filterFirewall), fe, " traffic not accepted by "+target).jump("DROP")
	}
	w.dst(w.sharedW(natServices), fe, what).jump(target)
	if _, action := pp.ExternalSet(); action == rulegen.Drop {
		w.dst(w.sharedW(filterExternal), fe, " has no local endpoints").jump("DROP")
	}
}

// firewallChain writes the nat FW chain of a load-balancer IP: allowed
// sources go on to the EXT chain; the rest fall through undisturbed and are
// dropped by the filter firewall, which still sees the load-balancer IP.
func (w *svcWriter) firewallChain(fe rulegen.Frontend) string {
	if w.hasChain(w.n.fw) {
		return w.n.fw // one FW chain serves every LB IP of the port
	}
	rw := w.newChain(w.n.fw)
	for _, src := range fe.SourceRanges {
		rw.begin().prefix("-s", src).comment(w.n.spn, " loadbalancer IP").jump(w.n.ext)
	}
	return w.n.fw
}

// nodePort writes the NodePort rules. The nat rule and the health-check
// rule are written once per port (the dispatch to KUBE-NODEPORTS, for every
// local address or the configured ones, is static); filter verdicts are
// written per NodePort address.
func (w *svcWriter) nodePort(fe rulegen.Frontend) {
	pp := w.pp
	if w.firstNodePort(fe) {
		if pp.HealthCheckNodePort != 0 {
			w.dport(w.sharedW(filterNodePorts).a(w.n.protoArg).comment(w.n.spn, " health check node port"),
				pp.HealthCheckNodePort).jump("ACCEPT")
		}
		if pp.HasEndpoints {
			w.dport(w.sharedW(natNodePorts).a(w.n.protoArg).comment(w.n.spn), fe.Port).jump(w.n.ext)
		}
	}
	if !pp.HasEndpoints {
		w.verdict(w.nodePortDst(w.sharedW(filterExternal), fe, ""), rulegen.Reject)
	} else if _, action := pp.ExternalSet(); action == rulegen.Drop {
		w.nodePortDst(w.sharedW(filterExternal), fe, " has no local endpoints").jump("DROP")
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
func (w *svcWriter) nodePortDst(rw *ruleWriter, fe rulegen.Frontend, what string) *ruleWriter {
	if fe.Addr.IsValid() {
		return w.dst(rw, fe, what)
	}
	return w.dport(rw.a(w.n.protoArg, "-m addrtype --dst-type LOCAL").comment(w.n.spn, what), fe.Port)
}

// verdict ends a rule with REJECT or DROP.
func (w *svcWriter) verdict(rw *ruleWriter, action rulegen.Action) {
	if action == rulegen.Drop {
		rw.jump("DROP")
		return
	}
	with := "icmp-port-unreachable"
	if w.r.family == IPv6 {
		with = "icmp6-port-unreachable"
	}
	rw.jump("REJECT", "--reject-with", with)
}
