package iptables

import (
	"net/netip"
	"strconv"
	"strings"

	"github.com/proxykit/proxykit/nat"
	"github.com/proxykit/proxykit/rulegen"
)

// fragment is what one service port contributes: its own chains and its
// rules in the shared chains.
type fragment struct {
	nat, filter []*Chain
	shared      [numShared][]Rule
}

// svcWriter renders one PortPlan.
type svcWriter struct {
	r    *renderer
	pp   *rulegen.PortPlan
	n    names
	frag *fragment
	spn  string // the service port name, for comments
	// the chains the frontends jump to
	internal, external string
}

func (r *renderer) renderPort(pp *rulegen.PortPlan) *fragment {
	w := &svcWriter{r: r, pp: pp, frag: &fragment{}, spn: pp.Name.String(),
		n: names{prefix: r.prefix, hash: hashName(pp.Name, "")}}
	w.endpointChains()
	w.externalChain()
	for _, fe := range pp.Frontends {
		w.frontend(fe)
	}
	return w.frag
}

func (w *svcWriter) proto() []string {
	p := strings.ToLower(string(w.pp.Protocol))
	return []string{"-p", p}
}

// portMatch returns "-p tcp -m tcp --dport N".
func (w *svcWriter) portMatch(port int32) []string {
	p := strings.ToLower(string(w.pp.Protocol))
	return []string{"-m", p, "--dport", strconv.Itoa(int(port))}
}

func (w *svcWriter) comment(what string) []string {
	c := w.spn
	if what != "" {
		c += " " + what
	}
	return []string{"-m", "comment", "--comment", c}
}

func join(parts ...[]string) []string {
	var out []string
	for _, p := range parts {
		out = append(out, p...)
	}
	return out
}

// endpointChains writes the SVC (cluster) and SVL (local) chains and one SEP
// chain per endpoint, and decides which chains internal and external
// traffic jump to.
func (w *svcWriter) endpointChains() {
	pp := w.pp
	svc, svl := w.n.chain(kindSVC), w.n.chain(kindSVL)
	usesCluster := pp.ClusterEndpoints != nil || !pp.InternalLocal
	w.internal, w.external = svc, svc
	if pp.InternalLocal {
		w.internal = svl
	}
	if pp.ExternalLocal {
		w.external = svl
	}
	seps := map[string]bool{}
	if usesCluster && len(pp.ClusterEndpoints) > 0 {
		w.choiceChain(svc, pp.ClusterEndpoints, seps, !pp.InternalLocal)
	}
	if (pp.InternalLocal || pp.ExternalLocal) && len(pp.LocalEndpoints) > 0 {
		w.choiceChain(svl, pp.LocalEndpoints, seps, pp.InternalLocal)
	}
}

// choiceChain writes a chain that picks one of eps, with affinity, and the
// endpoints' SEP chains. With clusterIPMasq, the chain starts with the
// ClusterIP masquerade rule (kube-proxy's place for it).
func (w *svcWriter) choiceChain(name string, eps []rulegen.Endpoint, seps map[string]bool, clusterIPMasq bool) {
	r := w.r
	var rules []Rule
	if clusterIPMasq {
		if m := w.masqRule(name); m != nil {
			rules = append(rules, *m)
		}
	}
	sepNames := make([]string, len(eps))
	for i, ep := range eps {
		id := ep.AddrPort().String()
		sepNames[i] = w.n.sep(w.pp.Name, id)
		if !seps[sepNames[i]] {
			seps[sepNames[i]] = true
			w.frag.nat = append(w.frag.nat, w.sepChain(sepNames[i], ep))
		}
	}
	if w.pp.Affinity > 0 {
		for i, ep := range eps {
			rules = append(rules, r.rule(name, join(w.comment("-> "+ep.AddrPort().String()),
				[]string{"-m", "recent", "--rcheck", "--seconds", strconv.Itoa(int(w.pp.Affinity.Seconds())), "--reap",
					"--name", sepNames[i], "--mask", r.hostMask(), "--rsource", "-j", sepNames[i]})...))
		}
	}
	for i, ep := range eps {
		args := w.comment("-> " + ep.AddrPort().String())
		if n := len(eps) - i; n > 1 {
			args = append(args, "-m", "statistic", "--mode", "random", "--probability", StatisticProbability(1/float64(n)))
		}
		rules = append(rules, r.rule(name, append(args, "-j", sepNames[i])...))
	}
	w.frag.nat = append(w.frag.nat, r.chain(name, rules...))
}

// masqRule spells the ClusterIP masquerade condition, or nil for Never.
func (w *svcWriter) masqRule(chain string) *Rule {
	r, pp := w.r, w.pp
	dst := join([]string{"-d", hostPrefix(pp.ClusterIP)}, w.proto(), w.comment("cluster IP"), w.portMatch(pp.Port))
	var src []string
	switch pp.ClusterIPMasquerade {
	case nat.Never:
		return nil
	case nat.IfNotLocal:
		src = r.notLocal()
		if src == nil {
			return nil
		}
	}
	rule := r.rule(chain, append(insertAfterDst(src, dst), "-j", r.prefix+chainMarkMasq)...)
	return &rule
}

// insertAfterDst places source/interface matches where iptables-save prints
// them: "! -s X -d Y ..." or "-d Y ! -i IF ...".
func insertAfterDst(src, dst []string) []string {
	if len(src) == 0 {
		return dst
	}
	if src[len(src)-2] == "-s" {
		return append(append([]string{}, src...), dst...)
	}
	return append(append(append([]string{}, dst[:2]...), src...), dst[2:]...)
}

func (w *svcWriter) sepChain(name string, ep rulegen.Endpoint) *Chain {
	r := w.r
	target := ep.AddrPort().String()
	hairpin := r.rule(name, join([]string{"-s", hostPrefix(ep.Addr)}, w.comment(""), []string{"-j", r.prefix + chainMarkMasq})...)
	dnat := join(w.proto(), w.comment(""))
	if w.pp.Affinity > 0 {
		dnat = append(dnat, "-m", "recent", "--set", "--name", name, "--mask", r.hostMask(), "--rsource")
	}
	dnat = append(dnat, "-m", strings.ToLower(string(w.pp.Protocol)), "-j", "DNAT", "--to-destination", target)
	return r.chain(name, hairpin, r.rule(name, dnat...))
}

// externalChain writes the EXT chain: masquerade and the external policy,
// with the ETP=Local short-circuit for traffic from pods and the node.
func (w *svcWriter) externalChain() {
	if !w.hasExternal() {
		return
	}
	r, pp := w.r, w.pp
	ext := w.n.chain(kindEXT)
	var rules []Rule
	if !pp.ExternalLocal {
		rules = append(rules,
			r.rule(ext, join(w.comment("masquerade traffic from external sources"), []string{"-j", r.prefix + chainMarkMasq})...))
		if len(pp.ClusterEndpoints) > 0 {
			rules = append(rules, r.rule(ext, join(w.comment("cluster policy"), []string{"-j", w.external})...))
		}
	} else {
		if local := r.isLocal(); local != nil && w.hasSet(w.internal) {
			rules = append(rules, r.rule(ext, join(local, w.comment("pod traffic for external destinations"), []string{"-j", w.internal})...))
		}
		rules = append(rules, r.rule(ext, join(w.comment("masquerade LOCAL traffic for external destinations"),
			[]string{"-m", "addrtype", "--src-type", "LOCAL", "-j", r.prefix + chainMarkMasq})...))
		if w.hasSet(w.internal) {
			rules = append(rules, r.rule(ext, join(w.comment("route LOCAL traffic for external destinations"),
				[]string{"-m", "addrtype", "--src-type", "LOCAL", "-j", w.internal})...))
		}
		if len(pp.LocalEndpoints) > 0 {
			rules = append(rules, r.rule(ext, join(w.comment("local policy"), []string{"-j", w.external})...))
		}
	}
	w.frag.nat = append(w.frag.nat, r.chain(ext, rules...))
}

func (w *svcWriter) hasExternal() bool {
	for _, fe := range w.pp.Frontends {
		if fe.External() {
			return true
		}
	}
	return false
}

// hasSet reports whether the named choice chain has endpoints (was written).
func (w *svcWriter) hasSet(chain string) bool {
	if chain == w.n.chain(kindSVL) {
		return len(w.pp.LocalEndpoints) > 0
	}
	return len(w.pp.ClusterEndpoints) > 0
}

// dstArgs matches a frontend's destination and port.
func (w *svcWriter) dstArgs(fe rulegen.Frontend, what string) []string {
	var dst []string
	if fe.Addr.IsValid() {
		dst = []string{"-d", hostPrefix(fe.Addr)}
	}
	return join(dst, w.proto(), w.comment(what), w.portMatch(fe.Port))
}

func hostPrefix(a netip.Addr) string { return netip.PrefixFrom(a, a.BitLen()).String() }
