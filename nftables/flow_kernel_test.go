package nftables

import (
	"context"
	"fmt"
	"testing"

	"github.com/proxykit/proxykit/internal/flowkernel"
	"github.com/proxykit/proxykit/internal/kerneltest"
	"github.com/proxykit/proxykit/internal/netharness"
	"github.com/proxykit/proxykit/rulegen"
)

// TestFlowTableKernel runs the whole packet-flow table (every case, IPv4
// and IPv6, every variant) with real traffic through tables the Backend
// applied over netlink in the node namespace, in one table per family and
// in the default layout (DefaultShards tables per family).
func TestFlowTableKernel(t *testing.T) {
	kerneltest.Need(t)
	for _, shards := range []int{1, 0} {
		opts := RenderOptions{Shards: shards}
		t.Run(fmt.Sprintf("shards=%d", opts.shards()), func(t *testing.T) {
			topo := netharness.BuildT(t, flowkernel.SampleSpec())
			k, err := NewNetlink(NetlinkConfig{NetNSFd: int(topo.NodeNS()), Owner: opts.Ownership()})
			if err != nil {
				t.Fatal(err)
			}
			defer k.Close()
			b, err := NewBackend(BackendOptions{Kernel: k, Render: opts,
				Sysctl: func(key, val string) error { return topo.SetSysctl(netharness.NodeName, key, val) }})
			if err != nil {
				t.Fatal(err)
			}
			var last *rulegen.Plan
			flowkernel.Run(t, topo, func(ctx context.Context, _ *netharness.Topology, plan *rulegen.Plan) error {
				last = plan
				_, err := b.Sync(ctx, rulegen.SyncRequest{Plan: plan, Full: true})
				return err
			}, flowkernel.Options{})
			// What the kernel holds reads back equal to the render.
			cur, err := k.Read(t.Context())
			if err != nil {
				t.Fatal(err)
			}
			if tx := Diff(cur, mustRender(t, last, opts), nil); !tx.Empty() {
				t.Errorf("kernel read-back differs from the render:\n%s", tx)
			}
			if err := b.Cleanup(t.Context()); err != nil {
				t.Fatal(err)
			}
		})
	}
}
