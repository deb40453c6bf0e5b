package flowtable

import (
	"fmt"
	"net/netip"

	"github.com/proxykit/proxykit/internal/sample"
	"github.com/proxykit/proxykit/nat"
	"github.com/proxykit/proxykit/rulegen"
	"github.com/proxykit/proxykit/servicemodel"
)

func node(v6 bool) Source {
	if v6 {
		return Source{Where: FromNode, Addr: sample.NodeV6}
	}
	return Source{Where: FromNode, Addr: sample.NodeV4}
}

func pod(name string, v6 bool) Source {
	p, _ := sample.PodByName(name)
	if v6 {
		return Source{Where: FromPod, Client: name, Addr: p.V6}
	}
	return Source{Where: FromPod, Client: name, Addr: p.V4}
}

func outside(name string, v6 bool) Source {
	for _, c := range sample.Clients {
		if c.Name == name {
			if v6 {
				return Source{Where: FromOutside, Client: name, Addr: c.V6}
			}
			return Source{Where: FromOutside, Client: name, Addr: c.V4}
		}
	}
	return Source{Where: FromOutside, Client: name}
}

func dst(s string) netip.AddrPort { return netip.MustParseAddrPort(s) }

func reach(masq bool, pods ...string) Want {
	return Want{Result: Reached, Endpoints: pods, Masquerade: masq}
}

// Cases returns the packet-flow table over the sample cluster, rendered for
// sample.Node() with sample.Config(). Every feature of the Plan has a row,
// in IPv4 and, where the sample is dual-stack, IPv6.
func Cases() []Case {
	tcp, udp := servicemodel.TCP, servicemodel.UDP
	return []Case{
		// ClusterIP, from a pod and from the node, both families.
		{"clusterip-from-pod", pod("pod-a2", false), tcp, dst("10.96.0.10:80"), reach(false, "pod-a1", "pod-b1"), ""},
		{"clusterip-from-node", node(false), tcp, dst("10.96.0.10:80"), reach(true, "pod-a1", "pod-b1"), ""},
		{"clusterip-from-pod-v6", pod("pod-a2", true), tcp, dst("[fd00:10:96::10]:80"), reach(false, "pod-a1", "pod-b1"), ""},
		{"clusterip-from-node-v6", node(true), tcp, dst("[fd00:10:96::10]:80"), reach(true, "pod-a1", "pod-b1"), ""},
		// Hairpin: a pod reaching itself through its service is masqueraded.
		{"clusterip-hairpin", pod("pod-a1", false), tcp, dst("10.96.0.10:80"), reach(false, "pod-a1", "pod-b1"), ""},
		// UDP and TCP on the same port number, named target port.
		{"udp-dns", pod("pod-a1", false), udp, dst("10.96.0.53:53"), reach(false, "pod-a2"), ""},
		{"tcp-dns", pod("pod-a1", false), tcp, dst("10.96.0.53:53"), reach(false, "pod-a2"), ""},
		{"udp-dns-v6", pod("pod-a1", true), udp, dst("[fd00:10:96::53]:53"), reach(false, "pod-a2"), ""},
		// NodePort, ETP=Cluster: from outside and from the node, masqueraded.
		{"nodeport-from-outside", outside("client-1", false), tcp, dst("10.0.0.10:30080"), reach(true, "pod-a1", "pod-b1"), ""},
		{"nodeport-from-outside-v6", outside("client-1", true), tcp, dst("[fd00::10]:30080"), reach(true, "pod-a1", "pod-b1"), ""},
		{"nodeport-from-node", node(false), tcp, dst("10.0.0.10:30080"), reach(true, "pod-a1", "pod-b1"), ""},
		{"nodeport-localhost", Source{Where: FromNode, Addr: netip.MustParseAddr("127.0.0.1")}, tcp, dst("127.0.0.1:30080"), reach(true, "pod-a1", "pod-b1"), ""},
		// External IP: masqueraded from outside (ETP=Cluster).
		{"externalip-from-outside", outside("client-2", false), tcp, dst("203.0.113.20:80"), reach(true, "pod-b1"), ""},
		{"externalip-from-outside-v6", outside("client-2", true), tcp, dst("[2001:db8::20]:80"), reach(true, "pod-b1"), ""},
		// LoadBalancer, ETP=Local: local endpoint only, source preserved;
		// denied source range dropped; from a pod: short-circuit to all.
		{"lb-allowed-local-only", outside("client-1", false), tcp, dst("203.0.113.10:80"), reach(false, "pod-a3"), ""},
		{"lb-denied-source", outside("client-2", false), tcp, dst("203.0.113.10:80"), Want{Result: Dropped}, ""},
		{"lb-nodeport-etp-local", outside("client-2", false), tcp, dst("10.0.0.10:30081"), reach(false, "pod-a3"), ""},
		{"lb-nodeport-from-pod", pod("pod-a1", false), tcp, dst("10.0.0.10:30081"), reach(false, "pod-a3", "pod-b2"), ""},
		{"lb-nodeport-from-node", node(false), tcp, dst("10.0.0.10:30081"), reach(true, "pod-a3", "pod-b2"), ""},
		// ETP=Local with no local endpoint: dropped from outside, served from the node.
		{"etp-local-no-local-endpoint", outside("client-1", false), tcp, dst("10.0.0.10:30082"), Want{Result: Dropped}, ""},
		{"etp-local-from-node", node(false), tcp, dst("10.0.0.10:30082"), reach(true, "pod-b2"), ""},
		// ITP=Local: only the local endpoint.
		{"itp-local", pod("pod-a1", false), tcp, dst("10.96.0.50:80"), reach(false, "pod-a2"), ""},
		// Terminating fallback: only the serving terminating endpoint.
		{"terminating-fallback", pod("pod-a1", false), tcp, dst("10.96.0.80:80"), reach(false, "pod-a3"), ""},
		// No endpoints: a fast refusal.
		{"no-endpoints", pod("pod-a1", false), tcp, dst("10.96.0.70:80"), Want{Result: Rejected}, ""},
		{"no-endpoints-v6", pod("pod-a1", true), tcp, dst("[fd00:10:96::70]:80"), Want{Result: Rejected}, ""},
		// Session affinity: the same client reaches the same endpoint.
		{"affinity", pod("pod-a3", false), tcp, dst("10.96.0.60:80"), Want{Result: Reached, Endpoints: []string{"pod-a1", "pod-a2", "pod-b1"}, Sticky: true}, ""},
		{"affinity-v6", pod("pod-a3", true), tcp, dst("[fd00:10:96::60]:80"), Want{Result: Reached, Endpoints: []string{"pod-a1", "pod-a2", "pod-b1"}, Sticky: true}, ""},
		// An IPv6-only service.
		{"v6-only", pod("pod-a2", true), tcp, dst("[fd00:10:96::90]:80"), reach(false, "pod-a1"), ""},
		// Topology hints: this zone's endpoint only.
		{"topology-zone", pod("pod-a1", false), tcp, dst("10.96.0.110:80"), reach(false, "pod-a2"), ""},
		// masqueradeAll: pod traffic to a ClusterIP is masqueraded too.
		{"masquerade-all-from-pod", pod("pod-a2", false), tcp, dst("10.96.0.10:80"), reach(true, "pod-a1", "pod-b1"), VariantMasqueradeAll},
		{"masquerade-all-from-pod-v6", pod("pod-a2", true), tcp, dst("[fd00:10:96::10]:80"), reach(true, "pod-a1", "pod-b1"), VariantMasqueradeAll},
		// Local traffic recognised by the bridge interface instead of CIDRs.
		{"detect-bridge-from-pod", pod("pod-a2", false), tcp, dst("10.96.0.10:80"), reach(false, "pod-a1", "pod-b1"), VariantDetectBridge},
		{"detect-bridge-from-node", node(false), tcp, dst("10.96.0.10:80"), reach(true, "pod-a1", "pod-b1"), VariantDetectBridge},
		{"detect-bridge-etp-local-from-pod", pod("pod-b1", false), tcp, dst("10.0.0.10:30081"), reach(false, "pod-a3", "pod-b2"), VariantDetectBridge},
		// NodePorts on the primary IP only: no localhost NodePort.
		{"nodeport-primary", outside("client-1", false), tcp, dst("10.0.0.10:30080"), reach(true, "pod-a1", "pod-b1"), VariantNodePortPrimary},
	}
}

// The configuration variants some cases run under.
const (
	VariantMasqueradeAll   = "masquerade-all"
	VariantDetectBridge    = "detect-bridge"
	VariantNodePortPrimary = "nodeport-primary"
)

// Config returns the rulegen configuration of a variant.
func Config(variant string) (rulegen.Config, error) {
	cfg := sample.Config()
	switch variant {
	case "":
	case VariantMasqueradeAll:
		cfg.MasqueradeAll = true
	case VariantDetectBridge:
		cfg.LocalDetector = nat.LocalDetector{Mode: nat.DetectBridgeInterface, Interface: sample.Bridge}
	case VariantNodePortPrimary:
		cfg.NodePortAddresses.Primary = true
	default:
		return cfg, fmt.Errorf("flowtable: unknown variant %q", variant)
	}
	return cfg, nil
}

// Variants returns every variant the cases use, "" first.
func Variants() []string {
	return []string{"", VariantMasqueradeAll, VariantDetectBridge, VariantNodePortPrimary}
}
