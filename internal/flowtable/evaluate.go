package flowtable

import (
	"net/netip"
	"slices"

	"github.com/proxykit/proxykit/internal/sample"
	"github.com/proxykit/proxykit/nat"
	"github.com/proxykit/proxykit/rulegen"
	"github.com/proxykit/proxykit/servicemodel"
)

var loopbackV4 = netip.MustParsePrefix("127.0.0.0/8")

// Evaluate decides a case against a Plan, the way every backend must: find
// the frontend, apply the source-range firewall, choose the endpoint set by
// traffic policy, and state the masquerade condition's outcome.
func Evaluate(plan *rulegen.Plan, c Case) Outcome {
	pp, fe, ok := match(plan, c)
	if !ok {
		return Outcome{Want: Want{Result: Dropped}}
	}
	out := Outcome{Service: pp.Name.String()}
	if fe.Kind == rulegen.LoadBalancer && len(fe.SourceRanges) > 0 && !inAny(fe.SourceRanges, c.From.Addr) {
		out.Result = Dropped
		return out
	}
	eps, action, masq := route(plan, pp, fe, c.From)
	switch action {
	case rulegen.Reject:
		out.Result = Rejected
		return out
	case rulegen.Drop:
		out.Result = Dropped
		return out
	}
	out.Result = Reached
	out.Masquerade = masq
	out.Sticky = pp.Affinity > 0
	for _, e := range eps {
		out.Endpoints = append(out.Endpoints, podName(e.Addr))
	}
	slices.Sort(out.Endpoints)
	return out
}

// route picks the endpoint set and the masquerade outcome for a source.
func route(plan *rulegen.Plan, pp *rulegen.PortPlan, fe rulegen.Frontend, from Source) ([]rulegen.Endpoint, rulegen.Action, bool) {
	det := plan.Config.LocalDetector
	podLocal := det.IsLocal(from.Addr, from.iface())
	if !fe.External() {
		eps, action := pp.InternalSet()
		return eps, action, holds(pp.ClusterIPMasquerade, podLocal)
	}
	if !pp.ExternalLocal {
		eps, action := pp.ExternalSet()
		return eps, action, true
	}
	switch {
	case podLocal:
		eps, action := pp.InternalSet()
		return eps, action, false
	case from.Where == FromNode:
		eps, action := pp.InternalSet()
		return eps, action, true
	}
	eps, action := pp.ExternalSet()
	return eps, action, false
}

// iface is the interface the source's traffic arrives on at the node: the
// pod bridge for pods, the external link for outside clients, none for the
// node's own traffic.
func (s Source) iface() string {
	switch s.Where {
	case FromPod:
		return sample.Bridge
	case FromOutside:
		return sample.ExternalLink
	}
	return ""
}

func holds(c nat.Condition, local bool) bool {
	switch c {
	case nat.Always:
		return true
	case nat.IfNotLocal:
		return !local
	}
	return false
}

// match finds the port plan and frontend that capture a case's traffic.
func match(plan *rulegen.Plan, c Case) (*rulegen.PortPlan, rulegen.Frontend, bool) {
	family := servicemodel.FamilyOf(c.Dst.Addr())
	for _, pp := range plan.Ports(family) {
		if pp.Protocol != c.Proto {
			continue
		}
		for _, fe := range pp.Frontends {
			if int32(c.Dst.Port()) == fe.Port && frontendHas(plan, fe, c.Dst.Addr(), c.From.Where) {
				return pp, fe, true
			}
		}
	}
	return nil, rulegen.Frontend{}, false
}

func frontendHas(plan *rulegen.Plan, fe rulegen.Frontend, dst netip.Addr, where Where) bool {
	if fe.Addr.IsValid() {
		return fe.Addr == dst || fe.Loopback && where == FromNode && loopbackV4.Contains(dst)
	}
	// A NodePort on every local address.
	if loopbackV4.Contains(dst) {
		return fe.Loopback && where == FromNode
	}
	return slices.Contains(plan.Node.IPs, dst)
}

func inAny(ps []netip.Prefix, a netip.Addr) bool {
	for _, p := range ps {
		if p.Contains(a) {
			return true
		}
	}
	return false
}

// podName maps an endpoint address back to its sample pod.
func podName(a netip.Addr) string {
	for _, p := range sample.Pods {
		if p.V4 == a || p.V6 == a {
			return p.Name
		}
	}
	return a.String()
}
