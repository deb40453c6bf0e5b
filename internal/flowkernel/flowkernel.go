// Package flowkernel runs the packet-flow table (internal/flowtable) against
// a real kernel: it builds the sample topology in throwaway network
// namespaces (internal/netharness), lets a backend program each variant's
// Plan into the node namespace, and checks every case with real TCP and UDP
// traffic: which pods answer, the source address they saw (masquerade), a
// fast refusal or a silent drop, and stickiness under session affinity.
package flowkernel

import (
	"context"
	"net/netip"
	"slices"
	"testing"

	"github.com/proxykit/proxykit/internal/flowtable"
	"github.com/proxykit/proxykit/internal/netharness"
	"github.com/proxykit/proxykit/internal/sample"
	"github.com/proxykit/proxykit/rulegen"
)

// SampleSpec lays out the sample cluster as a netharness topology: the node
// (node IPs on the external link, the pod bridge), every sample pod serving
// TCP and UDP on the sample's ports, and the sample's outside clients.
// Service CIDRs are routed over the external link, so that traffic the node
// itself sends to a service leaves from the node IP, as on a real node.
func SampleSpec() netharness.Spec {
	var spec netharness.Spec
	spec.Node = netharness.Node{
		Bridge:      sample.Bridge,
		ExtBridge:   sample.ExternalLink,
		BridgeAddrs: []netip.Prefix{prefix(sample.BridgeV4, sample.LocalCIDR[0]), prefix(sample.BridgeV6, sample.LocalCIDR[1])},
		ExtAddrs:    []netip.Prefix{prefix(sample.NodeV4, sample.ClientCIDR[0]), prefix(sample.NodeV6, sample.ClientCIDR[1])},
	}
	// Service CIDRs and the external/LB range are routed out of the external
	// link, as a real node's default route would: traffic no rule captures
	// is forwarded (and meets the filter rules), not refused for want of a route.
	for _, dst := range append(append([]netip.Prefix{}, sample.ServiceCIDR...), sample.ExternalCIDR...) {
		spec.Node.Routes = append(spec.Node.Routes, netharness.Route{Dst: dst, Dev: sample.ExternalLink})
	}
	ports := []uint16{sample.ServerPort, sample.DNSPort}
	for _, p := range sample.Pods {
		cidrs := sample.LocalCIDR
		if p.Node != sample.NodeName {
			cidrs = sample.RemoteCIDR
		}
		spec.Pods = append(spec.Pods, netharness.Pod{Name: p.Name, TCP: ports, UDP: ports,
			Addrs: []netip.Prefix{prefix(p.V4, cidrs[0]), prefix(p.V6, cidrs[1])}})
	}
	for _, c := range sample.Clients {
		spec.Clients = append(spec.Clients, netharness.Client{Name: c.Name,
			Addrs: []netip.Prefix{prefix(c.V4, sample.ClientCIDR[0]), prefix(c.V6, sample.ClientCIDR[1])}})
	}
	return spec
}

func prefix(a netip.Addr, net netip.Prefix) netip.Prefix { return netip.PrefixFrom(a, net.Bits()) }

// Programmer makes the node namespace of topo serve plan, e.g. by calling a
// backend's Sync. It is called once per configuration variant, in order.
type Programmer func(ctx context.Context, topo *netharness.Topology, plan *rulegen.Plan) error

// Options narrow a run.
type Options struct {
	// Skip returns a reason to skip a case, or "" to run it.
	Skip func(flowtable.Case) string
}

// Run programs each variant's plan through program and checks every case of
// that variant as a subtest of t.
func Run(t *testing.T, topo *netharness.Topology, program Programmer, opts Options) {
	snap, err := sample.Snapshot()
	if err != nil {
		t.Fatal(err)
	}
	ctx := t.Context()
	for _, variant := range flowtable.Variants() {
		cfg, err := flowtable.Config(variant)
		if err != nil {
			t.Fatal(err)
		}
		plan, err := rulegen.Compile(snap, sample.Node(), cfg)
		if err != nil {
			t.Fatal(err)
		}
		if err := program(ctx, topo, plan); err != nil {
			t.Fatalf("programming variant %q: %v", variant, err)
		}
		for _, c := range flowtable.Cases() {
			if c.Variant != variant {
				continue
			}
			t.Run(c.Name, func(t *testing.T) {
				if opts.Skip != nil {
					if why := opts.Skip(c); why != "" {
						t.Skip(why)
					}
				}
				Check(ctx, t, topo, c)
			})
		}
	}
}

// probesFor is how many connections a case makes: enough that every one of
// n expected endpoints answers with near certainty under random choice.
func probesFor(n int) int { return max(4, 12*n) }

// Check sends a case's traffic and compares what happened with its Want.
func Check(ctx context.Context, t testing.TB, topo *netharness.Topology, c flowtable.Case) {
	t.Helper()
	from := c.From.Client
	if c.From.Where == flowtable.FromNode {
		from = netharness.NodeName
	}
	opts := netharness.ProbeOptions{Source: c.From.Addr}
	proto := map[string]string{"TCP": "tcp", "UDP": "udp"}[string(c.Proto)]
	switch c.Want.Result {
	case flowtable.Rejected, flowtable.Dropped:
		want := map[flowtable.Result]netharness.Outcome{flowtable.Rejected: netharness.Refused, flowtable.Dropped: netharness.Timeout}[c.Want.Result]
		if r := topo.Probe(ctx, from, proto, c.Dst, opts); r.Outcome != want {
			t.Errorf("%s\n got %s", c, r)
		}
		return
	}
	rs := topo.ProbeN(ctx, from, proto, c.Dst, probesFor(len(c.Want.Endpoints)), opts)
	if n := rs.Count(netharness.Reached); n != len(rs) {
		t.Fatalf("%s\n got %s", c, rs)
	}
	servers := rs.Servers()
	for s := range servers {
		if !slices.Contains(c.Want.Endpoints, s) {
			t.Errorf("%s\n answered by %s, not an expected endpoint (%s)", c, s, rs)
		}
	}
	if c.Want.Sticky {
		if len(servers) != 1 {
			t.Errorf("%s\n not sticky: %s", c, rs)
		}
	} else if len(servers) != len(c.Want.Endpoints) {
		t.Errorf("%s\n not every endpoint answered: %s", c, rs)
	}
	for _, r := range rs {
		checkSource(t, c, r)
	}
}

// checkSource compares the source a server saw with the masquerade outcome
// the case wants; a pod reaching itself is always masqueraded (hairpin).
func checkSource(t testing.TB, c flowtable.Case, r netharness.Result) {
	t.Helper()
	masq := sample.BridgeV4
	if c.Dst.Addr().Is6() {
		masq = sample.BridgeV6
	}
	want := c.From.Addr
	if c.Want.Masquerade || r.Server == c.From.Client {
		want = masq
	}
	if r.Seen != want {
		t.Errorf("%s\n %s saw source %s, want %s", c, r.Server, r.Seen, want)
	}
}
