package ipvs

import (
	"context"
	"fmt"
	"testing"

	"github.com/proxykit/proxykit/internal/fixture"
	"github.com/proxykit/proxykit/rulegen"
)

// BenchmarkRenderDiff measures the pure path at n services x 10 endpoints
// after one endpoint changed: a full Render plus a full Diff against the
// previous render ("full"; the tracker and Plan.Update are not timed), and the Backend's incremental path on the fakes
// (re-render the changed port, scoped Diff, apply to the fake; "sync").
func BenchmarkRenderDiff(b *testing.B) {
	for _, n := range []int{1000, 10000} {
		b.Run(fmt.Sprintf("full/%d", n), func(b *testing.B) {
			c, plan := fixture.Plan(b, n, 10)
			prev, err := Render(plan, RenderOptions{})
			if err != nil {
				b.Fatal(err)
			}
			b.ResetTimer()
			for i := range b.N {
				b.StopTimer() // the model's side is not Render+Diff
				snap, changed, _ := c.ChangeOneEndpoint(i%n, i)
				next, _ := plan.Update(snap, changed)
				b.StartTimer()
				r, err := Render(next, RenderOptions{})
				if err != nil {
					b.Fatal(err)
				}
				if ops := Diff(prev.IPVS, r.IPVS, DiffOptions{}); len(ops) == 0 {
					b.Fatal("no change")
				}
			}
		})
		b.Run(fmt.Sprintf("sync/%d", n), func(b *testing.B) {
			c, plan := fixture.Plan(b, n, 10)
			fb := newFakeBackend(b)
			ctx := context.Background()
			if _, err := fb.Sync(ctx, rulegen.SyncRequest{Plan: plan, Full: true}); err != nil {
				b.Fatal(err)
			}
			p := plan
			b.ResetTimer()
			for i := range b.N {
				snap, changed, _ := c.ChangeOneEndpoint(i%n, i)
				p, _ = p.Update(snap, changed)
				if _, err := fb.Sync(ctx, rulegen.SyncRequest{Plan: p, Changed: changed}); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkRender measures one full Render at n services x 10 endpoints.
func BenchmarkRender(b *testing.B) {
	for _, n := range []int{1000, 10000} {
		b.Run(fmt.Sprint(n), func(b *testing.B) {
			_, plan := fixture.Plan(b, n, 10)
			b.ResetTimer()
			for range b.N {
				if _, err := Render(plan, RenderOptions{}); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
