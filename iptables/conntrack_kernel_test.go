package iptables

import (
	"context"
	"net/netip"
	"testing"

	"github.com/proxykit/proxykit/internal/flowkernel"
	"github.com/proxykit/proxykit/internal/netharness"
	"github.com/proxykit/proxykit/internal/sample"
	"github.com/proxykit/proxykit/nat/conntrack"
	"github.com/proxykit/proxykit/rulegen"
	"github.com/proxykit/proxykit/servicemodel"
)

// udpPlan is the sample with the UDP dns service served by the given pods.
func udpPlan(t *testing.T, pods ...string) (*rulegen.Plan, []servicemodel.ServicePortName) {
	t.Helper()
	slices := sample.Slices()
	for _, es := range slices {
		if es.Service.Name == "dns" && es.Ports[0].Protocol == servicemodel.UDP && es.Family == servicemodel.IPv4 {
			es.Endpoints = nil
			for _, p := range pods {
				pod, _ := sample.PodByName(p)
				es.Endpoints = append(es.Endpoints, servicemodel.Endpoint{Addr: pod.V4, NodeName: pod.Node})
			}
		}
	}
	snap, err := servicemodel.NewSnapshot(sample.Services(), slices)
	if err != nil {
		t.Fatal(err)
	}
	plan, err := rulegen.Compile(snap, sample.Node(), sample.Config())
	if err != nil {
		t.Fatal(err)
	}
	name := servicemodel.ServicePortName{NamespacedName: sample.Services()[1].Name, Port: "dns", Protocol: servicemodel.UDP}
	return plan, []servicemodel.ServicePortName{name}
}

// TestStaleUDPFlowsKernel: after an endpoint of a UDP service is removed,
// datagrams of an existing flow (same source port) keep reaching it through
// conntrack unless the Backend deletes the stale entries; with a Conntrack
// cleaner they reach the remaining endpoint.
func TestStaleUDPFlowsKernel(t *testing.T) {
	needVariant(t, NFT)
	for _, clean := range []bool{false, true} {
		topo := netharness.BuildT(t, flowkernel.SampleSpec())
		exec, err := NewExec(t.Context(), ExecOptions{Variant: NFT, Run: NetNSRunner(topo.NodeNS())})
		if err != nil {
			t.Fatal(err)
		}
		opts := BackendOptions{Kernel: exec, Families: []Family{IPv4},
			Sysctl: func(k, v string) error { return topo.SetSysctl(netharness.NodeName, k, v) }}
		if clean {
			cleaner, err := conntrack.New(topo.NodeNS(), nil)
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(cleaner.Close)
			opts.Conntrack = cleaner
		}
		b, err := NewBackend(opts)
		if err != nil {
			t.Fatal(err)
		}
		ctx := context.Background()
		before, _ := udpPlan(t, "pod-a2")
		if _, err := b.Sync(ctx, rulegen.SyncRequest{Plan: before, Full: true}); err != nil {
			t.Fatal(err)
		}
		dst := netip.MustParseAddrPort("10.96.0.53:53")
		probe := netharness.ProbeOptions{SourcePort: 40053}
		if r := topo.Probe(ctx, "pod-a1", "udp", dst, probe); r.Server != "pod-a2" {
			t.Fatalf("before: %s", r)
		}
		after, changed := udpPlan(t, "pod-a3")
		if _, err := b.Sync(ctx, rulegen.SyncRequest{Plan: after, Changed: changed}); err != nil {
			t.Fatal(err)
		}
		r := topo.Probe(ctx, "pod-a1", "udp", dst, probe)
		switch {
		case clean && r.Server != "pod-a3":
			t.Errorf("with the cleaner the flow should move to pod-a3: %s", r)
		case !clean && r.Server != "pod-a2":
			t.Errorf("without the cleaner the stale entry should still reach pod-a2 (else this test proves nothing): %s", r)
		}
	}
}
