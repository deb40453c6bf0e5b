package nftables_test

import (
	"context"
	"fmt"

	"github.com/proxykit/proxykit/internal/sample"
	"github.com/proxykit/proxykit/nftables"
	"github.com/proxykit/proxykit/rulegen"
)

// Render a Plan with kube-proxy's nftables defaults, then serve it through
// a Backend (here over the strict Fake; use nftables.NewNetlink with
// opts.Ownership() for the kernel). By default the services are spread over
// 32 tables per family: shard 0 is "proxykit", the others "proxykit-01" to
// "proxykit-31". Shards: 1 keeps one table per family.
func ExampleBackend() {
	plan, err := sample.Plan(nftables.KubeProxyConfig(sample.Config()))
	if err != nil {
		fmt.Println(err)
		return
	}
	opts := nftables.RenderOptions{}
	rs, err := nftables.Render(plan, opts)
	if err != nil {
		fmt.Println(err)
		return
	}
	n := len(rs.Tables)
	fmt.Println(n, "tables:", rs.Tables[0].ID(), rs.Tables[1].ID(), "...", rs.Tables[n/2-1].ID(), rs.Tables[n/2].ID(), "...", rs.Tables[n-1].ID())
	one, _ := nftables.Render(plan, nftables.RenderOptions{Shards: 1})
	for _, t := range one.Tables {
		fmt.Println(t.ID(), t.Chain("services").Rules[1].Stmts[0])
	}
	kernel := nftables.NewFakeOwning(opts.Ownership())
	b, err := nftables.NewBackend(nftables.BackendOptions{Kernel: kernel, Render: opts})
	if err != nil {
		fmt.Println(err)
		return
	}
	ctx := context.Background()
	if _, err := b.Sync(ctx, rulegen.SyncRequest{Plan: plan, Full: true}); err != nil {
		fmt.Println(err)
	}
	res, _ := b.Sync(ctx, rulegen.SyncRequest{Plan: plan, Full: true})
	fmt.Println("writes on resync:", res.Writes)
	fmt.Println(b.Cleanup(ctx), len(kernel.ReadAll().Tables))
	// Output:
	// 64 tables: ip proxykit ip proxykit-01 ... ip proxykit-31 ip6 proxykit ... ip6 proxykit-31
	// ip proxykit ip daddr 10.0.0.10
	// ip6 proxykit ip6 daddr fd00::10
	// writes on resync: 0
	// <nil> 0
}
