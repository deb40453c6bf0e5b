package nftables

import (
	"fmt"
	"testing"

	"github.com/proxykit/proxykit/internal/fixture"
	"github.com/proxykit/proxykit/rulegen"
)

// benchShards are the layouts the render benchmarks compare: one table per
// family, and the default.
var benchShards = []int{1, DefaultShards}

// kernelBenchShards are the layouts the kernel benchmarks compare: one
// table per family, and the shard counts DefaultShards was chosen from.
var kernelBenchShards = []int{1, 16, 32, 64}

// BenchmarkRenderFull: render the 10k services × 10 endpoints fixture from
// scratch, in one table per family and in the default layout
// (shards=DefaultShards, which the 50 ms target is about).
func BenchmarkRenderFull(b *testing.B) {
	_, plan := fixture.Plan(b, benchServices, benchEndpoints)
	for _, n := range benchShards {
		b.Run(fmt.Sprintf("shards=%d", n), func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if _, err := Render(plan, RenderOptions{Shards: n}); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkRenderDiffOneEndpoint: one endpoint of one service changed among
// 10k × 10: re-render it incrementally and diff against the previous
// render (pure, no kernel); reports the transaction's writes.
func BenchmarkRenderDiffOneEndpoint(b *testing.B) {
	for _, n := range benchShards {
		b.Run(fmt.Sprintf("shards=%d", n), func(b *testing.B) {
			c, plan := fixture.Plan(b, benchServices, benchEndpoints)
			r, err := newRenderer(RenderOptions{Shards: n})
			if err != nil {
				b.Fatal(err)
			}
			current, _ := r.update(plan, nil)
			plans := make([]*rulegen.Plan, 2)
			p1, changed := changeOne(b, c, plan, 5000, 1)
			p2, _ := changeOne(b, c, p1, 5000, 2)
			plans[0], plans[1] = p1, p2
			b.ReportAllocs()
			writes, i := 0, 0
			for b.Loop() {
				desired, scope := r.update(plans[i%2], changed)
				writes = Diff(current, desired, scope).Writes()
				current = desired
				i++
			}
			b.ReportMetric(float64(writes), "writes")
		})
	}
}
