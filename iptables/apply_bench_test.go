package iptables

import (
	"context"
	"testing"

	"github.com/proxykit/proxykit/internal/fixture"
	"github.com/proxykit/proxykit/internal/kerneltest"
	"github.com/proxykit/proxykit/rulegen"
)

// BenchmarkSyncNetNS measures the Backend end to end into a fresh network
// namespace with the real tools, at 10k services × 10 endpoints: the full
// sync from empty (render, diff, iptables-restore) and a one-endpoint
// change (render, diff, a small --noflush restore, the canary check).
// It needs root and the iptables tools; run it with
//
//	go test ./iptables -run '^$' -bench SyncNetNS -benchtime 3x
func BenchmarkSyncNetNS(b *testing.B) {
	for _, v := range variants {
		b.Run(string(v), func(b *testing.B) {
			if kerneltest.Missing(Tool(v, IPv4, "-restore")) != "" {
				b.Skip("needs root and ", Tool(v, IPv4, "-restore"))
			}
			c, plan := fixture.Plan(b, 10000, 10)
			ctx := context.Background()
			newBackend := func() *Backend {
				exec, err := NewExec(ctx, ExecOptions{Variant: v, Run: NetNSRunner(newNetNS(b))})
				if err != nil {
					b.Fatal(err)
				}
				be, err := NewBackend(BackendOptions{Kernel: exec, Families: []Family{IPv4}, Sysctl: func(string, string) error { return nil }})
				if err != nil {
					b.Fatal(err)
				}
				return be
			}
			b.Run("full", func(b *testing.B) {
				for b.Loop() {
					b.StopTimer()
					be := newBackend()
					b.StartTimer()
					if _, err := be.Sync(ctx, rulegen.SyncRequest{Plan: plan, Full: true}); err != nil {
						b.Fatal(err)
					}
				}
			})
			b.Run("one-endpoint", func(b *testing.B) {
				be := newBackend()
				if _, err := be.Sync(ctx, rulegen.SyncRequest{Plan: plan, Full: true}); err != nil {
					b.Fatal(err)
				}
				cur := plan
				k := 0
				for b.Loop() {
					k++
					snap, changed, err := c.ChangeOneEndpoint(4242, k)
					if err != nil {
						b.Fatal(err)
					}
					if cur, err = cur.Update(snap, changed); err != nil {
						b.Fatal(err)
					}
					if _, err := be.Sync(ctx, rulegen.SyncRequest{Plan: cur, Changed: changed}); err != nil {
						b.Fatal(err)
					}
				}
			})
		})
	}
}
