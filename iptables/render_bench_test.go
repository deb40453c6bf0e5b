package iptables

import (
	"io"
	"testing"

	"github.com/proxykit/proxykit/internal/fixture"
	"github.com/proxykit/proxykit/rulegen"
)

// BenchmarkRenderDiffFull: render 10k services × 10 endpoints from scratch,
// diff against an empty kernel and write the iptables-restore payload with
// WriteTo to io.Discard: everything the Go side does before iptables-restore
// reads the text (Exec.Apply streams the same WriteTo into its stdin). The
// chains' restore lines were produced by Render and are written as they
// are; WriteTo formats the rest (declarations, other commands) through a
// small buffer.
func BenchmarkRenderDiffFull(b *testing.B) {
	_, plan := fixture.Plan(b, 10000, 10)
	empty := NewRuleset(IPv4)
	own := OwnPrefix(DefaultChainPrefix)
	b.ReportAllocs()
	var rules, size int
	for b.Loop() {
		rs, err := Render(plan, IPv4, RenderOptions{})
		if err != nil {
			b.Fatal(err)
		}
		p, err := Diff(empty, rs, own)
		if err != nil {
			b.Fatal(err)
		}
		n, err := p.WriteTo(io.Discard)
		if err != nil {
			b.Fatal(err)
		}
		rules, size = p.Writes(), int(n)
	}
	b.ReportMetric(float64(rules), "writes")
	b.ReportMetric(float64(size), "payload-bytes")
}

// BenchmarkRenderDiffOneEndpoint: after one endpoint of one service changed
// among 10k × 10, render the change incrementally and diff it; reports the
// payload size.
func BenchmarkRenderDiffOneEndpoint(b *testing.B) {
	c, plan := fixture.Plan(b, 10000, 10)
	r, err := newRenderer(IPv4, RenderOptions{})
	if err != nil {
		b.Fatal(err)
	}
	current, _ := r.update(plan, nil)
	current = current.Clone()
	own := OwnPrefix(DefaultChainPrefix)
	snaps := make([]*rulegen.Plan, 0, 2)
	for k := 1; k <= 2; k++ {
		snap, changed, err := c.ChangeOneEndpoint(5000, k)
		if err != nil {
			b.Fatal(err)
		}
		p, _ := plan.Update(snap, changed)
		snaps = append(snaps, p)
	}
	changed := snaps[0].Names()[:0]
	for _, n := range snaps[0].Names() {
		if n.Name == "svc-5000" {
			changed = append(changed, n)
		}
	}
	b.ReportAllocs()
	var size int
	i := 0
	for b.Loop() {
		desired, refs := r.update(snaps[i%2], changed)
		p, err := DiffChanged(current, desired, own, refs)
		if err != nil {
			b.Fatal(err)
		}
		size = len(p.Bytes())
		i++
	}
	b.ReportMetric(float64(size), "payload-bytes")
}

func BenchmarkRenderFull(b *testing.B) {
	_, plan := fixture.Plan(b, 10000, 10)
	b.ReportAllocs()
	for b.Loop() {
		if _, err := Render(plan, IPv4, RenderOptions{}); err != nil {
			b.Fatal(err)
		}
	}
}
