package ipvsvm

import (
	"context"
	"fmt"
	"net/netip"
	"slices"
	"testing"
	"time"

	"github.com/proxykit/proxykit/internal/fixture"
	"github.com/proxykit/proxykit/iptables"
	"github.com/proxykit/proxykit/ipvs"
	"github.com/proxykit/proxykit/rulegen"
	"github.com/proxykit/proxykit/servicemodel"
)

// oneRealBackend is the fixture programmed through a Backend in its own
// namespace, changed one endpoint at a time.
type oneRealBackend struct {
	c    *fixture.Cluster
	plan *rulegen.Plan
	bk   *ipvs.Backend
	n    int
	// plain are the services with one TCP port, a ClusterIP and nothing
	// else (one virtual server): the same shape at every size.
	plain []int
}

func newOneRealBackend(b *testing.B, n int) *oneRealBackend {
	c, plan := fixture.Plan(b, n, 10)
	ns := newNS(b)
	bk, _ := nsBackend(b, ns, ipvs.BackendOptions{Families: []iptables.Family{iptables.IPv4}})
	if _, err := bk.Sync(context.Background(), rulegen.SyncRequest{Plan: plan, Full: true}); err != nil {
		b.Fatal(err)
	}
	o := &oneRealBackend{c: c, plan: plan, bk: bk, n: n}
	for i, svc := range c.Services {
		if svc.Type == servicemodel.TypeClusterIP && len(svc.ExternalIPs) == 0 && len(svc.Ports) == 1 && svc.AffinityTimeout == 0 {
			o.plain = append(o.plain, i)
		}
	}
	return o
}

// change adds a fresh endpoint (the k-th) to service i, or removes the last
// endpoint of service i, and syncs that through the Backend; the model's
// side is not timed.
func (o *oneRealBackend) change(b *testing.B, i, k int, add bool) (time.Duration, int) {
	old := o.c.Slices[i]
	next := *old
	if add {
		next.Endpoints = append(slices.Clip(old.Endpoints), servicemodel.Endpoint{
			Addr: netip.AddrFrom4([4]byte{10, 126, byte(k >> 8), byte(k)}), NodeName: "node-1"})
	} else {
		next.Endpoints = old.Endpoints[:len(old.Endpoints)-1]
	}
	o.c.Slices[i] = &next
	if err := o.c.Tracker.SetSlice(&next); err != nil {
		b.Fatal(err)
	}
	snap, changed := o.c.Tracker.Snapshot()
	o.plan, _ = o.plan.Update(snap, changed)
	start := time.Now()
	res, err := o.bk.Sync(context.Background(), rulegen.SyncRequest{Plan: o.plan, Changed: changed})
	took := time.Since(start)
	if err != nil {
		b.Fatal(err)
	}
	return took, res.Writes
}

// BenchmarkBackendOneRealServer adds one real server (a new endpoint of one
// service) and removes it again (graceful: weight 0 first) through
// Backend.Sync (a plain ClusterIP service: one virtual server), with 1k and
// 10k services x 10 endpoints programmed in two
// namespaces of the same run, the two sizes interleaved so that load drift
// hits both alike. It reports each step's median Sync time and writes per
// step; 10k/1k is the ratio of the medians.
func BenchmarkBackendOneRealServer(b *testing.B) {
	sizes := []*oneRealBackend{newOneRealBackend(b, 1000), newOneRealBackend(b, 10000)}
	times := map[string][]time.Duration{}
	writes := map[string]int{}
	b.ResetTimer()
	k := 0
	for b.Loop() {
		for _, o := range sizes {
			i := o.plain[(k*37)%len(o.plain)]
			for _, add := range []bool{true, false} {
				d, w := o.change(b, i, k, add)
				name := fmt.Sprintf("%s-%dk", map[bool]string{true: "add", false: "remove"}[add], o.n/1000)
				times[name] = append(times[name], d)
				writes[name] += w
			}
		}
		k++
	}
	for name, ds := range times {
		b.ReportMetric(float64(median(ds).Microseconds()), name+"-median-µs")
		b.ReportMetric(float64(writes[name])/float64(len(ds)), name+"-writes")
	}
	for _, step := range []string{"add", "remove"} {
		b.ReportMetric(float64(median(times[step+"-10k"]))/float64(median(times[step+"-1k"])), step+"-10k/1k")
	}
}

func median(ds []time.Duration) time.Duration {
	s := slices.Sorted(slices.Values(ds))
	return s[len(s)/2]
}
