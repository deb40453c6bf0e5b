package sample

import (
	"net/netip"

	"github.com/proxykit/proxykit/servicemodel"
)

func addrs(ss ...string) []netip.Addr {
	out := make([]netip.Addr, len(ss))
	for i, s := range ss {
		out[i] = mustAddr(s)
	}
	return out
}

func port(nm string, proto servicemodel.Protocol, p, target, nodePort int32) servicemodel.ServicePort {
	return servicemodel.ServicePort{Name: nm, Protocol: proto, Port: p, TargetPort: servicemodel.TargetPort{Number: target}, NodePort: nodePort}
}

func http(nodePort int32) []servicemodel.ServicePort {
	return []servicemodel.ServicePort{port("http", servicemodel.TCP, 80, ServerPort, nodePort)}
}

// Services returns the sample's Services (one ExternalName, which proxies ignore).
func Services() []*servicemodel.Service {
	return []*servicemodel.Service{
		// Dual-stack ClusterIP with a local and a remote endpoint.
		{Name: name("web"), Type: servicemodel.TypeClusterIP, ClusterIPs: addrs("10.96.0.10", "fd00:10:96::10"), Ports: http(0)},
		// UDP and TCP on one port number, named target port.
		{Name: name("dns"), Type: servicemodel.TypeClusterIP, ClusterIPs: addrs("10.96.0.53", "fd00:10:96::53"),
			Ports: []servicemodel.ServicePort{
				{Name: "dns", Protocol: servicemodel.UDP, Port: 53, TargetPort: servicemodel.TargetPort{Name: "dns"}},
				{Name: "dns-tcp", Protocol: servicemodel.TCP, Port: 53, TargetPort: servicemodel.TargetPort{Name: "dns-tcp"}},
			}},
		// NodePort, external policy Cluster, Maglev hint for schedulers.
		{Name: name("shop"), Type: servicemodel.TypeNodePort, ClusterIPs: addrs("10.96.0.20", "fd00:10:96::20"), Ports: http(30080),
			ExternalTrafficPolicy: servicemodel.PolicyCluster, Scheduler: "mh"},
		// LoadBalancer, external policy Local, source ranges, health check.
		{Name: name("lb-local"), Type: servicemodel.TypeLoadBalancer, ClusterIPs: addrs("10.96.0.30"), Ports: http(30081),
			LoadBalancerIngress:      []servicemodel.LoadBalancerIngress{{IP: mustAddr("203.0.113.10")}, {IP: mustAddr("203.0.113.11"), IPMode: servicemodel.IPModeProxy}},
			LoadBalancerSourceRanges: []netip.Prefix{netip.MustParsePrefix("10.0.0.100/32"), netip.MustParsePrefix("10.0.0.10/32")},
			ExternalTrafficPolicy:    servicemodel.PolicyLocal, HealthCheckNodePort: 32000},
		// An external IP.
		{Name: name("ext"), Type: servicemodel.TypeClusterIP, ClusterIPs: addrs("10.96.0.40", "fd00:10:96::40"), Ports: http(0),
			ExternalIPs: addrs("203.0.113.20", "2001:db8::20")},
		// Internal traffic policy Local: only the local endpoint.
		{Name: name("itp-local"), Type: servicemodel.TypeClusterIP, ClusterIPs: addrs("10.96.0.50"), Ports: http(0),
			InternalTrafficPolicy: servicemodel.PolicyLocal},
		// ClientIP session affinity.
		{Name: name("sticky"), Type: servicemodel.TypeClusterIP, ClusterIPs: addrs("10.96.0.60", "fd00:10:96::60"), Ports: http(0),
			AffinityTimeout: servicemodel.DefaultAffinityTimeout},
		// No endpoints at all: rejected.
		{Name: name("empty"), Type: servicemodel.TypeClusterIP, ClusterIPs: addrs("10.96.0.70", "fd00:10:96::70"), Ports: http(0)},
		// Only terminating endpoints: the serving one is used.
		{Name: name("draining"), Type: servicemodel.TypeClusterIP, ClusterIPs: addrs("10.96.0.80"), Ports: http(0)},
		// IPv6 only.
		{Name: name("v6only"), Type: servicemodel.TypeClusterIP, ClusterIPs: addrs("fd00:10:96::90"), Ports: http(0)},
		// NodePort with external policy Local and no local endpoint.
		{Name: name("remote-only"), Type: servicemodel.TypeNodePort, ClusterIPs: addrs("10.96.0.100"), Ports: http(30082),
			ExternalTrafficPolicy: servicemodel.PolicyLocal, HealthCheckNodePort: 32001},
		// Topology hints: the zone-a endpoint only.
		{Name: name("zonal"), Type: servicemodel.TypeClusterIP, ClusterIPs: addrs("10.96.0.110"), Ports: http(0),
			TrafficDistribution: "PreferClose"},
		// Headless and ExternalName services get nothing.
		{Name: name("headless"), Type: servicemodel.TypeClusterIP, Headless: true, Ports: http(0)},
		{Name: name("alias"), Type: servicemodel.TypeExternalName},
	}
}
