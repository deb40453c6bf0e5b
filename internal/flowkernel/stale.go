package flowkernel

import (
	"context"
	"net/netip"
	"testing"

	"github.com/proxykit/proxykit/internal/netharness"
	"github.com/proxykit/proxykit/internal/sample"
	"github.com/proxykit/proxykit/nat"
	"github.com/proxykit/proxykit/nat/conntrack"
	"github.com/proxykit/proxykit/rulegen"
	"github.com/proxykit/proxykit/servicemodel"
)

// UDPPlan compiles the sample with its UDP dns service (IPv4) served by the
// given pods, and returns the plan and that service port's name.
func UDPPlan(t testing.TB, pods ...string) (*rulegen.Plan, []servicemodel.ServicePortName) {
	t.Helper()
	slices := sample.Slices()
	var name servicemodel.ServicePortName
	for _, es := range slices {
		if es.Service.Name == "dns" && es.Ports[0].Protocol == servicemodel.UDP && es.Family == servicemodel.IPv4 {
			name = servicemodel.ServicePortName{NamespacedName: es.Service, Port: es.Ports[0].Name, Protocol: servicemodel.UDP}
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
	return plan, []servicemodel.ServicePortName{name}
}

// NewBackendFunc builds a backend that programs topo's node namespace and
// deletes stale conntrack entries through cleaner (nil: it must not).
type NewBackendFunc func(t *testing.T, topo *netharness.Topology, cleaner nat.ConntrackCleaner) rulegen.Backend

// CheckStaleUDP proves a backend's conntrack cleanup with real UDP: after
// an endpoint of a UDP service is replaced, a flow that keeps its source
// port still reaches the old endpoint through its conntrack entry unless
// the backend deletes it (checked first, so the test can tell), and reaches
// the new endpoint when it does.
func CheckStaleUDP(t *testing.T, newBackend NewBackendFunc) {
	for _, clean := range []bool{false, true} {
		topo := netharness.BuildT(t, SampleSpec())
		var cleaner nat.ConntrackCleaner
		if clean {
			c, err := conntrack.New(topo.NodeNS(), nil)
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(c.Close)
			cleaner = c
		}
		b := newBackend(t, topo, cleaner)
		ctx := context.Background()
		before, _ := UDPPlan(t, "pod-a2")
		if _, err := b.Sync(ctx, rulegen.SyncRequest{Plan: before, Full: true}); err != nil {
			t.Fatal(err)
		}
		dst := netip.MustParseAddrPort("10.96.0.53:53")
		probe := netharness.ProbeOptions{SourcePort: 40053}
		if r := topo.Probe(ctx, "pod-a1", "udp", dst, probe); r.Server != "pod-a2" {
			t.Fatalf("before: %s", r)
		}
		after, changed := UDPPlan(t, "pod-a3")
		if _, err := b.Sync(ctx, rulegen.SyncRequest{Plan: after, Changed: changed}); err != nil {
			t.Fatal(err)
		}
		r := topo.Probe(ctx, "pod-a1", "udp", dst, probe)
		switch {
		case clean && r.Server != "pod-a3":
			t.Errorf("with the cleaner the flow should move to pod-a3: %s", r)
		case !clean && r.Server != "pod-a2":
			t.Errorf("without the cleaner the stale entry should still reach pod-a2 (else this check proves nothing): %s", r)
		}
	}
}
