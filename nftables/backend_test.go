package nftables

import (
	"context"
	"errors"
	"fmt"
	"syscall"
	"testing"

	"github.com/proxykit/proxykit/internal/fixture"
	"github.com/proxykit/proxykit/rulegen"
	"github.com/proxykit/proxykit/servicemodel"
)

func fakeBackend(t testing.TB, opts RenderOptions) (*Fake, *Backend) {
	t.Helper()
	f := NewFakeOwning(opts.Ownership())
	b, err := NewBackend(BackendOptions{Kernel: f, Render: opts, Sysctl: func(string, string) error { return nil }})
	if err != nil {
		t.Fatal(err)
	}
	return f, b
}

func mustSync(t testing.TB, b *Backend, req rulegen.SyncRequest) rulegen.SyncResult {
	t.Helper()
	res, err := b.Sync(context.Background(), req)
	if err != nil {
		t.Fatal(err)
	}
	return res
}

// equalsRender fails unless what k holds is exactly the full render of plan.
func equalsRender(t testing.TB, k Kernel, plan *rulegen.Plan, opts RenderOptions) {
	t.Helper()
	cur, err := k.Read(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if tx := Diff(cur, mustRender(t, plan, opts), nil); !tx.Empty() {
		t.Fatalf("kernel differs from the render by:\n%s", tx)
	}
}

// changeOne changes one endpoint of service i and returns the updated plan
// and the changed names.
func changeOne(t testing.TB, c *fixture.Cluster, plan *rulegen.Plan, i, k int) (*rulegen.Plan, []servicemodel.ServicePortName) {
	t.Helper()
	snap, changed, err := c.ChangeOneEndpoint(i, k)
	if err != nil {
		t.Fatal(err)
	}
	next, err := plan.Update(snap, changed)
	if err != nil {
		t.Fatal(err)
	}
	return next, changed
}

// TestBackendIncremental: a full sync equals the render; each one-endpoint
// change is a handful of writes, and leaves the kernel equal to a full
// render of the new plan; a repeated sync writes nothing.
func TestBackendIncremental(t *testing.T) {
	for _, opts := range []RenderOptions{{Shards: 1}, {}} {
		t.Run(fmt.Sprintf("shards=%d", opts.shards()), func(t *testing.T) {
			c, plan := fixture.Plan(t, 300, 5)
			f, b := fakeBackend(t, opts)
			if res := mustSync(t, b, rulegen.SyncRequest{Plan: plan, Full: true}); res.Writes < 300*5 {
				t.Fatalf("full sync wrote %d", res.Writes)
			}
			equalsRender(t, f, plan, opts)
			for k := 1; k <= 5; k++ {
				var changed []servicemodel.ServicePortName
				plan, changed = changeOne(t, c, plan, 37*k, k)
				res := mustSync(t, b, rulegen.SyncRequest{Plan: plan, Changed: changed})
				if res.Writes == 0 || res.Writes > 12 {
					t.Errorf("change %d: %d writes, want a handful", k, res.Writes)
				}
				equalsRender(t, f, plan, opts)
			}
			if res := mustSync(t, b, rulegen.SyncRequest{Plan: plan, Changed: plan.Names()[:3]}); res.Writes != 0 {
				t.Errorf("unchanged sync wrote %d", res.Writes)
			}
			if res := mustSync(t, b, rulegen.SyncRequest{Plan: plan, Full: true}); res.Writes != 0 {
				t.Errorf("full resync of an unchanged kernel wrote %d", res.Writes)
			}
		})
	}
}

// TestBackendFailureLeavesState: a refused transaction leaves the kernel as
// it was and asks for a full sync, which then succeeds.
func TestBackendFailureLeavesState(t *testing.T) {
	c, plan := fixture.Plan(t, 50, 3)
	f, b := fakeBackend(t, RenderOptions{})
	mustSync(t, b, rulegen.SyncRequest{Plan: plan, Full: true})
	before := f.ReadAll()
	next, changed := changeOne(t, c, plan, 7, 1)
	f.SetFault(func(i int, op Op) error {
		if op.Kind == OpAddElements {
			return syscall.ENOMEM
		}
		return nil
	})
	res, err := b.Sync(context.Background(), rulegen.SyncRequest{Plan: next, Changed: changed})
	var ae *ApplyError
	if !errors.As(err, &ae) || !errors.Is(err, syscall.ENOMEM) || !res.NeedFull {
		t.Fatalf("sync: %v (NeedFull %v), want an ApplyError with ENOMEM and NeedFull", err, res.NeedFull)
	}
	if tx := Diff(f.ReadAll(), before, nil); !tx.Empty() {
		t.Fatalf("a failed sync changed the kernel:\n%s", tx)
	}
	f.SetFault(nil)
	mustSync(t, b, rulegen.SyncRequest{Plan: next, Changed: changed})
	equalsRender(t, f, next, RenderOptions{})
}

// TestBackendDriftRepaired: elements, chains and whole tables removed
// behind the backend's back come back at the next full sync.
func TestBackendDriftRepaired(t *testing.T) {
	opts := RenderOptions{Shards: 2}
	_, plan := fixture.Plan(t, 40, 3)
	f, b := fakeBackend(t, opts)
	mustSync(t, b, rulegen.SyncRequest{Plan: plan, Full: true})
	rs := mustRender(t, plan, opts)
	v4 := rs.Tables[0]
	ips := v4.Set(mapServiceIPs)
	drift := &Transaction{Ops: []Op{
		{Kind: OpDeleteElements, Table: v4.ID(), Name: ips.Name, Set: ips, Elements: ips.Elements[:2]},
		{Kind: OpDeleteTable, Table: rs.Tables[1].ID()},
	}}
	if err := f.Tamper(context.Background(), drift); err != nil {
		t.Fatal(err)
	}
	if res := mustSync(t, b, rulegen.SyncRequest{Plan: plan, Full: true}); res.Writes == 0 {
		t.Fatal("full sync repaired nothing")
	}
	equalsRender(t, f, plan, opts)
}

// TestBackendForeignTables: syncing, resharding and Cleanup leave other
// programs' tables alone, and delete every table of ours.
func TestBackendForeignTables(t *testing.T) {
	_, plan := fixture.Plan(t, 30, 2)
	opts := RenderOptions{Shards: 1}
	f, b := fakeBackend(t, opts)
	foreign := []TableID{{FamilyIPv4, "filter"}, {FamilyInet, "proxykit"}, {FamilyIPv4, "proxykitx"}}
	tx := &Transaction{}
	for _, id := range foreign {
		tx.Ops = append(tx.Ops, Op{Kind: OpAddTable, Table: id})
	}
	if err := f.Tamper(context.Background(), tx); err != nil {
		t.Fatal(err)
	}
	mustSync(t, b, rulegen.SyncRequest{Plan: plan, Full: true})
	// Resharding: a new backend over the same kernel (the default layout)
	// keeps shard 0's tables and adds the others.
	sharded := RenderOptions{}
	b2, err := NewBackend(BackendOptions{Kernel: f, Render: sharded, Sysctl: func(string, string) error { return nil }})
	if err != nil {
		t.Fatal(err)
	}
	mustSync(t, b2, rulegen.SyncRequest{Plan: plan, Full: true})
	equalsRender(t, f, plan, sharded)
	if err := b2.Cleanup(context.Background()); err != nil {
		t.Fatal(err)
	}
	all := f.ReadAll()
	if len(all.Tables) != len(foreign) {
		t.Fatalf("after Cleanup: %s, want only the foreign tables", tableIDs(all))
	}
	for _, id := range foreign {
		if all.Table(id) == nil {
			t.Errorf("foreign table %s gone", id)
		}
	}
}

// TestRenderIncrementalEqualsFull: after a series of changes (endpoints
// moved, endpoints removed, a service losing all endpoints, services
// removed and re-added), the incremental render equals a full render of the
// same plan, and the Backend's incremental syncs keep the Fake equal to it.
func TestRenderIncrementalEqualsFull(t *testing.T) {
	c, plan := fixture.Plan(t, 200, 4)
	opts := RenderOptions{Shards: 4}
	r, err := newRenderer(opts)
	if err != nil {
		t.Fatal(err)
	}
	r.update(plan, nil)
	f, b := fakeBackend(t, opts)
	mustSync(t, b, rulegen.SyncRequest{Plan: plan, Full: true})
	step := func(k int, snap *servicemodel.Snapshot, changed []servicemodel.ServicePortName) {
		t.Helper()
		if len(changed) == 0 {
			t.Fatalf("step %d changed nothing", k)
		}
		next, err := plan.Update(snap, changed)
		if err != nil {
			t.Fatal(err)
		}
		plan = next
		got, scope := r.update(plan, changed)
		if scope == nil {
			t.Fatal("incremental update fell back to a full render")
		}
		if tx := Diff(got, mustRender(t, plan, opts), nil); !tx.Empty() {
			t.Fatalf("step %d: incremental render differs from full:\n%s", k, tx)
		}
		mustSync(t, b, rulegen.SyncRequest{Plan: plan, Changed: changed})
		equalsRender(t, f, plan, opts)
	}
	for k := 1; k <= 30; k++ {
		i := (k * 53) % 200
		switch k % 5 {
		case 0, 1:
			snap, changed, err := c.ChangeOneEndpoint(i, k)
			if err != nil {
				t.Fatal(err)
			}
			step(k, snap, changed)
			continue
		case 2: // fewer endpoints
			es := *c.Slices[i]
			es.Endpoints = es.Endpoints[:len(es.Endpoints)/2]
			c.Slices[i] = &es
			must(c.Tracker.SetSlice(&es))
		case 3: // no endpoints at all
			c.Tracker.DeleteSlice(c.Slices[i].Service, c.Slices[i].Name)
		case 4: // the service goes, then comes back
			c.Tracker.DeleteService(c.Services[i].Name)
			snap, changed := c.Tracker.Snapshot()
			step(k, snap, changed)
			must(c.Tracker.SetService(c.Services[i]))
		}
		snap, changed := c.Tracker.Snapshot()
		step(k, snap, changed)
	}
}
