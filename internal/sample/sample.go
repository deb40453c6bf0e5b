// Package sample holds the built-in sample cluster: a handful of Services of
// every type, dual-stack, with EndpointSlices holding local, remote and
// terminating endpoints, plus the node and topology they are laid out for.
// examples/render renders it, and the packet-flow table (internal/flowtable)
// runs its cases against it.
package sample

import (
	"net/netip"

	"k8s.io/apimachinery/pkg/types"

	"github.com/proxykit/proxykit/nat"
	"github.com/proxykit/proxykit/rulegen"
	"github.com/proxykit/proxykit/servicemodel"
)

// Namespace is the sample's namespace.
const Namespace = "demo"

// NodeName is the node the sample is rendered for; RemoteNode hosts the
// remote endpoints.
const (
	NodeName   = "node-a"
	RemoteNode = "node-b"
	Zone       = "zone-a"
)

// Pod is a pod of the sample topology. Every pod serves TCP and UDP on
// ServerPort and DNSPort.
type Pod struct {
	Name   string
	V4, V6 netip.Addr
	Node   string
}

// The ports every sample pod serves.
const (
	ServerPort = 8080
	DNSPort    = 5353
)

// Pods of the sample: three on this node, two on the remote node.
var Pods = []Pod{
	{"pod-a1", mustAddr("10.244.1.11"), mustAddr("fd00:10:244:1::11"), NodeName},
	{"pod-a2", mustAddr("10.244.1.12"), mustAddr("fd00:10:244:1::12"), NodeName},
	{"pod-a3", mustAddr("10.244.1.13"), mustAddr("fd00:10:244:1::13"), NodeName},
	{"pod-b1", mustAddr("10.244.2.21"), mustAddr("fd00:10:244:2::21"), RemoteNode},
	{"pod-b2", mustAddr("10.244.2.22"), mustAddr("fd00:10:244:2::22"), RemoteNode},
}

// Client is a host outside the cluster.
type Client struct {
	Name   string
	V4, V6 netip.Addr
}

// Clients of the sample: client-1 is inside the LoadBalancer source range,
// client-2 is not.
var Clients = []Client{
	{"client-1", mustAddr("10.0.0.100"), mustAddr("fd00::100")},
	{"client-2", mustAddr("10.0.0.101"), mustAddr("fd00::101")},
}

// Bridge is the node's pod bridge; the bridge-interface local detector names it.
const Bridge = "pkbr0"

// ExternalLink is the node's interface towards outside clients.
const ExternalLink = "pkext0"

// Addresses of the sample topology.
var (
	NodeV4 = mustAddr("10.0.0.10")
	NodeV6 = mustAddr("fd00::10")
	// Bridge gateways: what a masqueraded connection's server sees as source.
	BridgeV4    = mustAddr("10.244.1.1")
	BridgeV6    = mustAddr("fd00:10:244:1::1")
	ClusterCIDR = []netip.Prefix{netip.MustParsePrefix("10.244.0.0/16"), netip.MustParsePrefix("fd00:10:244::/48")}
	LocalCIDR   = []netip.Prefix{netip.MustParsePrefix("10.244.1.0/24"), netip.MustParsePrefix("fd00:10:244:1::/64")}
	RemoteCIDR  = []netip.Prefix{netip.MustParsePrefix("10.244.2.0/24"), netip.MustParsePrefix("fd00:10:244:2::/64")}
	ServiceCIDR = []netip.Prefix{netip.MustParsePrefix("10.96.0.0/16"), netip.MustParsePrefix("fd00:10:96::/112")}
	ClientCIDR  = []netip.Prefix{netip.MustParsePrefix("10.0.0.0/24"), netip.MustParsePrefix("fd00::/64")}
	// ExternalCIDR holds the sample's external and load-balancer IPs.
	ExternalCIDR = []netip.Prefix{netip.MustParsePrefix("203.0.113.0/24"), netip.MustParsePrefix("2001:db8::/64")}
)

// Node returns the node the sample is rendered for.
func Node() rulegen.Node {
	return rulegen.Node{Name: NodeName, IPs: []netip.Addr{NodeV4, NodeV6}, Zone: Zone}
}

// Config returns the sample's rulegen configuration: a cluster-CIDR local
// detector and kube-proxy's iptables defaults.
func Config() rulegen.Config {
	return rulegen.Config{
		LocalDetector:      nat.ByCIDR(nat.DetectClusterCIDR, ClusterCIDR...),
		LocalhostNodePorts: true,
	}
}

// Snapshot returns the sample cluster. Its test proves it valid, so the
// error is only ever nil; it is returned rather than hidden all the same.
func Snapshot() (*servicemodel.Snapshot, error) {
	return servicemodel.NewSnapshot(Services(), Slices())
}

// PodByName returns a pod of the sample.
func PodByName(name string) (Pod, bool) {
	for _, p := range Pods {
		if p.Name == name {
			return p, true
		}
	}
	return Pod{}, false
}

func mustAddr(s string) netip.Addr { return netip.MustParseAddr(s) }

func name(n string) types.NamespacedName { return types.NamespacedName{Namespace: Namespace, Name: n} }

// Plan compiles the sample cluster for sample.Node() with cfg.
func Plan(cfg rulegen.Config) (*rulegen.Plan, error) {
	snap, err := Snapshot()
	if err != nil {
		return nil, err
	}
	return rulegen.Compile(snap, Node(), cfg)
}
