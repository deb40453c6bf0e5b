package netharness

import (
	"context"
	"testing"

	"github.com/proxykit/proxykit/internal/kerneltest"
)

// BenchmarkBuild measures building and closing StandardSpec (6 namespaces,
// 5 veths, 2 bridges, 12 servers, readiness probes).
func BenchmarkBuild(b *testing.B) {
	kerneltest.Need(b)
	for b.Loop() {
		topo, err := Build(context.Background(), nil, StandardSpec())
		if err != nil {
			b.Fatal(err)
		}
		if err := topo.Close(); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkProbe measures one TCP probe from a client to a pod, and one that
// is refused by the pod's kernel.
func BenchmarkProbe(b *testing.B) {
	kerneltest.Need(b)
	topo := BuildT(b, StandardSpec())
	for _, c := range []struct {
		name, dst string
		want      Outcome
	}{{"reached", "10.244.1.2:8080", Reached}, {"refused", "10.244.1.2:9", Refused}} {
		b.Run(c.name, func(b *testing.B) {
			for b.Loop() {
				if r := topo.Probe(context.Background(), "client-a", "tcp", ap(c.dst), ProbeOptions{}); r.Outcome != c.want {
					b.Fatal(r)
				}
			}
		})
	}
}
