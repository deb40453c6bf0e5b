package iptables

import (
	"context"
	"testing"

	"github.com/proxykit/proxykit/internal/flowkernel"
	"github.com/proxykit/proxykit/internal/netharness"
	"github.com/proxykit/proxykit/rulegen"
)

// TestFlowTableKernel runs the whole packet-flow table with real traffic
// through rules that the Backend applied with the real tools, for
// iptables-legacy and iptables-nft, each in a fresh topology.
func TestFlowTableKernel(t *testing.T) {
	for _, v := range variants {
		t.Run(string(v), func(t *testing.T) {
			needVariant(t, v)
			topo := netharness.BuildT(t, flowkernel.SampleSpec())
			exec, err := NewExec(t.Context(), ExecOptions{Variant: v, Run: NetNSRunner(topo.NodeNS())})
			if err != nil {
				t.Fatal(err)
			}
			b, err := NewBackend(BackendOptions{Kernel: exec,
				Sysctl: func(k, val string) error { return topo.SetSysctl(netharness.NodeName, k, val) }})
			if err != nil {
				t.Fatal(err)
			}
			flowkernel.Run(t, topo, func(ctx context.Context, _ *netharness.Topology, plan *rulegen.Plan) error {
				_, err := b.Sync(ctx, rulegen.SyncRequest{Plan: plan, Full: true})
				return err
			}, flowkernel.Options{})
			// What the kernel holds now reads back equal to the render: a
			// full resync finds nothing to do.
			requireRendered(t, exec, b.fams[0].render.plan, IPv4, IPv6)
		})
	}
}
