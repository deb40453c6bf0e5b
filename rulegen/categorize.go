package rulegen

import (
	"slices"

	"github.com/proxykit/proxykit/servicemodel"
)

// topoEndpoint carries the hint fields categorize needs beside an Endpoint.
type topoEndpoint struct {
	Endpoint
	forZones, forNodes []string
}

func toPlanEndpoints(eps []servicemodel.PortEndpoint, publishNotReady bool, nodeName string) []topoEndpoint {
	out := make([]topoEndpoint, 0, len(eps))
	for _, e := range eps {
		pe := Endpoint{Addr: e.Addr, Port: e.Port, Local: nodeName != "" && e.NodeName == nodeName,
			Ready: e.Ready, Serving: e.Serving, Terminating: e.Terminating}
		if publishNotReady {
			pe.Ready, pe.Serving = true, true
		}
		out = append(out, topoEndpoint{Endpoint: pe, forZones: e.ForZones, forNodes: e.ForNodes})
	}
	return out
}

// categorize fills the cluster and local endpoint sets as Kubernetes defines
// them (kube-proxy's CategorizeEndpoints):
//   - cluster set: ready endpoints, narrowed by topology hints when every
//     ready endpoint has hints and one matches this node or zone; when no
//     ready endpoint exists, serving terminating ones (the fallback);
//   - local set: this node's ready endpoints, or if none, its serving
//     terminating ones;
//   - HasEndpoints: any ready or serving-terminating endpoint anywhere.
func categorize(pp *PortPlan, eps []topoEndpoint, node Node) {
	usesCluster := !pp.InternalLocal || !pp.ExternalLocal && hasExternal(pp)
	usesLocal := pp.InternalLocal || pp.ExternalLocal
	for _, e := range eps {
		if e.Ready || e.Serving && e.Terminating {
			pp.HasEndpoints = true
			break
		}
	}
	if usesCluster {
		filter := topologyFilter(eps, node)
		pp.ClusterEndpoints = pick(eps, func(e topoEndpoint) bool { return e.Ready && filter(e) })
		if len(pp.ClusterEndpoints) == 0 {
			pp.ClusterEndpoints = pick(eps, func(e topoEndpoint) bool { return e.Serving && e.Terminating && filter(e) })
		}
	}
	if usesLocal {
		pp.LocalEndpoints = pick(eps, func(e topoEndpoint) bool { return e.Local && e.Ready })
		if len(pp.LocalEndpoints) == 0 {
			pp.LocalEndpoints = pick(eps, func(e topoEndpoint) bool { return e.Local && e.Serving && e.Terminating })
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

func pick(eps []topoEndpoint, keep func(topoEndpoint) bool) []Endpoint {
	var out []Endpoint
	for _, e := range eps {
		if keep(e) {
			out = append(out, e.Endpoint)
		}
	}
	return out
}

// topologyFilter applies topology hints with kube-proxy's safeguards: hints
// are used only when every ready endpoint carries them and at least one is
// for this node (node hints) or this node's zone (zone hints); otherwise all
// endpoints are eligible.
func topologyFilter(eps []topoEndpoint, node Node) func(topoEndpoint) bool {
	allNode, allZone, forNode, forZone := true, true, false, false
	for _, e := range eps {
		if !e.Ready {
			continue
		}
		if len(e.forNodes) == 0 {
			allNode = false
		} else if slices.Contains(e.forNodes, node.Name) {
			forNode = true
		}
		if len(e.forZones) == 0 {
			allZone = false
		} else if slices.Contains(e.forZones, node.Zone) {
			forZone = true
		}
	}
	switch {
	case allNode && forNode && node.Name != "":
		return func(e topoEndpoint) bool { return slices.Contains(e.forNodes, node.Name) }
	case allZone && forZone && node.Zone != "":
		return func(e topoEndpoint) bool { return slices.Contains(e.forZones, node.Zone) }
	}
	return func(topoEndpoint) bool { return true }
}
