package iptables

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/proxykit/proxykit/internal/fixture"
	"github.com/proxykit/proxykit/rulegen"
)

func newFakeBackend(t *testing.T, k *Fake) *Backend {
	t.Helper()
	b, err := NewBackend(BackendOptions{Kernel: k, Sysctl: func(string, string) error { return nil }, CanaryInterval: -1})
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// syncedFake returns a Fake kernel and a Backend that has fully synced plan
// into it.
func syncedFake(t *testing.T, plan *rulegen.Plan) (*Fake, *Backend) {
	t.Helper()
	k := NewFake()
	b := newFakeBackend(t, k)
	if _, err := b.Sync(context.Background(), rulegen.SyncRequest{Plan: plan, Full: true}); err != nil {
		t.Fatal(err)
	}
	return k, b
}

// requireRendered fails t unless the kernel holds exactly what Render makes
// of plan (owned chains only).
func requireRendered(t *testing.T, k Kernel, plan *rulegen.Plan, families ...Family) {
	t.Helper()
	for _, f := range families {
		got, err := k.Read(context.Background(), f, TableNat, TableFilter)
		if err != nil {
			t.Fatal(err)
		}
		want, _ := Render(plan, f, RenderOptions{})
		if p, err := Diff(got, want, ownership(DefaultChainPrefix)); err != nil || !p.Empty() {
			t.Fatalf("%s: kernel differs from Render: %v\n%s", f, err, p)
		}
	}
}

func TestBackendFullSyncMatchesRender(t *testing.T) {
	k := NewFake()
	foreign := mustParse(t, "*nat\n:PREROUTING ACCEPT [0:0]\n:INPUT ACCEPT [0:0]\n:OUTPUT ACCEPT [0:0]\n:POSTROUTING ACCEPT [0:0]\n:DOCKER - [0:0]\n:KUBE-MARK-DROP - [0:0]\n-A KUBE-MARK-DROP -j MARK --set-xmark 0x8000/0x8000\n-A PREROUTING -m addrtype --dst-type LOCAL -j DOCKER\n-A DOCKER -i docker0 -j RETURN\nCOMMIT\n")
	k.Set(foreign)
	b := newFakeBackend(t, k)
	plan := samplePlan(t)
	ctx := context.Background()
	res, err := b.Sync(ctx, rulegen.SyncRequest{Plan: plan, Full: true})
	if err != nil || res.Writes == 0 {
		t.Fatalf("sync: %v (%d writes)", err, res.Writes)
	}
	requireRendered(t, k, plan, IPv4, IPv6)
	// A second full sync writes nothing; the foreign chain survived.
	if res, err := b.Sync(ctx, rulegen.SyncRequest{Plan: plan, Full: true}); err != nil || res.Writes != 0 {
		t.Fatalf("idempotent sync: %v, %d writes", err, res.Writes)
	}
	got, _ := k.Read(ctx, IPv4, TableNat)
	if got.Table(TableNat).Chain("DOCKER") == nil || !strings.Contains(string(got.Bytes()), "-j DOCKER") {
		t.Fatal("foreign rules lost")
	}
	if err := b.Cleanup(ctx); err != nil {
		t.Fatal(err)
	}
	got, _ = k.Read(ctx, IPv4, TableNat, TableFilter)
	if strings.Contains(strings.ReplaceAll(string(got.Bytes()), "KUBE-MARK-DROP", ""), "KUBE-") || got.Table(TableNat).Chain("DOCKER") == nil ||
		got.Table(TableNat).Chain("KUBE-MARK-DROP") == nil {
		t.Fatalf("cleanup left:\n%s", got.Bytes())
	}
}

// TestBackendOneEndpointChange: a one-endpoint change among many services
// rewrites only that service's chains, never KUBE-SERVICES.
func TestBackendOneEndpointChange(t *testing.T) {
	c, err := fixture.New(500, 5)
	if err != nil {
		t.Fatal(err)
	}
	plan, _ := rulegen.Compile(c.Snapshot, fixture.Node(), fixture.Config())
	k, b := syncedFake(t, plan)
	ctx := context.Background()
	snap, changed, _ := c.ChangeOneEndpoint(3, 1)
	plan, _ = plan.Update(snap, changed)
	before := len(k.Applied())
	res, err := b.Sync(ctx, rulegen.SyncRequest{Plan: plan, Changed: changed})
	if err != nil {
		t.Fatal(err)
	}
	applied := k.Applied()[before:]
	if len(applied) != 1 {
		t.Fatalf("%d payloads", len(applied))
	}
	text := string(applied[0].Bytes())
	if strings.Contains(text, ":KUBE-SERVICES") || strings.Contains(text, ":KUBE-NODEPORTS") || res.Writes > 12 {
		t.Fatalf("payload too large (%d writes):\n%s", res.Writes, text)
	}
	requireRendered(t, k, plan, IPv4)
}

func TestBackendFailureLeavesStateAndRecovers(t *testing.T) {
	plan := samplePlan(t)
	k, b := syncedFake(t, plan)
	ctx := context.Background()
	before, _ := k.Read(ctx, IPv4, TableNat, TableFilter)
	_, other := fixture.Plan(t, 20, 2)
	boom := errors.New("injected")
	k.FailOn = func(int, *Payload) error { return boom }
	if _, err := b.Sync(ctx, rulegen.SyncRequest{Plan: other}); !errors.Is(err, boom) {
		t.Fatalf("want injected failure, got %v", err)
	}
	after, _ := k.Read(ctx, IPv4, TableNat, TableFilter)
	if !after.Equal(before) {
		t.Fatal("a failed sync changed the kernel")
	}
	k.FailOn = nil
	if _, err := b.Sync(ctx, rulegen.SyncRequest{Plan: other, Changed: other.Names()}); err != nil {
		t.Fatal(err)
	}
	requireRendered(t, k, other, IPv4)
}

func TestBackendCanaryAsksForFullSync(t *testing.T) {
	plan := samplePlan(t)
	k, b := syncedFake(t, plan)
	ctx := context.Background()
	k.Set(NewRuleset(IPv4)) // someone flushed everything
	res, err := b.Sync(ctx, rulegen.SyncRequest{Plan: plan, Changed: plan.Names()[:1]})
	if err != nil || !res.NeedFull {
		t.Fatalf("want NeedFull, got %+v, %v", res, err)
	}
	if _, err := b.Sync(ctx, rulegen.SyncRequest{Plan: plan, Full: true}); err != nil {
		t.Fatal(err)
	}
	got, _ := k.Read(ctx, IPv4, TableNat)
	if got.Table(TableNat).Chain("KUBE-SERVICES") == nil {
		t.Fatal("full sync did not restore the rules")
	}
}

func TestRenderOptionsAndErrors(t *testing.T) {
	if _, err := Render(samplePlan(t), IPv4, RenderOptions{ChainPrefix: "way-too-long-prefix"}); err == nil {
		t.Fatal("bad prefix accepted")
	}
	rs, err := Render(samplePlan(t), IPv4, RenderOptions{ChainPrefix: "PK-"})
	if err != nil {
		t.Fatal(err)
	}
	if text := string(rs.Bytes()); strings.Contains(text, "KUBE-") || !strings.Contains(text, ":PK-SERVICES") {
		t.Fatal("prefix not applied")
	}
	if _, err := NewBackend(BackendOptions{}); err == nil {
		t.Fatal("backend without kernel accepted")
	}
}
