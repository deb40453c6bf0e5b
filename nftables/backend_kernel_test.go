package nftables

import (
	"context"
	"errors"
	"syscall"
	"testing"

	"github.com/proxykit/proxykit/internal/fixture"
	"github.com/proxykit/proxykit/rulegen"
)

// faultyKernel appends, when armed, an op the kernel refuses (deleting a
// chain that does not exist) to every transaction, so the whole batch must
// be rolled back.
type faultyKernel struct {
	*Netlink
	armed bool
	table TableID
}

func (k *faultyKernel) Apply(ctx context.Context, tx *Transaction) error {
	if k.armed {
		bad := *tx
		bad.Ops = append(append([]Op(nil), tx.Ops...), Op{Kind: OpDeleteChain, Table: k.table, Name: "no-such-chain"})
		tx = &bad
	}
	return k.Netlink.Apply(ctx, tx)
}

// TestBackendKernel runs the Backend over netlink in a throwaway namespace
// beside foreign tables: a refused transaction leaves every table as it
// was; drift (a deleted element, chain and table) is repaired by the next
// full sync; Cleanup removes our tables only.
func TestBackendKernel(t *testing.T) {
	ns := newTestNS(t)
	ns.nft(t, "table ip filter {\n chain input {\n type filter hook input priority 0; policy accept;\n }\n}\n"+
		"table inet proxykit {\n}\ntable ip proxykitx {\n set s {\n type ipv4_addr;\n }\n}\n", "-f", "-")
	foreign := ns.nft(t, "", "list", "ruleset")
	opts := RenderOptions{Shards: 2}
	nl, err := NewNetlink(NetlinkConfig{NetNSFd: ns.fd, Owner: opts.Ownership()})
	if err != nil {
		t.Fatal(err)
	}
	defer nl.Close()
	k := &faultyKernel{Netlink: nl, table: TableID{FamilyIPv4, opts.ShardName(0)}}
	b, err := NewBackend(BackendOptions{Kernel: k, Render: opts, Sysctl: func(string, string) error { return nil }})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	c, plan := fixture.Plan(t, 60, 3)
	mustSync(t, b, rulegen.SyncRequest{Plan: plan, Full: true})
	equalsRender(t, nl, plan, opts)

	// Injected failure: the ruleset is unchanged, and a full sync is asked for.
	before := ns.nft(t, "", "list", "ruleset")
	next, changed := changeOne(t, c, plan, 11, 1)
	k.armed = true
	res, err := b.Sync(ctx, rulegen.SyncRequest{Plan: next, Changed: changed})
	if !errors.Is(err, syscall.ENOENT) || !res.NeedFull {
		t.Fatalf("sync with a refused op: %v (NeedFull %v), want ENOENT and NeedFull", err, res.NeedFull)
	}
	if after := ns.nft(t, "", "list", "ruleset"); Normalize(after) != Normalize(before) {
		t.Fatalf("a refused transaction changed the ruleset")
	}
	k.armed = false
	mustSync(t, b, rulegen.SyncRequest{Plan: next, Full: true})
	equalsRender(t, nl, next, opts)

	// Drift: another program deletes an element, a chain and a table.
	rs := mustRender(t, next, opts)
	var victim string
	for _, c := range rs.Tables[1].Chains() {
		if c.Hook == nil && len(c.Name) > 9 && c.Name[:9] == "endpoint-" {
			victim = c.Name
			break
		}
	}
	ns.nft(t, "", "flush", "map", "ip", opts.ShardName(0), mapServiceIPs)
	ns.nft(t, "", "delete", "table", "ip6", opts.ShardName(1))
	if victim != "" {
		// An endpoint chain is referenced by its numgen map; take the map's
		// element out with it, as a careless admin would.
		ns.nft(t, "", "flush", "chain", "ip", opts.ShardName(1), victim)
	}
	if res := mustSync(t, b, rulegen.SyncRequest{Plan: next, Full: true}); res.Writes == 0 {
		t.Fatal("full sync repaired nothing")
	}
	equalsRender(t, nl, next, opts)

	// Cleanup: only the foreign tables remain, as they were.
	if err := b.Cleanup(ctx); err != nil {
		t.Fatal(err)
	}
	if got := ns.nft(t, "", "list", "ruleset"); Normalize(got) != Normalize(foreign) {
		t.Fatalf("after Cleanup:\n%s\nwant the foreign tables only:\n%s", got, foreign)
	}
}
