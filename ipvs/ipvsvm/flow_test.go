package ipvsvm

import (
	"context"
	"testing"

	"github.com/proxykit/proxykit/internal/flowkernel"
	"github.com/proxykit/proxykit/internal/flowtable"
	"github.com/proxykit/proxykit/internal/netharness"
	"github.com/proxykit/proxykit/internal/vmtest"
	"github.com/proxykit/proxykit/iptables"
	"github.com/proxykit/proxykit/ipvs"
	"github.com/proxykit/proxykit/rulegen"
)

// flowSkips are the flow-table cases IPVS mode cannot serve as the table
// says, with the reason.
var flowSkips = map[string]string{
	"nodeport-localhost": "IPVS mode serves no localhost NodePorts (as kube-proxy's): IPVS cannot forward traffic from 127.0.0.0/8",
}

// nodeBackend opens an ipvs.Backend on the topology's node namespace, with
// its companion rules through the iptables tools there.
func nodeBackend(t *testing.T, topo *netharness.Topology, opts ipvs.BackendOptions) (*ipvs.Backend, *ipvs.Real) {
	t.Helper()
	ctx := t.Context()
	path, err := topo.NSPath(netharness.NodeName)
	if err != nil {
		t.Fatal(err)
	}
	k, err := ipvs.NewReal(ctx, path, ipvs.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { k.Close() })
	exec, err := iptables.NewExec(ctx, iptables.ExecOptions{Variant: iptables.Legacy, Run: iptables.NetNSRunner(topo.NodeNS())})
	if err != nil {
		t.Fatal(err)
	}
	opts.Kernel, opts.Rules = k, exec
	opts.Sysctl = func(key, val string) error { return topo.SetSysctl(netharness.NodeName, key, val) }
	b, err := ipvs.NewBackend(opts)
	if err != nil {
		t.Fatal(err)
	}
	return b, k
}

// TestFlowTable runs the packet-flow table with real traffic through what
// the Backend programmed: virtual servers, dummy addresses, ipsets and the
// companion rules.
func TestFlowTable(t *testing.T) {
	vmtest.Need(t, "iptables-legacy-restore", "ipset")
	topo := netharness.BuildT(t, flowkernel.SampleSpec())
	// The sample's NodePort 30080 asks for mh, which hashes the source
	// address: with mh-port it hashes the source port too, so that one
	// client's connections spread over every endpoint as the table wants.
	ro := ipvs.RenderOptions{SchedulerFlags: map[string]ipvs.SchedFlags{"mh": ipvs.Sched1 | ipvs.Sched2}}
	b, k := nodeBackend(t, topo, ipvs.BackendOptions{Render: ro})
	var last *rulegen.Plan
	flowkernel.Run(t, topo, func(ctx context.Context, _ *netharness.Topology, plan *rulegen.Plan) error {
		last = plan
		_, err := b.Sync(ctx, rulegen.SyncRequest{Plan: plan, Full: true})
		return err
	}, flowkernel.Options{Skip: func(c flowtable.Case) string { return flowSkips[c.Name] }})
	// What the kernel holds reads back equal to the render.
	want, err := ipvs.Render(last, ro)
	if err != nil {
		t.Fatal(err)
	}
	got, err := k.Read(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	if ops := ipvs.Diff(got, want.IPVS, ipvs.DiffOptions{}); len(ops) > 0 {
		t.Errorf("kernel differs from the render:\n%s", ops)
	}
	if err := b.Cleanup(context.Background()); err != nil {
		t.Fatal(err)
	}
	if got, err := k.Read(t.Context()); err != nil || len(got.Services)+len(got.Sets)+len(got.Addresses) > 0 {
		t.Fatalf("cleanup left %v (%v)", got, err)
	}
}
