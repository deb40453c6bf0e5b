package iptables

import (
	"context"
	"testing"
)

// BenchmarkRealApply10k measures iptables-restore into a throwaway netns
// at 10k services x 10 endpoints: "full" loads the whole ruleset into an
// empty namespace, "one-endpoint" applies the one-endpoint payload (and,
// untimed, its reverse). Run with -benchtime 1x: a full load takes seconds.
func BenchmarkRealApply10k(b *testing.B) {
	ctx := context.Background()
	cur := scaleRuleset(b)
	full, err := Diff(NewRuleset(IPv4), cur, kube)
	if err != nil {
		b.Fatal(err)
	}
	des, changed := oneEndpointChange(b, cur)
	fwd, err1 := DiffChanged(cur, des, kube, changed)
	back, err2 := DiffChanged(des, cur, kube, changed)
	if err1 != nil || err2 != nil {
		b.Fatal(err1, err2)
	}
	for _, v := range variants {
		b.Run(string(v)+"/full", func(b *testing.B) {
			for b.Loop() {
				b.StopTimer()
				k := newExec(b, v)
				b.StartTimer()
				if err := k.Apply(ctx, full); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(len(full.Bytes())), "payload-bytes")
		})
		b.Run(string(v)+"/one-endpoint", func(b *testing.B) {
			k := newExec(b, v)
			if err := k.Apply(ctx, full); err != nil {
				b.Fatal(err)
			}
			b.ResetTimer()
			for b.Loop() {
				if err := k.Apply(ctx, fwd); err != nil {
					b.Fatal(err)
				}
				b.StopTimer()
				if err := k.Apply(ctx, back); err != nil {
					b.Fatal(err)
				}
				b.StartTimer()
			}
			b.ReportMetric(float64(len(fwd.Bytes())), "payload-bytes")
		})
	}
}
