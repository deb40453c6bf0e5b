package ipvsvm

import (
	"net/netip"
	"testing"

	"github.com/proxykit/proxykit/rulegen"
	"github.com/proxykit/proxykit/servicemodel"
	"k8s.io/apimachinery/pkg/types"
)

// svcSpec is one TCP service of a hand-made plan.
type svcSpec struct {
	name        string
	clusterIP   string
	externalIPs []string
	port        int32
	target      int32
	endpoints   []string // on node "node-a" unless nodes says otherwise
	nodes       []string // per endpoint, its node
	scheduler   string
	etpLocal    bool
}

// planOf compiles a plan of services for node "node-a" with the given IPs.
func planOf(t testing.TB, nodeIPs []string, svcs ...svcSpec) *rulegen.Plan {
	t.Helper()
	return planFor(t, "node-a", nodeIPs, svcs...)
}

// planFor compiles a plan of services for a node.
func planFor(t testing.TB, nodeName string, nodeIPs []string, svcs ...svcSpec) *rulegen.Plan {
	t.Helper()
	var services []*servicemodel.Service
	var slices []*servicemodel.EndpointSlice
	for _, s := range svcs {
		name := types.NamespacedName{Namespace: "test", Name: s.name}
		svc := &servicemodel.Service{Name: name, Type: servicemodel.TypeClusterIP,
			ClusterIPs: []netip.Addr{netip.MustParseAddr(s.clusterIP)}, Scheduler: s.scheduler,
			Ports: []servicemodel.ServicePort{{Name: "p", Protocol: servicemodel.TCP, Port: s.port,
				TargetPort: servicemodel.TargetPort{Number: s.target}}}}
		if s.etpLocal {
			svc.ExternalTrafficPolicy = servicemodel.PolicyLocal
		}
		for _, e := range s.externalIPs {
			svc.ExternalIPs = append(svc.ExternalIPs, netip.MustParseAddr(e))
		}
		services = append(services, svc)
		sl := &servicemodel.EndpointSlice{Service: name, Name: s.name + "-1", Family: servicemodel.IPv4,
			Ports: []servicemodel.EndpointPort{{Name: "p", Protocol: servicemodel.TCP, Port: s.target}}}
		for i, e := range s.endpoints {
			node := "node-a"
			if i < len(s.nodes) {
				node = s.nodes[i]
			}
			sl.Endpoints = append(sl.Endpoints, servicemodel.Endpoint{Addr: netip.MustParseAddr(e), NodeName: node})
		}
		slices = append(slices, sl)
	}
	snap, err := servicemodel.NewSnapshot(services, slices)
	if err != nil {
		t.Fatal(err)
	}
	node := rulegen.Node{Name: nodeName}
	for _, ip := range nodeIPs {
		node.IPs = append(node.IPs, netip.MustParseAddr(ip))
	}
	plan, err := rulegen.Compile(snap, node, rulegen.Config{Families: []servicemodel.IPFamily{servicemodel.IPv4}})
	if err != nil {
		t.Fatal(err)
	}
	return plan
}
