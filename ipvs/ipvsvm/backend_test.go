package ipvsvm

import (
	"context"
	"errors"
	"net/netip"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/proxykit/proxykit/iptables"
	"github.com/proxykit/proxykit/ipvs"
	"github.com/proxykit/proxykit/rulegen"
	"github.com/proxykit/proxykit/servicemodel"
)

// nsBackend opens a Backend on a testNS, with legacy iptables there.
func nsBackend(t testing.TB, ns *testNS, opts ipvs.BackendOptions) (*ipvs.Backend, *ipvs.Real) {
	t.Helper()
	k := ns.open(t, ipvs.Options{})
	exec, err := iptables.NewExec(t.Context(), iptables.ExecOptions{Variant: iptables.Legacy, Run: iptables.NetNSRunner(ns.h)})
	if err != nil {
		t.Fatal(err)
	}
	opts.Kernel, opts.Rules = k, exec
	opts.Sysctl = func(key, val string) error {
		ns.run(t, "", "sysctl", "-q", "-w", key+"="+val)
		return nil
	}
	b, err := ipvs.NewBackend(opts)
	if err != nil {
		t.Fatal(err)
	}
	return b, k
}

func syncPlan(t *testing.T, b *ipvs.Backend, plan *rulegen.Plan, changed []servicemodel.ServicePortName) rulegen.SyncResult {
	t.Helper()
	res, err := b.Sync(t.Context(), rulegen.SyncRequest{Plan: plan, Changed: changed, Full: changed == nil})
	if err != nil {
		t.Fatal(err)
	}
	return res
}

// TestBackendGracefulTermination removes, through Backend.Sync, an endpoint
// that has an established connection: the connection keeps working, new
// connections go elsewhere, and the first sync after it closed deletes the
// real server.
func TestBackendGracefulTermination(t *testing.T) {
	ns := newNS(t)
	backends(t, ns, 8080, "10.244.1.2", "10.244.1.3")
	b, k := nsBackend(t, ns, ipvs.BackendOptions{GracePeriod: time.Hour})
	svc := svcSpec{name: "web", clusterIP: "10.96.0.1", port: 80, target: 8080, endpoints: []string{"10.244.1.2", "10.244.1.3"}}
	plan := planOf(t, nil, svc)
	syncPlan(t, b, plan, nil)
	cl := dial(t, ns, "10.96.0.1:80")
	gone := cl.ask(t)
	svc.endpoints = slices.DeleteFunc(slices.Clone(svc.endpoints), func(s string) bool { return s == gone })
	changed := plan.Names()
	plan = planOf(t, nil, svc)
	res := syncPlan(t, b, plan, changed)
	if res.Writes != 2 {
		t.Errorf("removing an endpoint: %d writes, want 2 (weight 0, hairpin set entry)", res.Writes)
	}
	if got := cl.ask(t); got != gone {
		t.Fatalf("the established connection moved from %s to %s", gone, got)
	}
	for range 4 {
		c := dial(t, ns, "10.96.0.1:80")
		if got := c.ask(t); got == gone {
			t.Fatalf("a new connection went to the terminating %s", got)
		}
		c.c.Close()
	}
	cl.c.Close()
	key := ipvs.VSKey{Protocol: ipvs.TCP, Addr: netip.MustParseAddr("10.96.0.1"), Port: 80}
	deadline := time.Now().Add(10 * time.Second)
	for {
		syncPlan(t, b, plan, []servicemodel.ServicePortName{})
		v, err := k.ReadService(t.Context(), key)
		if err != nil {
			t.Fatal(err)
		}
		if indexOf(v.Reals, gone) < 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("terminating %s never deleted: %+v", gone, v.Reals)
		}
		time.Sleep(200 * time.Millisecond)
	}
}

// TestBackendRollbackAndForeign: an injected failure in the middle of a
// sync leaves the kernel as it was; a foreign virtual server survives syncs
// and Cleanup; every scheduler the kernel has is programmed through the
// Backend.
func TestBackendRollbackAndForeign(t *testing.T) {
	ctx := context.Background()
	ns := newNS(t)
	foreign := ns.open(t, ipvs.Options{Dummy: "other0", SetPrefix: "OTHER-"})
	fst := ipvs.NewState()
	fvs := fst.AddService(&ipvs.VirtualServer{VSKey: ipvs.VSKey{Protocol: ipvs.TCP, Addr: netip.MustParseAddr("192.0.2.1"), Port: 80},
		Scheduler: "wlc", Reals: []ipvs.RealServer{{Addr: netip.MustParseAddr("192.0.2.2"), Port: 80, Weight: 3}}})
	if _, err := foreign.Apply(ctx, ipvs.Diff(nil, fst, ipvs.DiffOptions{})); err != nil {
		t.Fatal(err)
	}
	b, k := nsBackend(t, ns, ipvs.BackendOptions{})
	svcs := []svcSpec{
		{name: "a", clusterIP: "10.96.0.1", port: 80, target: 8080, endpoints: []string{"10.244.1.2", "10.244.1.3"}},
		{name: "b", clusterIP: "10.96.0.2", externalIPs: []string{"203.0.113.9"}, port: 80, target: 8080, endpoints: []string{"10.244.1.4"}},
	}
	plan := planOf(t, []string{"10.0.0.10"}, svcs...)
	syncPlan(t, b, plan, nil)
	before, err := k.Read(ctx)
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	k.SetFailure(func(ipvs.Op) error {
		if n++; n == 4 {
			return ipvs.ErrInjected
		}
		return nil
	})
	next := planOf(t, []string{"10.0.0.10"}, svcSpec{name: "c", clusterIP: "10.96.0.3", port: 443, target: 8443, endpoints: []string{"10.244.1.9"}})
	if _, err := b.Sync(ctx, rulegen.SyncRequest{Plan: next, Full: true}); !errors.Is(err, ipvs.ErrInjected) {
		t.Fatalf("sync: %v, want the injected failure", err)
	}
	k.SetFailure(nil)
	if after, _ := k.Read(ctx); !after.Equal(before) {
		t.Fatalf("the kernel changed after a failed sync:\n%s", ipvs.Diff(before, after, ipvs.DiffOptions{}))
	}
	for _, sched := range ipvs.Schedulers {
		if !hasModule("ip_vs_" + sched) {
			t.Logf("scheduler %s: the kernel has no module", sched)
			continue
		}
		for i := range svcs {
			svcs[i].scheduler = sched
		}
		plan := planOf(t, []string{"10.0.0.10"}, svcs...)
		syncPlan(t, b, plan, nil)
		want, _ := ipvs.Render(plan, ipvs.RenderOptions{})
		if got, _ := k.Read(ctx); !got.Equal(want.IPVS) {
			t.Fatalf("scheduler %s: kernel differs from the render:\n%s", sched, ipvs.Diff(got, want.IPVS, ipvs.DiffOptions{}))
		}
	}
	if err := b.Cleanup(ctx); err != nil {
		t.Fatal(err)
	}
	if got, _ := k.Read(ctx); len(got.Services)+len(got.Addresses)+len(got.Sets) != 0 {
		t.Fatalf("cleanup left:\n%s", got)
	}
	if got, _ := foreign.Read(ctx); len(got.Services) != 1 || !got.Services[fvs.VSKey].Equal(fvs) {
		t.Fatalf("the foreign service changed:\n%s", got)
	}
	if out := ns.run(t, "", "iptables-legacy-save"); strings.Contains(out, "KUBE-") {
		t.Fatalf("cleanup left rules:\n%s", out)
	}
}
