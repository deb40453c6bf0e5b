package rulegen_test

import (
	"errors"
	"fmt"
	"net/netip"
	"reflect"
	"slices"
	"strings"
	"testing"

	"github.com/proxykit/proxykit/internal/fixture"
	"github.com/proxykit/proxykit/internal/sample"
	"github.com/proxykit/proxykit/nat"
	"github.com/proxykit/proxykit/rulegen"
	"github.com/proxykit/proxykit/servicemodel"
	"k8s.io/apimachinery/pkg/types"
)

func samplePlan(t testing.TB, mutate func(*rulegen.Config)) *rulegen.Plan {
	t.Helper()
	snap, err := sample.Snapshot()
	if err != nil {
		t.Fatal(err)
	}
	cfg := sample.Config()
	if mutate != nil {
		mutate(&cfg)
	}
	plan, err := rulegen.Compile(snap, sample.Node(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	return plan
}

func port(t *testing.T, plan *rulegen.Plan, svc, portName string, f servicemodel.IPFamily) *rulegen.PortPlan {
	t.Helper()
	for _, n := range plan.Names() {
		if n.Name == svc && n.Port == portName {
			sp, _ := plan.Get(n)
			if pp := sp.Family(f); pp != nil {
				return pp
			}
		}
	}
	t.Fatalf("no plan for %s:%s %s", svc, portName, f)
	return nil
}

func frontends(pp *rulegen.PortPlan) []string {
	var out []string
	for _, f := range pp.Frontends {
		out = append(out, f.String())
	}
	return out
}

func TestFrontends(t *testing.T) {
	plan := samplePlan(t, nil)
	lb := port(t, plan, "lb-local", "http", servicemodel.IPv4)
	want := []string{"ClusterIP 10.96.0.30:80", "LoadBalancer 203.0.113.10:80 from [10.0.0.100/32 10.0.0.10/32]", "NodePort *:30081 +localhost"}
	if got := frontends(lb); !reflect.DeepEqual(got, want) {
		t.Errorf("lb-local frontends:\n got %q\nwant %q", got, want)
	}
	if lb.HealthCheckNodePort != 32000 || !lb.ExternalLocal {
		t.Errorf("lb-local: hc %d, external local %v", lb.HealthCheckNodePort, lb.ExternalLocal)
	}
	ext := port(t, plan, "ext", "http", servicemodel.IPv6)
	if got := frontends(ext); !reflect.DeepEqual(got, []string{"ClusterIP [fd00:10:96::40]:80", "ExternalIP [2001:db8::20]:80"}) {
		t.Errorf("ext v6 frontends: %q", got)
	}
	for _, n := range plan.Names() {
		if n.Name == "headless" || n.Name == "alias" {
			t.Errorf("%s planned", n)
		}
	}
	shop6 := port(t, plan, "shop", "http", servicemodel.IPv6)
	if got := frontends(shop6); got[1] != "NodePort *:30080" {
		t.Errorf("IPv6 NodePort must not answer on localhost: %q", got)
	}
}

func TestNodePortAddresses(t *testing.T) {
	primary := samplePlan(t, func(c *rulegen.Config) { c.NodePortAddresses.Primary = true })
	if got := frontends(port(t, primary, "shop", "http", servicemodel.IPv4)); got[1] != "NodePort 10.0.0.10:30080" {
		t.Errorf("primary: %q", got)
	}
	cidrs := samplePlan(t, func(c *rulegen.Config) {
		c.NodePortAddresses.CIDRs = []netip.Prefix{netip.MustParsePrefix("10.0.0.0/8"), netip.MustParsePrefix("127.0.0.0/8")}
	})
	want := []string{"ClusterIP 10.96.0.20:80", "NodePort 10.0.0.10:30080", "NodePort 127.0.0.1:30080 +localhost"}
	if got := frontends(port(t, cidrs, "shop", "http", servicemodel.IPv4)); !reflect.DeepEqual(got, want) {
		t.Errorf("cidrs: %q", got)
	}
}

func TestMasqueradeConditions(t *testing.T) {
	cases := []struct {
		cfg  func(*rulegen.Config)
		want nat.Condition
	}{
		{nil, nat.IfNotLocal},
		{func(c *rulegen.Config) { c.MasqueradeAll = true }, nat.Always},
		{func(c *rulegen.Config) { c.LocalDetector = nat.LocalDetector{} }, nat.Never},
	}
	for _, c := range cases {
		pp := port(t, samplePlan(t, c.cfg), "web", "http", servicemodel.IPv4)
		if pp.ClusterIPMasquerade != c.want {
			t.Errorf("got %v, want %v", pp.ClusterIPMasquerade, c.want)
		}
	}
}

func TestFamiliesOption(t *testing.T) {
	plan := samplePlan(t, func(c *rulegen.Config) { c.Families = []servicemodel.IPFamily{servicemodel.IPv6} })
	if len(plan.Ports(servicemodel.IPv4)) != 0 || len(plan.Ports(servicemodel.IPv6)) == 0 {
		t.Fatal("family filter ignored")
	}
}

func TestInvalidConfig(t *testing.T) {
	snap, _ := sample.Snapshot()
	bad := []rulegen.Config{
		{LocalDetector: nat.LocalDetector{Mode: nat.DetectClusterCIDR}},
		{MasqueradeMark: nat.Mark{Value: 1, Mask: 2}},
		{Families: []servicemodel.IPFamily{"IPv5"}},
	}
	for _, cfg := range bad {
		if _, err := rulegen.Compile(snap, sample.Node(), cfg); !errors.Is(err, rulegen.ErrInvalidConfig) {
			t.Errorf("%+v: got %v", cfg, err)
		}
	}
}

// TestUpdateMatchesCompile proves an incremental compile equals a full one
// and shares the unchanged entries.
func TestUpdateMatchesCompile(t *testing.T) {
	c, plan := fixture.Plan(t, 300, 5)
	snap, changed, err := c.ChangeOneEndpoint(42, 1)
	if err != nil {
		t.Fatal(err)
	}
	updated, err := plan.Update(snap, changed)
	if err != nil {
		t.Fatal(err)
	}
	full, _ := rulegen.Compile(snap, fixture.Node(), fixture.Config())
	if !reflect.DeepEqual(updated.Names(), full.Names()) {
		t.Fatal("names differ")
	}
	for _, n := range full.Names() {
		a, _ := updated.Get(n)
		b, _ := full.Get(n)
		if !reflect.DeepEqual(a, b) {
			t.Fatalf("%s differs", n)
		}
		old, _ := plan.Get(n)
		if shared := old == a; shared == (n == changed[0]) {
			t.Fatalf("%s: shared=%v", n, shared)
		}
	}
	// A deleted service disappears from the plan.
	c.Tracker.DeleteService(changed[0].NamespacedName)
	snap, changed = c.Tracker.Snapshot()
	updated, _ = updated.Update(snap, changed)
	if _, ok := updated.Get(changed[0]); ok || updated.Len() != full.Len()-1 {
		t.Fatal("deleted service still planned")
	}
}

// An updated plan derives its sorted names (and plans) from its base's: across
// deletions, re-additions, renamed copies and endpoint changes, they equal
// a full compile's, whether or not the base's names were asked for.
func TestUpdateNamesMatchCompile(t *testing.T) {
	c, plan := fixture.Plan(t, 200, 3)
	svcs := c.Snapshot.Services()
	steps := []func(){
		func() { c.Tracker.DeleteService(svcs[7].Name) },
		func() { c.Tracker.DeleteService(svcs[0].Name); c.Tracker.DeleteService(svcs[199].Name) },
		func() { _ = c.Tracker.SetService(svcs[7]) },
		func() {
			cp := *svcs[3]
			cp.Name.Name = "zz-copy"
			_ = c.Tracker.SetService(&cp)
			cp2 := *svcs[4]
			cp2.Name = types.NamespacedName{Namespace: "a", Name: "aaa-copy"}
			_ = c.Tracker.SetService(&cp2)
		},
		func() { _, _, _ = c.ChangeOneEndpoint(50, 1) },
	}
	for i, step := range steps {
		step()
		snap, changed := c.Tracker.Snapshot()
		if i%2 == 0 {
			plan.Names() // the base has its names: the update derives them
		}
		var err error
		if plan, err = plan.Update(snap, changed); err != nil {
			t.Fatal(err)
		}
		full, _ := rulegen.Compile(snap, fixture.Node(), fixture.Config())
		if !slices.Equal(plan.Names(), full.Names()) {
			t.Fatalf("step %d: names differ from a full compile: %d vs %d", i, len(plan.Names()), len(full.Names()))
		}
		for k, sp := range plan.ServicePlans() {
			if want, _ := full.Get(full.Names()[k]); sp.Name != plan.Names()[k] || !reflect.DeepEqual(sp, want) {
				t.Fatalf("step %d: plan %d is %s, want %s", i, k, sp.Name, want.Name)
			}
		}
	}
}

func ExampleCompile() {
	snap, _ := sample.Snapshot()
	plan, _ := rulegen.Compile(snap, sample.Node(), sample.Config())
	for _, pp := range plan.Ports(servicemodel.IPv4)[:2] {
		eps, action := pp.InternalSet()
		fmt.Println(pp.Name, pp.Frontends[0], action, len(eps))
	}
	// Output:
	// demo/dns:dns/UDP ClusterIP 10.96.0.53:53 forward 1
	// demo/dns:dns-tcp ClusterIP 10.96.0.53:53 forward 1
}

func ExamplePlan_Format() {
	snap, _ := sample.Snapshot()
	plan, _ := rulegen.Compile(snap, sample.Node(), sample.Config())
	var b strings.Builder
	_ = plan.Format(&b, servicemodel.IPv4)
	for _, block := range strings.Split(b.String(), "\n\n") {
		if strings.HasPrefix(block, "demo/lb-local") {
			fmt.Println(block)
		}
	}
	// Output:
	// demo/lb-local:http IPv4
	//   frontend ClusterIP 10.96.0.30:80
	//   frontend LoadBalancer 203.0.113.10:80 from [10.0.0.100/32 10.0.0.10/32]
	//   frontend NodePort *:30081 +localhost
	//   health check node port 32000
	//   internal (Cluster): forward to 10.244.1.13:8080 (local) 10.244.2.22:8080, masquerade if-not-local
	//   external (Local): forward to 10.244.1.13:8080 (local), masquerade never; from pods and the node as internal (the node's masqueraded)
}
