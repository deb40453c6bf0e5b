package nftables

import (
	"context"
	"fmt"
	"net/netip"
	"strings"
	"testing"

	"k8s.io/apimachinery/pkg/types"

	"github.com/proxykit/proxykit/internal/fixture"
	"github.com/proxykit/proxykit/internal/flowtable"
	"github.com/proxykit/proxykit/internal/sample"
	"github.com/proxykit/proxykit/rulegen"
	"github.com/proxykit/proxykit/servicemodel"
)

func samplePlan(t testing.TB, variant string) *rulegen.Plan {
	t.Helper()
	cfg, err := flowtable.Config(variant)
	if err != nil {
		t.Fatal(err)
	}
	plan, err := sample.Plan(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return plan
}

func mustRender(t testing.TB, plan *rulegen.Plan, opts RenderOptions) *Ruleset {
	t.Helper()
	rs, err := Render(plan, opts)
	if err != nil {
		t.Fatal(err)
	}
	return rs
}

// TestRenderLayout: DefaultShards tables per family by default, shard 0
// named exactly TableName and the others TableName-01...; one table per
// family with Shards 1; every service port in exactly one shard,
// masquerading only in shard 0.
func TestRenderLayout(t *testing.T) {
	plan := samplePlan(t, "")
	def := mustRender(t, plan, RenderOptions{})
	var want []string
	for _, fam := range []string{"ip", "ip6"} {
		for i := range DefaultShards {
			if i == 0 {
				want = append(want, fam+" proxykit")
			} else {
				want = append(want, fmt.Sprintf("%s proxykit-%02d", fam, i))
			}
		}
	}
	if got := tableIDs(def); got != strings.Join(want, ",") {
		t.Fatalf("default tables %s", got)
	}
	one := mustRender(t, plan, RenderOptions{Shards: 1})
	if got := tableIDs(one); got != "ip proxykit,ip6 proxykit" {
		t.Fatalf("tables %s", got)
	}
	three := mustRender(t, plan, RenderOptions{Shards: 3, TableName: "pk"})
	if got := tableIDs(three); got != "ip pk,ip pk-01,ip pk-02,ip6 pk,ip6 pk-01,ip6 pk-02" {
		t.Fatalf("tables %s", got)
	}
	for _, name := range plan.Names() {
		sp, _ := plan.Get(name)
		if sp.V4 == nil {
			continue
		}
		chain := "service-" + newPortNames(sp.V4).id
		if one.Tables[0].Chain(chain) == nil && one.Tables[0].Chain("local-"+newPortNames(sp.V4).id) == nil &&
			sp.V4.HasEndpoints {
			t.Errorf("%s: no choice chain", name)
		}
		var in int
		for _, tb := range three.Tables[:3] {
			if tb.Chain(chain) != nil {
				in++
			}
		}
		if in > 1 {
			t.Errorf("%s in %d shards", name, in)
		}
	}
	for i, tb := range three.Tables {
		if has := tb.Chain(chainMasquerading) != nil; has != (i%3 == 0) {
			t.Errorf("%s: masquerading chain present=%v", tb.ID(), has)
		}
	}
	if _, err := Render(plan, RenderOptions{Shards: -1}); err == nil {
		t.Error("negative shards accepted")
	}
}

func tableIDs(rs *Ruleset) string {
	var ids []string
	for _, tb := range rs.Tables {
		ids = append(ids, tb.ID().String())
	}
	return strings.Join(ids, ",")
}

// TestRenderKernelListing: `nft -c -f` accepts the printed render, and
// after Apply over netlink `nft list table` equals the print (normalised),
// for every flow-table variant, in one table and sharded.
func TestRenderKernelListing(t *testing.T) {
	for _, variant := range flowtable.Variants() {
		for _, opts := range []RenderOptions{{Shards: 1}, {Shards: 3}} {
			t.Run(fmt.Sprintf("%s/shards=%d", variant, opts.Shards), func(t *testing.T) {
				ns := newTestNS(t)
				rs := mustRender(t, samplePlan(t, variant), opts)
				script := rs.String()
				ns.nft(t, script, "-c", "-f", "-")
				k, err := NewNetlink(NetlinkConfig{NetNSFd: ns.fd, Owner: opts.Ownership()})
				if err != nil {
					t.Fatal(err)
				}
				defer k.Close()
				if err := k.Apply(context.Background(), Diff(nil, rs, nil)); err != nil {
					t.Fatal(err)
				}
				for _, tb := range rs.Tables {
					got := Normalize(ns.nft(t, "", "list", "table", tb.Family.String(), tb.Name))
					want := Normalize((&Ruleset{Tables: []*Table{tb}}).String())
					if got != want {
						t.Errorf("%s: kernel listing differs:\n%s", tb.ID(), lineDiff(want, got))
					}
				}
			})
		}
	}
}

// TestShardBalance: services spread over the shards about evenly, whatever
// their names' shape.
func TestShardBalance(t *testing.T) {
	const n, shards = 3200, 32
	count := make([]int, shards)
	for i := range n {
		name := servicemodel.ServicePortName{NamespacedName: types.NamespacedName{
			Namespace: fmt.Sprintf("ns-%d", i%7), Name: fmt.Sprintf("svc-%d", i)}}
		count[shardOf(name, shards)]++
	}
	for i, c := range count {
		if c < n/shards/2 || c > n/shards*2 {
			t.Errorf("shard %d holds %d of %d services", i, c, n)
		}
	}
}

// TestRenderWriterReuse: a full render, whose writers serve many ports in
// turn from shared arenas, renders every port exactly as a fresh writer
// does, with endpoint counts on both sides of the indexed-lookup threshold
// and endpoints that several services share.
func TestRenderWriterReuse(t *testing.T) {
	c, _ := fixture.Plan(t, 300, 20)
	for i := 0; i < 300; i++ {
		es := *c.Slices[i]
		switch i % 3 {
		case 0: // 3 endpoints
			es.Endpoints = es.Endpoints[:3]
		case 1: // service 1's endpoints
			es.Endpoints = c.Slices[1].Endpoints
		}
		must(c.Tracker.SetSlice(&es))
	}
	snap, _ := c.Tracker.Snapshot()
	plan, err := rulegen.Compile(snap, fixture.Node(), fixture.Config())
	if err != nil {
		t.Fatal(err)
	}
	r, err := newRenderer(RenderOptions{Shards: 4})
	if err != nil {
		t.Fatal(err)
	}
	rs, _ := r.update(plan, nil)
	fr := r.fams[0]
	for _, name := range plan.Names() {
		sp, _ := plan.Get(name)
		pp := sp.V4
		if pp == nil {
			continue
		}
		f := fr.newPortWriter(newArena(portSize(pp))).render(pp)
		tb := rs.Tables[shardOf(name, 4)]
		for _, ch := range f.chains {
			if got := tb.Chain(ch.Name); got == nil || got.String() != ch.String() {
				t.Fatalf("%s: chain %s differs:\n%v\nwant\n%s", name, ch.Name, got, ch)
			}
		}
		for _, s := range f.sets {
			if got := tb.Set(s.Name); got == nil || setText(got) != setText(s) {
				t.Fatalf("%s: set %s differs", name, s.Name)
			}
		}
	}
}

func setText(s *Set) string {
	var b strings.Builder
	s.print(&b)
	return b.String()
}

// TestRenderSharedKeyFirstWins: in one table, a frontend two services
// claim (an external IP on the same port) goes to the first in name order,
// in a full render and after the first one goes away incrementally.
func TestRenderSharedKeyFirstWins(t *testing.T) {
	c, _ := fixture.Plan(t, 50, 2)
	ip := netip.MustParseAddr("198.51.100.7")
	for _, i := range []int{7, 3} {
		svc := *c.Services[i]
		svc.ExternalIPs = []netip.Addr{ip}
		c.Services[i] = &svc
		must(c.Tracker.SetService(&svc))
	}
	snap, _ := c.Tracker.Snapshot()
	plan, err := rulegen.Compile(snap, fixture.Node(), fixture.Config())
	if err != nil {
		t.Fatal(err)
	}
	opts := RenderOptions{Shards: 1}
	r, err := newRenderer(opts)
	if err != nil {
		t.Fatal(err)
	}
	key := keyString([]Value{IP(ip), Proto(6), Port(80)})
	target := func(rs *Ruleset) string {
		var chains []string
		for _, e := range rs.Tables[0].Set(mapServiceIPs).Elements {
			if keyString(e.Key) == key {
				chains = append(chains, e.Verdict.Chain)
			}
		}
		return strings.Join(chains, ",") // one element, or the test fails
	}
	first, second := c.Services[3].Name, c.Services[7].Name // ns-3/svc-3 < ns-7/svc-7
	full, _ := r.update(plan, nil)
	if got, want := target(full), "external-"+first.Namespace+"/"+first.Name+"/tcp/80"; got != want {
		t.Fatalf("full render: %s goes to %q, want %q", key, got, want)
	}
	c.Tracker.DeleteService(first)
	snap, changed := c.Tracker.Snapshot()
	if plan, err = plan.Update(snap, changed); err != nil {
		t.Fatal(err)
	}
	incr, _ := r.update(plan, changed)
	if got, want := target(incr), "external-"+second.Namespace+"/"+second.Name+"/tcp/80"; got != want {
		t.Fatalf("after %s went: %s goes to %q, want %q", first, key, got, want)
	}
}

// TestRenderedNamesValid: a full render skips validating each name (its
// writers check the port's longest name and the endpoint names' lengths);
// every chain and set name it renders passes validName all the same.
func TestRenderedNamesValid(t *testing.T) {
	_, big := fixture.Plan(t, 300, 5)
	for _, plan := range []*rulegen.Plan{samplePlan(t, ""), big} {
		rs := mustRender(t, plan, RenderOptions{})
		n := 0
		for _, tb := range rs.tables() {
			for _, c := range tb.Chains() {
				if err := validName("chain", c.Name); err != nil {
					t.Error(err)
				}
				n++
			}
			for _, s := range tb.Sets() {
				if err := validName("set", s.Name); err != nil {
					t.Error(err)
				}
				n++
			}
		}
		if n < 100 {
			t.Fatalf("only %d names rendered", n)
		}
	}
}
