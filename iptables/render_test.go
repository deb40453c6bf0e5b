package iptables

import (
	"crypto/sha256"
	"encoding/base32"
	"strings"
	"testing"

	"github.com/proxykit/proxykit/internal/fixture"
	"github.com/proxykit/proxykit/internal/sample"
	"github.com/proxykit/proxykit/nat"
	"github.com/proxykit/proxykit/rulegen"
	"github.com/proxykit/proxykit/servicemodel"
)

func samplePlan(t testing.TB) *rulegen.Plan {
	t.Helper()
	plan, err := sample.Plan(sample.Config())
	if err != nil {
		t.Fatal(err)
	}
	return plan
}

// TestRenderRoundTrips: the printed render parses back equal, and every
// rule of a service port names it in a comment.
func TestRenderRoundTrips(t *testing.T) {
	for _, f := range []Family{IPv4, IPv6} {
		rs, err := Render(samplePlan(t), f, RenderOptions{})
		if err != nil {
			t.Fatal(err)
		}
		back, err := Parse(f, rs.Bytes())
		if err != nil || !back.Equal(rs) {
			t.Fatalf("%s: round trip: %v", f, err)
		}
		for _, tbl := range rs.Tables() {
			for _, c := range tbl.Chains() {
				for _, r := range c.Rules() {
					if strings.Contains(c.Name, "-SVC-") || strings.Contains(c.Name, "-SEP-") || strings.Contains(c.Name, "-EXT-") {
						if !strings.HasPrefix(r.Comment, sample.Namespace+"/") {
							t.Errorf("%s rule without a service comment: %s", f, r)
						}
					}
				}
			}
		}
	}
}

// TestRenderAcceptedByRestore: iptables-restore --test and
// ip6tables-restore --test accept the render, for both variants.
func TestRenderAcceptedByRestore(t *testing.T) {
	for _, v := range variants {
		t.Run(string(v), func(t *testing.T) {
			needVariant(t, v)
			run := NetNSRunner(newNetNS(t))
			for _, f := range []Family{IPv4, IPv6} {
				rs, err := Render(samplePlan(t), f, RenderOptions{})
				if err != nil {
					t.Fatal(err)
				}
				if err := restoreTest(t, run, v, f, rs.Bytes()); err != nil {
					t.Fatalf("%s: %v", f, err)
				}
			}
		})
	}
}

func TestDefaultConfigIsKubeProxys(t *testing.T) {
	cfg := DefaultConfig()
	if !cfg.LocalhostNodePorts || !cfg.NodePortAddresses.AllLocal() || cfg.Mark() != nat.DefaultMark || cfg.MasqueradeAll {
		t.Fatalf("not kube-proxy's iptables defaults: %+v", cfg)
	}
	plan, err := sample.Plan(cfg)
	if err != nil {
		t.Fatal(err)
	}
	rs, _ := Render(plan, IPv4, RenderOptions{})
	if !strings.Contains(string(rs.Bytes()), "-m addrtype --dst-type LOCAL -j KUBE-NODEPORTS") {
		t.Fatal("NodePorts not on every local address")
	}
}

// TestParallelRenderEqualsSequential: a large plan rendered at once (ports
// spread over the CPUs) equals the same plan rendered port by port.
func TestParallelRenderEqualsSequential(t *testing.T) {
	_, plan := fixture.Plan(t, 1500, 3)
	whole, err := Render(plan, IPv4, RenderOptions{})
	if err != nil {
		t.Fatal(err)
	}
	emptySnap, _ := servicemodel.NewSnapshot(nil, nil)
	empty, _ := rulegen.Compile(emptySnap, fixture.Node(), fixture.Config())
	r, _ := newRenderer(IPv4, RenderOptions{})
	r.update(empty, nil)
	names := plan.Names()
	var rs *Ruleset
	for i := 0; i < len(names); i += 100 {
		rs, _ = r.update(plan, names[i:min(i+100, len(names))])
	}
	if !rs.Equal(whole) {
		t.Fatal("parallel and sequential renders differ")
	}
}

// TestRenderKeepsRestoreLines: every chain of a service port keeps its
// rules as one run of restore lines, equal to printing them one by one,
// and the full payload's text equals the rendered ruleset's rules.
func TestRenderKeepsRestoreLines(t *testing.T) {
	_, plan := fixture.Plan(t, 700, 4)
	for _, p := range []*rulegen.Plan{samplePlan(t), plan} {
		for _, f := range []Family{IPv4, IPv6} {
			rs, _ := Render(p, f, RenderOptions{})
			kept := 0
			for _, c := range rs.Table(TableNat).Chains() {
				lines, ok := c.restoreLines()
				if !ok {
					if strings.HasPrefix(c.Name, "KUBE-S") && c.Name != "KUBE-SERVICES" || strings.HasPrefix(c.Name, "KUBE-EXT-") || strings.HasPrefix(c.Name, "KUBE-FW-") {
						t.Errorf("%s: chain %s has no restore lines", f, c.Name)
					}
					continue
				}
				kept++
				var each []byte
				for _, r := range c.Rules() {
					each = appendRule(each, "-A", &r, false)
				}
				if lines != string(each) {
					t.Fatalf("%s: chain %s: lines\n%s\nrules\n%s", f, c.Name, lines, each)
				}
			}
			if kept == 0 && f == IPv4 {
				t.Errorf("%s: no chain kept restore lines", f)
			}
			pl, err := Diff(NewRuleset(f), rs, OwnPrefix(DefaultChainPrefix))
			if err != nil {
				t.Fatal(err)
			}
			back, err := ParsePayload(f, pl.Bytes())
			if err != nil {
				t.Fatal(err)
			}
			got := NewRuleset(f)
			if err := got.Apply(back); err != nil {
				t.Fatal(err)
			}
			for _, tbl := range rs.Tables() {
				for _, c := range tbl.Chains() {
					if !c.Equal(got.Table(tbl.Name).Chain(c.Name)) {
						t.Fatalf("%s: the printed full payload does not rebuild chain %s", f, c.Name)
					}
				}
			}
		}
	}
}

// TestChainNamesAreKubeProxys: SVC and SEP chains carry kube-proxy's
// names: the first 16 base32 characters of the SHA-256 of the service port
// name and protocol (and endpoint).
func TestChainNamesAreKubeProxys(t *testing.T) {
	plan := samplePlan(t)
	rs, _ := Render(plan, IPv4, RenderOptions{})
	nat := rs.Table(TableNat)
	hash := func(s string) string {
		sum := sha256.Sum256([]byte(s))
		return base32.StdEncoding.EncodeToString(sum[:])[:16]
	}
	n := 0
	for _, pp := range plan.Ports(servicemodel.IPv4) {
		if len(pp.ClusterEndpoints) == 0 {
			continue
		}
		in := pp.Name.String() + string(pp.Protocol)
		ep := pp.ClusterEndpoints[0].AddrPort().String()
		for _, name := range []string{"KUBE-SVC-" + hash(in), "KUBE-SEP-" + hash(in+ep)} {
			if nat.Chain(name) == nil {
				t.Errorf("%s: no chain %s", pp.Name, name)
			}
			n++
		}
	}
	if n == 0 {
		t.Fatal("no service port with endpoints in the sample")
	}
}

// TestRenderTemplatesMatchGeneric: the SEP and choice rules written from
// each port's templates are the text the general writer methods write.
func TestRenderTemplatesMatchGeneric(t *testing.T) {
	_, plan := fixture.Plan(t, 300, 3)
	for _, p := range []*rulegen.Plan{samplePlan(t), plan} {
		for _, f := range []Family{IPv4, IPv6} {
			var texts [2]string
			for i, generic := range []bool{false, true} {
				r, err := newRenderer(f, RenderOptions{})
				if err != nil {
					t.Fatal(err)
				}
				r.generic = generic
				rs, _ := r.update(p, nil)
				texts[i] = rs.String()
			}
			if texts[0] != texts[1] {
				t.Fatalf("%s: templates and general writer differ at:\n%s\n%s", f, firstDiff(texts[0], texts[1]), firstDiff(texts[1], texts[0]))
			}
			if !strings.Contains(texts[0], "KUBE-SEP-") && f == IPv4 {
				t.Fatalf("%s: no SEP chain rendered", f)
			}
		}
	}
}

// TestIncrementalUpdateEqualsFull: removing ports, changing one and adding
// them back, each rendered incrementally, gives what a full render of the
// same plan gives.
func TestIncrementalUpdateEqualsFull(t *testing.T) {
	c, plan := fixture.Plan(t, 300, 3)
	r, _ := newRenderer(IPv4, RenderOptions{})
	r.update(plan, nil)
	step := func(what string, change func()) {
		t.Helper()
		change()
		snap, changed := c.Tracker.Snapshot()
		next, err := plan.Update(snap, changed)
		if err != nil {
			t.Fatal(err)
		}
		plan = next
		got, _ := r.update(plan, changed)
		want, _ := Render(plan, IPv4, RenderOptions{})
		if !got.Equal(want) {
			t.Fatalf("%s: incremental render differs from a full one:\n%s", what, firstDiff(got.String(), want.String()))
		}
	}
	step("remove 10 services", func() {
		for _, svc := range c.Services[10:20] {
			c.Tracker.DeleteService(svc.Name)
		}
	})
	step("change an endpoint", func() {
		if _, _, err := c.ChangeOneEndpoint(50, 1); err != nil {
			t.Fatal(err)
		}
	})
	step("add them back", func() {
		for i, svc := range c.Services[10:20] {
			if err := c.Tracker.SetService(svc); err != nil {
				t.Fatal(err)
			}
			if err := c.Tracker.SetSlice(c.Slices[10+i]); err != nil {
				t.Fatal(err)
			}
		}
	})
}
