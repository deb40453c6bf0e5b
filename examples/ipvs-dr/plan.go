package main

import (
	"net/netip"

	"github.com/proxykit/proxykit/rulegen"
	"github.com/proxykit/proxykit/servicemodel"
	"k8s.io/apimachinery/pkg/types"
)

var serviceName = types.NamespacedName{Namespace: "ingress", Name: "dr"}

// plan compiles the plan of one side: a Service "ingress/dr" whose
// externalIPs carry the VIP, with the given endpoints, for a node.
func plan(o options, port, target int, eps []endpoint, etpLocal bool, node rulegen.Node) (*rulegen.Plan, error) {
	svc := &servicemodel.Service{Name: serviceName, Type: servicemodel.TypeClusterIP,
		ClusterIPs: []netip.Addr{o.clusterIP}, ExternalIPs: []netip.Addr{o.vip},
		Ports: []servicemodel.ServicePort{{Name: "web", Protocol: servicemodel.TCP, Port: int32(port),
			TargetPort: servicemodel.TargetPort{Number: int32(target)}}}}
	if etpLocal {
		svc.ExternalTrafficPolicy = servicemodel.PolicyLocal
	}
	slice := &servicemodel.EndpointSlice{Service: serviceName, Name: "dr-1", Family: servicemodel.IPv4,
		Ports: []servicemodel.EndpointPort{{Name: "web", Protocol: servicemodel.TCP, Port: int32(target)}}}
	for _, e := range eps {
		slice.Endpoints = append(slice.Endpoints, servicemodel.Endpoint{Addr: e.addr, NodeName: e.node})
	}
	snap, err := servicemodel.NewSnapshot([]*servicemodel.Service{svc}, []*servicemodel.EndpointSlice{slice})
	if err != nil {
		return nil, err
	}
	return rulegen.Compile(snap, node, rulegen.Config{Families: []servicemodel.IPFamily{servicemodel.IPv4}})
}

// directorPlan: on the director, the Service's endpoints are the nodes, on
// the Service port itself (DR cannot change the port).
func directorPlan(o options) (*rulegen.Plan, error) {
	var eps []endpoint
	for _, n := range o.nodes {
		eps = append(eps, endpoint{n, "director"})
	}
	return plan(o, o.port, o.port, eps, false, rulegen.Node{Name: "director"})
}

// nodePlan: on a node, the Service's endpoints are the pods; the external
// traffic policy is Local, so that each node serves its own pods and the
// client's address is preserved.
func nodePlan(o options) (*rulegen.Plan, error) {
	return plan(o, o.port, o.targetPort, o.endpoints, true, rulegen.Node{Name: o.nodeName, IPs: []netip.Addr{o.nodeIP}})
}
