package ipvs

import (
	"context"
	"errors"
	"net/netip"
	"strings"
	"testing"

	"github.com/proxykit/proxykit/internal/fixture"
	"github.com/proxykit/proxykit/internal/sample"
	"github.com/proxykit/proxykit/iptables"
	"github.com/proxykit/proxykit/rulegen"
	"github.com/proxykit/proxykit/servicemodel"
)

func samplePlan(t testing.TB) *rulegen.Plan {
	t.Helper()
	snap, err := sample.Snapshot()
	if err != nil {
		t.Fatal(err)
	}
	plan, err := rulegen.Compile(snap, sample.Node(), sample.Config())
	if err != nil {
		t.Fatal(err)
	}
	return plan
}

type fakeBackend struct {
	*Backend
	ipvs  *Fake
	rules *iptables.Fake
}

func newFakeBackend(t testing.TB) fakeBackend {
	t.Helper()
	k, r := NewFake(Options{}), iptables.NewFake()
	b, err := NewBackend(BackendOptions{Kernel: k, Rules: r, Sysctl: func(string, string) error { return nil }})
	if err != nil {
		t.Fatal(err)
	}
	return fakeBackend{b, k, r}
}

// ours returns what the fake kernel holds that is ours, without the
// ownership sets.
func (fb fakeBackend) ours(t testing.TB) *State {
	t.Helper()
	s, err := fb.ipvs.Read(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func (fb fakeBackend) checkRender(t *testing.T, plan *rulegen.Plan) {
	t.Helper()
	want, err := Render(plan, RenderOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if got := fb.ours(t); !got.Equal(want.IPVS) {
		t.Fatalf("kernel differs from Render:\n%s", Diff(got, want.IPVS, DiffOptions{}))
	}
	for f, rs := range want.Rules {
		got, _ := fb.rules.Read(context.Background(), f, iptables.TableNat, iptables.TableFilter)
		if p, err := iptables.Diff(got, rs, ownCompanion("KUBE-")); err != nil || !p.Empty() {
			t.Fatalf("%s rules differ from Render: %v\n%s", f, err, p)
		}
	}
}

func TestBackendSyncMatchesRenderAndCleansUp(t *testing.T) {
	fb := newFakeBackend(t)
	ctx := context.Background()
	foreign := &VirtualServer{VSKey: VSKey{Protocol: TCP, Addr: netip.MustParseAddr("192.0.2.1"), Port: 80}, Scheduler: "wlc",
		Reals: []RealServer{{Addr: netip.MustParseAddr("192.0.2.2"), Port: 80, Weight: 1}}}
	if err := fb.ipvs.AddForeign(foreign); err != nil {
		t.Fatal(err)
	}
	plan := samplePlan(t)
	if _, err := fb.Sync(ctx, rulegen.SyncRequest{Plan: plan, Full: true}); err != nil {
		t.Fatal(err)
	}
	fb.checkRender(t, plan)
	if res, err := fb.Sync(ctx, rulegen.SyncRequest{Plan: plan, Full: true}); err != nil || res.Writes != 0 {
		t.Fatalf("second full sync: %v, %d writes", err, res.Writes)
	}
	if err := fb.Cleanup(ctx); err != nil {
		t.Fatal(err)
	}
	dump := fb.ipvs.Dump()
	if len(dump.Services) != 1 || !dump.Services[foreign.VSKey].Equal(foreign) || len(dump.Sets) != 0 || len(dump.Addresses) != 0 {
		t.Fatalf("cleanup left or took too much:\n%s", dump)
	}
	for _, f := range []iptables.Family{iptables.IPv4, iptables.IPv6} {
		rs, _ := fb.rules.Read(ctx, f, iptables.TableNat, iptables.TableFilter)
		if strings.Contains(rs.String(), "KUBE-") {
			t.Fatalf("cleanup left rules:\n%s", rs)
		}
	}
}

// TestBackendOneEndpointChange: a one-endpoint change among many services
// costs at most 3 IPVS writes and no companion rule.
func TestBackendOneEndpointChange(t *testing.T) {
	c, plan, fb := syncedFixture(t, 500, 5)
	ctx := context.Background()
	for i := range 5 {
		snap, changed, err := c.ChangeOneEndpoint(3+i, 1)
		if err != nil {
			t.Fatal(err)
		}
		plan, _ = plan.Update(snap, changed)
		before, rulesBefore := fb.ipvs.Writes(), len(fb.rules.Applied())
		if _, err := fb.Sync(ctx, rulegen.SyncRequest{Plan: plan, Changed: changed}); err != nil {
			t.Fatal(err)
		}
		if n := fb.ipvs.Writes() - before; n == 0 || n > 3+2 { // ≤ 3 IPVS ops, plus the hairpin set's entries
			t.Errorf("change %d: %d kernel writes", i, n)
		}
		if len(fb.rules.Applied()) != rulesBefore {
			t.Errorf("change %d: companion rules rewritten", i)
		}
	}
	// The incremental state equals a fresh render (graceful termination
	// aside: removed real servers drain at weight 0).
	want, _ := Render(plan, RenderOptions{})
	got := fb.ours(t)
	for _, o := range Diff(got, want.IPVS, DiffOptions{}) {
		if o.Kind != OpDelReal {
			t.Errorf("incremental state differs from Render: %s", o)
		}
	}
}

func TestBackendRollsBackOnFailure(t *testing.T) {
	fb := newFakeBackend(t)
	ctx := context.Background()
	plan := samplePlan(t)
	if _, err := fb.Sync(ctx, rulegen.SyncRequest{Plan: plan, Full: true}); err != nil {
		t.Fatal(err)
	}
	before := fb.ipvs.Dump()
	empty, _ := rulegen.Compile(servicemodel.EmptySnapshot(), sample.Node(), sample.Config())
	n := 0
	fb.ipvs.SetFailure(func(Op) error {
		if n++; n == 7 {
			return ErrInjected
		}
		return nil
	})
	_, err := fb.Sync(ctx, rulegen.SyncRequest{Plan: empty})
	if !errors.Is(err, ErrInjected) {
		t.Fatalf("sync error %v, want the injected failure", err)
	}
	if after := fb.ipvs.Dump(); !after.Equal(before) {
		t.Fatalf("kernel changed after a failed sync:\n%s", Diff(before, after, DiffOptions{}))
	}
	fb.ipvs.SetFailure(nil)
	// A failure of the companion rules undoes the IPVS side too.
	fb.rules.FailOn = iptables.FailWhen(func(*iptables.Payload) bool { return true }, errors.New("boom"))
	if _, err := fb.Sync(ctx, rulegen.SyncRequest{Plan: empty}); err == nil {
		t.Fatal("sync with failing rules succeeded")
	}
	if after := fb.ipvs.Dump(); !after.Equal(before) {
		t.Fatalf("IPVS changed after the companion rules failed:\n%s", Diff(before, after, DiffOptions{}))
	}
	fb.rules.FailOn = nil
	if _, err := fb.Sync(ctx, rulegen.SyncRequest{Plan: empty}); err != nil {
		t.Fatal(err)
	}
	fb.checkRender(t, empty)
}

// TestBackendGracefulTermination: an endpoint removed while it has
// connections is set to weight 0 by the scoped sync and deleted by the first
// sync after it drained.
func TestBackendGracefulTermination(t *testing.T) {
	c, plan, fb := syncedFixture(t, 20, 3)
	ctx := context.Background()
	before := fb.ours(t)
	for _, v := range before.Services { // every real server has a connection
		for _, r := range v.Reals {
			if err := fb.ipvs.SetConns(v.VSKey, r.Key(), 1, 0); err != nil {
				t.Fatal(err)
			}
		}
	}
	snap, changed, _ := c.ChangeOneEndpoint(2, 1)
	plan, _ = plan.Update(snap, changed)
	if _, err := fb.Sync(ctx, rulegen.SyncRequest{Plan: plan, Changed: changed}); err != nil {
		t.Fatal(err)
	}
	var zero []RSKey
	for _, v := range fb.ours(t).Services {
		for _, r := range v.Reals {
			if r.Weight == 0 {
				zero = append(zero, r.Key())
				if err := fb.ipvs.SetConns(v.VSKey, r.Key(), 0, 0); err != nil {
					t.Fatal(err)
				}
			}
		}
	}
	if len(zero) == 0 {
		t.Fatal("the removed endpoint was deleted at once despite its connections")
	}
	if _, err := fb.Sync(ctx, rulegen.SyncRequest{Plan: plan, Changed: []servicemodel.ServicePortName{}}); err != nil {
		t.Fatal(err)
	}
	want, _ := Render(plan, RenderOptions{})
	if got := fb.ours(t); !got.Equal(want.IPVS) {
		t.Fatalf("drained endpoint not deleted:\n%s", Diff(got, want.IPVS, DiffOptions{}))
	}
}

// syncedFixture builds an n × m fixture cluster and fully syncs its plan
// into a fake-backed Backend.
func syncedFixture(t *testing.T, n, m int) (*fixture.Cluster, *rulegen.Plan, fakeBackend) {
	t.Helper()
	c, plan := fixture.Plan(t, n, m)
	fb := newFakeBackend(t)
	if _, err := fb.Sync(context.Background(), rulegen.SyncRequest{Plan: plan, Full: true}); err != nil {
		t.Fatal(err)
	}
	return c, plan, fb
}
