package ipvsvm

import (
	"context"
	"testing"
	"time"

	"github.com/proxykit/proxykit/internal/fixture"
	"github.com/proxykit/proxykit/iptables"
	"github.com/proxykit/proxykit/ipvs"
	"github.com/proxykit/proxykit/rulegen"
)

// BenchmarkBackendProgram1kx10 programs the scale fixture's 1k services x
// 10 endpoints from empty through Backend.Sync (virtual servers, dummy
// addresses, ipsets, companion rules), and the same render with the tools
// (`ipset restore`, `ipvsadm -R`, `iptables-legacy-restore`; no addresses,
// which the tools do not bind), each in a fresh namespace.
func BenchmarkBackendProgram1kx10(b *testing.B) {
	_, plan := fixture.Plan(b, 1000, 10)
	r, err := ipvs.Render(plan, ipvs.RenderOptions{})
	if err != nil {
		b.Fatal(err)
	}
	b.Run("backend", func(b *testing.B) {
		var spent time.Duration
		writes := 0
		for b.Loop() {
			b.StopTimer()
			ns := newNS(b)
			bk, _ := nsBackend(b, ns, ipvs.BackendOptions{Families: []iptables.Family{iptables.IPv4}})
			b.StartTimer()
			start := time.Now()
			res, err := bk.Sync(context.Background(), rulegen.SyncRequest{Plan: plan, Full: true})
			spent += time.Since(start)
			if err != nil {
				b.Fatal(err)
			}
			writes += res.Writes
		}
		b.ReportMetric(float64(writes)/spent.Seconds(), "writes/s")
	})
	b.Run("tools", func(b *testing.B) {
		for b.Loop() {
			b.StopTimer()
			ns := newNS(b)
			b.StartTimer()
			ns.run(b, r.IPVS.SaveIPSets(), "ipset", "restore")
			ns.run(b, r.IPVS.SaveIPVS(), "ipvsadm", "-R")
			ns.run(b, r.Rules[iptables.IPv4].String(), "iptables-legacy-restore", "-w", "--noflush")
		}
	})
}

// BenchmarkBackendOneEndpointChange times Backend.Sync of one changed
// endpoint with 1k and 10k services x 10 endpoints programmed: the cost
// must not follow the number of services. The model's side (tracker,
// Plan.Update) is not timed.
func BenchmarkBackendOneEndpointChange(b *testing.B) {
	for _, n := range []int{1000, 10000} {
		b.Run(map[int]string{1000: "1k", 10000: "10k"}[n], func(b *testing.B) {
			c, plan := fixture.Plan(b, n, 10)
			ns := newNS(b)
			bk, _ := nsBackend(b, ns, ipvs.BackendOptions{Families: []iptables.Family{iptables.IPv4}})
			ctx := context.Background()
			if _, err := bk.Sync(ctx, rulegen.SyncRequest{Plan: plan, Full: true}); err != nil {
				b.Fatal(err)
			}
			writes := 0
			for i := 0; b.Loop(); i++ {
				b.StopTimer() // the model's side is not the backend's cost
				snap, changed, err := c.ChangeOneEndpoint(i%n, i+1)
				if err != nil {
					b.Fatal(err)
				}
				plan, _ = plan.Update(snap, changed)
				b.StartTimer()
				res, err := bk.Sync(ctx, rulegen.SyncRequest{Plan: plan, Changed: changed})
				if err != nil {
					b.Fatal(err)
				}
				writes += res.Writes
			}
			b.ReportMetric(float64(writes)/float64(b.N), "writes/op")
		})
	}
}
