package sample

import (
	"github.com/proxykit/proxykit/servicemodel"
)

// ep builds an endpoint of a sample pod in one family.
func ep(pod string, v6 bool, ready, serving, terminating *bool) servicemodel.Endpoint {
	p, _ := PodByName(pod)
	addr := p.V4
	if v6 {
		addr = p.V6
	}
	zone := Zone
	if p.Node != NodeName {
		zone = "zone-b"
	}
	return servicemodel.Endpoint{Addr: addr, Ready: ready, Serving: serving, Terminating: terminating, NodeName: p.Node, Zone: zone}
}

func ready(pods ...string) func(bool) []servicemodel.Endpoint {
	return func(v6 bool) []servicemodel.Endpoint {
		out := make([]servicemodel.Endpoint, len(pods))
		for i, p := range pods {
			// nil conditions: Kubernetes' "ready" default.
			out[i] = ep(p, v6, nil, nil, nil)
		}
		return out
	}
}

func slicePair(svc, portName string, proto servicemodel.Protocol, target int32, eps func(bool) []servicemodel.Endpoint, v6 bool) []*servicemodel.EndpointSlice {
	mk := func(family servicemodel.IPFamily, isV6 bool) *servicemodel.EndpointSlice {
		return &servicemodel.EndpointSlice{Service: name(svc), Name: svc + "-" + portName + "-" + string(family), Family: family,
			Ports:     []servicemodel.EndpointPort{{Name: portName, Protocol: proto, Port: target}},
			Endpoints: eps(isV6)}
	}
	out := []*servicemodel.EndpointSlice{mk(servicemodel.IPv4, false)}
	if v6 {
		out = append(out, mk(servicemodel.IPv6, true))
	}
	return out
}

// Slices returns the sample's EndpointSlices.
func Slices() []*servicemodel.EndpointSlice {
	f, t := servicemodel.Bool(false), servicemodel.Bool(true)
	var out []*servicemodel.EndpointSlice
	add := func(s []*servicemodel.EndpointSlice) { out = append(out, s...) }
	add(slicePair("web", "http", servicemodel.TCP, ServerPort, ready("pod-a1", "pod-b1"), true))
	// web's pod-a1 is also listed, not ready, in a second slice: the ready copy wins.
	out = append(out, &servicemodel.EndpointSlice{Service: name("web"), Name: "web-IPv4-extra", Family: servicemodel.IPv4,
		Ports:     []servicemodel.EndpointPort{{Name: "http", Protocol: servicemodel.TCP, Port: ServerPort}},
		Endpoints: []servicemodel.Endpoint{ep("pod-a1", false, f, f, nil)}})
	add(slicePair("dns", "dns", servicemodel.UDP, DNSPort, ready("pod-a2"), true))
	add(slicePair("dns", "dns-tcp", servicemodel.TCP, DNSPort, ready("pod-a2"), true))
	add(slicePair("shop", "http", servicemodel.TCP, ServerPort, ready("pod-a1", "pod-b1"), true))
	add(slicePair("lb-local", "http", servicemodel.TCP, ServerPort, ready("pod-a3", "pod-b2"), false))
	add(slicePair("ext", "http", servicemodel.TCP, ServerPort, ready("pod-b1"), true))
	add(slicePair("itp-local", "http", servicemodel.TCP, ServerPort, ready("pod-a2", "pod-b2"), false))
	add(slicePair("sticky", "http", servicemodel.TCP, ServerPort, ready("pod-a1", "pod-a2", "pod-b1"), true))
	add(slicePair("draining", "http", servicemodel.TCP, ServerPort, func(v6 bool) []servicemodel.Endpoint {
		return []servicemodel.Endpoint{ep("pod-a3", v6, f, t, t), ep("pod-b2", v6, f, f, t), ep("pod-b1", v6, f, f, nil)}
	}, false))
	v6only := slicePair("v6only", "http", servicemodel.TCP, ServerPort, ready("pod-a1"), true)
	add(v6only[1:])
	add(slicePair("remote-only", "http", servicemodel.TCP, ServerPort, ready("pod-b2"), false))
	add(slicePair("zonal", "http", servicemodel.TCP, ServerPort, func(v6 bool) []servicemodel.Endpoint {
		a, b := ep("pod-a2", v6, nil, nil, nil), ep("pod-b2", v6, nil, nil, nil)
		a.ForZones, b.ForZones = []string{Zone}, []string{"zone-b"}
		return []servicemodel.Endpoint{a, b}
	}, false))
	return out
}
