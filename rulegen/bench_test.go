package rulegen_test

import (
	"fmt"
	"testing"

	"github.com/proxykit/proxykit/internal/fixture"
	"github.com/proxykit/proxykit/rulegen"
)

func BenchmarkCompile(b *testing.B) {
	for _, n := range []int{1000, 10000} {
		b.Run(fmt.Sprintf("services=%d/endpoints=10", n), func(b *testing.B) {
			c, err := fixture.New(n, 10)
			if err != nil {
				b.Fatal(err)
			}
			b.ReportAllocs()
			for b.Loop() {
				if _, err := rulegen.Compile(c.Snapshot, fixture.Node(), fixture.Config()); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkUpdateOneEndpoint measures Plan.Update after one endpoint of one
// service changed, at 10k services × 10 endpoints.
func BenchmarkUpdateOneEndpoint(b *testing.B) {
	c, plan := fixture.Plan(b, 10000, 10)
	snap, changed, err := c.ChangeOneEndpoint(5000, 1)
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := plan.Update(snap, changed); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkUpdateNames: the sorted names of a plan updated after one
// endpoint change, at 10k services, derived from the base plan's names;
// "sort" asks a fully compiled plan for them, the cost without the base.
func BenchmarkUpdateNames(b *testing.B) {
	c, plan := fixture.Plan(b, 10000, 10)
	plan.Names()
	snap, changed, err := c.ChangeOneEndpoint(5000, 1)
	if err != nil {
		b.Fatal(err)
	}
	b.Run("derived", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			next, _ := plan.Update(snap, changed)
			next.Names()
		}
	})
	b.Run("sort", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			b.StopTimer()
			full, _ := rulegen.Compile(snap, fixture.Node(), fixture.Config())
			b.StartTimer()
			full.Names()
		}
	})
}
