package nftables

import (
	"context"
	"fmt"
	"testing"

	"github.com/proxykit/proxykit/internal/fixture"
	"github.com/proxykit/proxykit/rulegen"
)

// netnsBackend returns a Backend over netlink in a throwaway namespace.
func netnsBackend(b *testing.B, opts RenderOptions) (*Backend, *Netlink) {
	b.Helper()
	ns := newTestNS(b)
	k, err := NewNetlink(NetlinkConfig{NetNSFd: ns.fd, Owner: opts.Ownership()})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { _ = k.Close() })
	be, err := NewBackend(BackendOptions{Kernel: k, Render: opts, Sysctl: func(string, string) error { return nil }})
	if err != nil {
		b.Fatal(err)
	}
	return be, k
}

// BenchmarkApplyFull: a full Sync of 10k services × 10 endpoints into an
// empty namespace over netlink (read back, render, diff, one batch), per
// shard count (shards=DefaultShards is the default layout the 5 s target is
// about). Each iteration starts from empty tables (Cleanup untimed).
func BenchmarkApplyFull(b *testing.B) {
	_, plan := fixture.Plan(b, benchServices, benchEndpoints)
	for _, n := range kernelBenchShards {
		b.Run(fmt.Sprintf("shards=%d", n), func(b *testing.B) {
			be, _ := netnsBackend(b, RenderOptions{Shards: n})
			ctx := context.Background()
			b.ReportAllocs()
			b.ResetTimer()
			var writes int
			for i := 0; i < b.N; i++ {
				b.StopTimer()
				if err := be.Cleanup(ctx); err != nil {
					b.Fatal(err)
				}
				b.StartTimer()
				res, err := be.Sync(ctx, rulegen.SyncRequest{Plan: plan, Full: true})
				if err != nil {
					b.Fatal(err)
				}
				writes = res.Writes
			}
			b.ReportMetric(float64(writes), "writes")
		})
	}
}

// BenchmarkOneEndpointChange: end to end, one endpoint of one service
// changed among 10k × 10 already in the kernel: incremental Render, scoped
// Diff, Apply over netlink (Plan.Update and the snapshot are untimed), per
// shard count (shards=DefaultShards is the default layout the 20 ms target
// is about).
func BenchmarkOneEndpointChange(b *testing.B) {
	for _, n := range kernelBenchShards {
		b.Run(fmt.Sprintf("shards=%d", n), func(b *testing.B) {
			c, plan := fixture.Plan(b, benchServices, benchEndpoints)
			be, _ := netnsBackend(b, RenderOptions{Shards: n})
			ctx := context.Background()
			if _, err := be.Sync(ctx, rulegen.SyncRequest{Plan: plan, Full: true}); err != nil {
				b.Fatal(err)
			}
			b.ReportAllocs()
			b.ResetTimer()
			var writes int
			for i := 0; i < b.N; i++ {
				b.StopTimer()
				next, changed := changeOne(b, c, plan, (i*7919)%benchServices, i+1)
				plan = next
				b.StartTimer()
				res, err := be.Sync(ctx, rulegen.SyncRequest{Plan: plan, Changed: changed})
				if err != nil {
					b.Fatal(err)
				}
				writes = res.Writes
			}
			b.ReportMetric(float64(writes), "writes")
		})
	}
}

// BenchmarkResyncFull: a full Sync of 10k services × 10 endpoints when the
// kernel already holds them (the periodic resync that repairs drift): read
// every owned table back, render, diff; nothing to write. Split into the
// read-back alone and the whole Sync, in the default layout.
func BenchmarkResyncFull(b *testing.B) {
	_, plan := fixture.Plan(b, benchServices, benchEndpoints)
	be, k := netnsBackend(b, RenderOptions{})
	ctx := context.Background()
	if _, err := be.Sync(ctx, rulegen.SyncRequest{Plan: plan, Full: true}); err != nil {
		b.Fatal(err)
	}
	b.Run("read", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if _, err := k.Read(ctx); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("sync", func(b *testing.B) {
		b.ReportAllocs()
		var writes int
		for b.Loop() {
			res, err := be.Sync(ctx, rulegen.SyncRequest{Plan: plan, Full: true})
			if err != nil {
				b.Fatal(err)
			}
			writes = res.Writes
		}
		b.ReportMetric(float64(writes), "writes")
	})
}
