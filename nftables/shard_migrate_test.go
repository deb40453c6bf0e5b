package nftables

import (
	"context"
	"fmt"
	"testing"

	"github.com/proxykit/proxykit/internal/fixture"
	"github.com/proxykit/proxykit/rulegen"
)

// oldLayout renders plan over n shards and names the tables as releases
// before shard 0 took TableName did: "proxykit-00" to "proxykit-<n-1>".
func oldLayout(t *testing.T, plan *rulegen.Plan, n int) *Ruleset {
	t.Helper()
	rs := mustRender(t, plan, RenderOptions{Shards: n})
	old := &Ruleset{}
	for i, tb := range rs.Tables {
		c := tb.Clone()
		c.Name = fmt.Sprintf("%s-%02d", DefaultTableName, i%n)
		old.Tables = append(old.Tables, c)
	}
	return old
}

// TestShardLayoutMigration: a kernel holding the old shard names
// ("proxykit-00"...) beside a foreign table moves to the default layout at
// the first full sync ("proxykit-00" deleted, "proxykit" and "proxykit-01"...
// as rendered), then to one table per family; the foreign table stays.
func TestShardLayoutMigration(t *testing.T) {
	owner := RenderOptions{}.Ownership()
	kernels := []struct {
		name string
		new  func(t *testing.T) Kernel
	}{
		{"fake", func(*testing.T) Kernel { return NewFakeOwning(owner) }},
		{"netlink", func(t *testing.T) Kernel {
			ns := newTestNS(t)
			k, err := NewNetlink(NetlinkConfig{NetNSFd: ns.fd, Owner: owner})
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { _ = k.Close() })
			return k
		}},
	}
	for _, kt := range kernels {
		t.Run(kt.name, func(t *testing.T) {
			_, plan := fixture.Plan(t, 60, 3)
			k := kt.new(t)
			ctx := context.Background()
			around := aroundKernel(t, k)
			old := oldLayout(t, plan, 4)
			foreign := NewTable(FamilyIPv4, "proxykitx") // outside the "proxykit-" prefix
			setup := Diff(nil, old, nil)
			setup.Ops = append(setup.Ops, Op{Kind: OpAddTable, Table: foreign.ID()})
			if err := around.Apply(ctx, setup); err != nil {
				t.Fatal(err)
			}
			if got := tableIDs(mustRead(t, k)); got != "ip proxykit-00,ip proxykit-01,ip proxykit-02,ip proxykit-03,"+
				"ip6 proxykit-00,ip6 proxykit-01,ip6 proxykit-02,ip6 proxykit-03" {
				t.Fatalf("old layout reads back as %s", got)
			}
			for _, opts := range []RenderOptions{{}, {Shards: 1}} {
				b, err := NewBackend(BackendOptions{Kernel: k, Render: opts, Sysctl: func(string, string) error { return nil }})
				if err != nil {
					t.Fatal(err)
				}
				mustSync(t, b, rulegen.SyncRequest{Plan: plan, Full: true})
				equalsRender(t, k, plan, opts)
				if back := mustRead(t, around); back.Table(TableID{FamilyIPv4, "proxykit-00"}) != nil {
					t.Fatalf("shards=%d: the old shard 0 survived: %s", opts.shards(), tableIDs(back))
				}
			}
			all := mustRead(t, around)
			if got := tableIDs(mustRead(t, k)); got != "ip proxykit,ip6 proxykit" || len(all.Tables) != 3 {
				t.Fatalf("one table per family reads back as %s (all: %s)", got, tableIDs(all))
			}
			if mustRead(t, around).Table(foreign.ID()) == nil {
				t.Fatal("the foreign table is gone")
			}
		})
	}
}

// aroundKernel returns a kernel that sees past k's ownership: the Fake
// itself through Tamper and ReadAll, or a second netlink kernel owning every
// "proxykit*" table.
func aroundKernel(t *testing.T, k Kernel) Kernel {
	t.Helper()
	switch k := k.(type) {
	case *Fake:
		return fakeAround{k}
	case *Netlink:
		all, err := NewNetlink(NetlinkConfig{NetNSFd: k.cfg.NetNSFd, Owner: Ownership{Prefix: "proxykit"}})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = all.Close() })
		return all
	}
	t.Fatalf("unknown kernel %T", k)
	return nil
}

type fakeAround struct{ f *Fake }

func (a fakeAround) Apply(ctx context.Context, tx *Transaction) error { return a.f.Tamper(ctx, tx) }
func (a fakeAround) Read(context.Context) (*Ruleset, error)           { return a.f.ReadAll(), nil }
