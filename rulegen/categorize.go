package rulegen

import (
	"slices"

	"github.com/proxykit/proxykit/servicemodel"
)

// endpointView reads a snapshot endpoint as the plan sees it on one node.
type endpointView struct {
	node            Node
	publishNotReady bool
}

func (v endpointView) convert(e *servicemodel.PortEndpoint) Endpoint {
	pe := Endpoint{Addr: e.Addr, Port: e.Port, Local: v.node.Name != "" && e.NodeName == v.node.Name,
		Ready: e.Ready, Serving: e.Serving, Terminating: e.Terminating}
	if v.publishNotReady {
		pe.Ready, pe.Serving = true, true
	}
	return pe
}

// categorize fills the cluster and local endpoint sets as Kubernetes defines
// them (kube-proxy's CategorizeEndpoints):
//   - cluster set: ready endpoints, narrowed by topology hints when every
//     ready endpoint has hints and one matches this node or zone; when no
//     ready endpoint exists, serving terminating ones (the fallback);
//   - local set: this node's ready endpoints, or if none, its serving
//     terminating ones;
//   - HasEndpoints: any ready or serving-terminating endpoint anywhere.
func categorize(pp *PortPlan, raw []servicemodel.PortEndpoint, v endpointView) {
	eps := make([]Endpoint, len(raw))
	for i := range raw {
		eps[i] = v.convert(&raw[i])
		if eps[i].Ready || eps[i].Serving && eps[i].Terminating {
			pp.HasEndpoints = true
		}
	}
	usesCluster := !pp.InternalLocal || !pp.ExternalLocal && hasExternal(pp)
	usesLocal := pp.InternalLocal || pp.ExternalLocal
	if usesCluster {
		inTopo := topologyFilter(raw, eps, v.node)
		pp.ClusterEndpoints = pick(eps, func(i int) bool { return eps[i].Ready && inTopo(i) })
		if len(pp.ClusterEndpoints) == 0 {
			pp.ClusterEndpoints = pick(eps, func(i int) bool { return eps[i].Serving && eps[i].Terminating && inTopo(i) })
		}
	}
	if usesLocal {
		pp.LocalEndpoints = pick(eps, func(i int) bool { return eps[i].Local && eps[i].Ready })
		if len(pp.LocalEndpoints) == 0 {
			pp.LocalEndpoints = pick(eps, func(i int) bool { return eps[i].Local && eps[i].Serving && eps[i].Terminating })
		}
	}
}

func hasExternal(pp *PortPlan) bool {
	for _, f := range pp.Frontends {
		if f.External() {
			return true
		}
	}
	return false
}

// pick returns the endpoints that keep accepts, in a slice of exact size,
// or eps itself when it keeps them all.
func pick(eps []Endpoint, keep func(int) bool) []Endpoint {
	n := 0
	for i := range eps {
		if keep(i) {
			n++
		}
	}
	switch n {
	case 0:
		return nil
	case len(eps):
		return eps // all kept: share the (immutable) conversion
	}
	out := make([]Endpoint, 0, n)
	for i := range eps {
		if keep(i) {
			out = append(out, eps[i])
		}
	}
	return out
}

// topologyFilter applies topology hints with kube-proxy's safeguards: hints
// are used only when every ready endpoint carries them and at least one is
// for this node (node hints) or this node's zone (zone hints); otherwise all
// endpoints are eligible.
func topologyFilter(raw []servicemodel.PortEndpoint, eps []Endpoint, node Node) func(int) bool {
	allNode, allZone, forNode, forZone := true, true, false, false
	for i := range raw {
		if !eps[i].Ready {
			continue
		}
		if len(raw[i].ForNodes) == 0 {
			allNode = false
		} else if slices.Contains(raw[i].ForNodes, node.Name) {
			forNode = true
		}
		if len(raw[i].ForZones) == 0 {
			allZone = false
		} else if slices.Contains(raw[i].ForZones, node.Zone) {
			forZone = true
		}
		if !allNode && !allZone {
			break // hints cannot apply; the usual case, decided at the first ready endpoint
		}
	}
	switch {
	case allNode && forNode && node.Name != "":
		return func(i int) bool { return slices.Contains(raw[i].ForNodes, node.Name) }
	case allZone && forZone && node.Zone != "":
		return func(i int) bool { return slices.Contains(raw[i].ForZones, node.Zone) }
	}
	return func(int) bool { return true }
}
