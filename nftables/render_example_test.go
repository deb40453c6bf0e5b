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
// opts.Ownership() for the kernel).
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
	for _, t := range rs.Tables {
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
	// ip proxykit ip daddr 10.0.0.10
	// ip6 proxykit ip6 daddr fd00::10
	// writes on resync: 0
	// <nil> 0
}
