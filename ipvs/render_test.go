package ipvs

import (
	"errors"
	"net/netip"
	"testing"

	"github.com/proxykit/proxykit/iptables"
	"github.com/proxykit/proxykit/rulegen"
	"github.com/proxykit/proxykit/servicemodel"
)

func TestParseScheduler(t *testing.T) {
	for in, want := range map[string]struct {
		name  string
		flags SchedFlags
	}{
		"rr": {"rr", 0}, "mh:mh-fallback,mh-port": {"mh", Sched1 | Sched2}, "sh:sh-port": {"sh", Sched2}, "wlc:flag-3": {"wlc", Sched3},
	} {
		name, flags, err := ParseScheduler(in)
		if err != nil || name != want.name || flags != want.flags {
			t.Errorf("%q: %q %v %v", in, name, flags, err)
		}
	}
	for _, bad := range []string{"", "random", "rr:mh-port", "mh:nope"} {
		if _, _, err := ParseScheduler(bad); !errors.Is(err, ErrBadScheduler) {
			t.Errorf("%q: err %v", bad, err)
		}
	}
	if _, err := Render(samplePlan(t), RenderOptions{Scheduler: "bogus"}); !errors.Is(err, ErrBadScheduler) {
		t.Errorf("Render with a bad scheduler: %v", err)
	}
}

func vsKey(s string) VSKey {
	ap := netip.MustParseAddrPort(s)
	return VSKey{Protocol: TCP, Addr: ap.Addr(), Port: ap.Port()}
}

func TestRenderSample(t *testing.T) {
	plan := samplePlan(t)
	r, err := Render(plan, RenderOptions{SchedulerFlags: map[string]SchedFlags{"mh": Sched2}})
	if err != nil {
		t.Fatal(err)
	}
	st := r.IPVS
	if err := st.Validate(); err != nil {
		t.Fatal(err)
	}
	// NodePorts on every node address of the family, not on the dummy.
	for _, k := range []string{"10.0.0.10:30080", "[fd00::10]:30080"} {
		v := st.Services[vsKey(k)]
		if v == nil || v.Scheduler != "mh" || v.Flags != Sched2 || len(v.Reals) != 2 {
			t.Errorf("%s: %+v", k, v)
		}
		if _, bound := st.Addresses[vsKey(k).Addr]; bound {
			t.Errorf("node address %s bound on the dummy", k)
		}
	}
	// ETP=Local: the external virtual servers balance over local endpoints
	// only; the ClusterIP over all; traffic from pods and the node is
	// short-circuited to the ClusterIP by DNAT.
	if v := st.Services[vsKey("203.0.113.10:80")]; v == nil || len(v.Reals) != 1 {
		t.Errorf("LB of an ETP=Local service: %+v", v)
	}
	if v := st.Services[vsKey("10.96.0.30:80")]; v == nil || len(v.Reals) != 2 {
		t.Errorf("its ClusterIP: %+v", v)
	}
	if v := st.Services[vsKey("10.96.0.60:80")]; v == nil || v.Timeout != 10800 {
		t.Errorf("affinity: %+v", v)
	}
	has := func(set string, e SetEntry) bool {
		return st.Sets[set].Has(e)
	}
	if !has("KUBE-NO-ENDPOINTS", PortEntry(netip.MustParseAddr("10.96.0.70"), TCP, 80)) {
		t.Error("a service without endpoints is not rejected")
	}
	if !has("KUBE-NO-LOCAL-EP", PortEntry(netip.MustParseAddr("10.0.0.10"), TCP, 30082)) {
		t.Error("an ETP=Local NodePort without local endpoints is not dropped")
	}
	if !has("KUBE-LB-FW", PortEntry(netip.MustParseAddr("203.0.113.10"), TCP, 80)) {
		t.Error("LB source ranges not enforced")
	}
	// The companion rules read back equal from their own text, and their
	// number does not follow the services (but for the short-circuits).
	for f, rs := range r.Rules {
		back, err := iptables.Parse(f, rs.Bytes())
		if err != nil || !back.Equal(rs) {
			t.Fatalf("%s: companion rules do not round-trip: %v", f, err)
		}
	}
	if n := r.Rules[iptables.IPv4].NumRules(); n > 30 {
		t.Errorf("%d IPv4 companion rules", n)
	}
}

// TestBuilderSharedObjects: two ports sharing a ClusterIP and an endpoint
// port keep the shared address and hairpin entry until both are gone.
func TestBuilderSharedObjects(t *testing.T) {
	b, err := newBuilder(samplePlan(t), RenderOptions{})
	if err != nil {
		t.Fatal(err)
	}
	ep := []rulegen.Endpoint{{Addr: netip.MustParseAddr("10.244.1.5"), Port: 8080, Local: true, Ready: true, Serving: true}}
	port := func(p int32) *rulegen.PortPlan {
		return &rulegen.PortPlan{Family: servicemodel.IPv4, Protocol: servicemodel.TCP, ClusterIP: netip.MustParseAddr("10.96.0.9"), Port: p,
			Frontends:        []rulegen.Frontend{{Kind: rulegen.ClusterIP, Addr: netip.MustParseAddr("10.96.0.9"), Port: p}},
			ClusterEndpoints: ep, LocalEndpoints: ep, HasEndpoints: true}
	}
	a, c := b.r.render(port(80)), b.r.render(port(8080))
	b.add(a)
	b.add(c)
	loop := PortIPEntry(ep[0].Addr, TCP, 8080, ep[0].Addr)
	b.remove(a)
	if _, ok := b.state.Addresses[netip.MustParseAddr("10.96.0.9")]; !ok {
		t.Error("shared address removed with one user left")
	}
	if !b.state.Sets["KUBE-LOOP-BACK"].Has(loop) {
		t.Error("shared hairpin entry removed with one user left")
	}
	b.remove(c)
	if len(b.state.Addresses) != 0 || b.state.Sets["KUBE-LOOP-BACK"].Len() != 0 || len(b.state.Services) != 0 {
		t.Errorf("left over: %s", b.state)
	}
}
