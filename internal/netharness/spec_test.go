package netharness

import (
	"errors"
	"net/netip"
	"testing"
)

func TestValidate(t *testing.T) {
	p := netip.MustParsePrefix
	cases := map[string]struct {
		mutate func(*Spec)
		field  string
	}{
		"standard":            {func(*Spec) {}, ""},
		"duplicate name":      {func(s *Spec) { s.Clients[0].Name = "pod-a" }, "Clients[0].Name"},
		"reserved name":       {func(s *Spec) { s.Pods[0].Name = NodeName }, "Pods[0].Name"},
		"empty name":          {func(s *Spec) { s.Pods[1].Name = "" }, "Pods[1].Name"},
		"no address":          {func(s *Spec) { s.Pods[2].Addrs = nil }, "Pods[2].Addrs"},
		"invalid prefix":      {func(s *Spec) { s.Pods[0].Addrs[0] = netip.Prefix{} }, "Pods[0].Addrs[0]"},
		"no v6 gateway":       {func(s *Spec) { s.Node.BridgeAddrs = s.Node.BridgeAddrs[:1] }, "Pods[0].Addrs[1]"},
		"second pod no v6 gw": {func(s *Spec) { s.Node.BridgeAddrs = s.Node.BridgeAddrs[:1]; s.Pods[0].Addrs = s.Pods[0].Addrs[:1] }, "Pods[1].Addrs[1]"},
		"clients, no ext":     {func(s *Spec) { s.Node.ExtAddrs = nil }, "Node.ExtAddrs"},
		"port 0":              {func(s *Spec) { s.Pods[0].UDP = []uint16{0} }, "Pods[0] ports[1]"},
		"long bridge name":    {func(s *Spec) { s.Node.Bridge = "a-very-long-bridge" }, "Node.Bridge"},
		"same bridges":        {func(s *Spec) { s.Node.ExtBridge = DefaultBridge }, "Node.ExtBridge"},
		"route family":        {func(s *Spec) { s.Node.Routes[0].Via = netip.MustParseAddr("fd00::1") }, "Node.Routes[0]"},
		"route device":        {func(s *Spec) { s.Node.Routes[0].Dev = "eth9" }, "Node.Routes[0]"},
		"route invalid":       {func(s *Spec) { s.Node.Routes = append(s.Node.Routes, Route{}) }, "Node.Routes[2]"},
		"mapped v4 in v6":     {func(s *Spec) { s.Clients[0].Addrs[0] = p("::ffff:10.0.0.1/120") }, "Clients[0].Addrs[0]"},
		"invalid gateway":     {func(s *Spec) { s.Pods[0].Gateways = []netip.Addr{{}} }, "Pods[0].Gateways[0]"},
		"pods without nodes":  {func(s *Spec) { s.Node = Node{} }, "Node.ExtAddrs"},
	}
	for name, c := range cases {
		t.Run(name, func(t *testing.T) {
			s := StandardSpec()
			c.mutate(&s)
			err := s.Validate()
			var se *SpecError
			switch {
			case c.field == "" && err != nil:
				t.Fatalf("unexpected error %v", err)
			case c.field != "" && !errors.As(err, &se):
				t.Fatalf("got %v, want a *SpecError for %s", err, c.field)
			case c.field != "" && se.Field != c.field:
				t.Fatalf("error on field %q (%v), want %q", se.Field, err, c.field)
			}
		})
	}
}

func TestNodeRoutes(t *testing.T) {
	s := StandardSpec()
	s.Pods = append(s.Pods, Pod{Name: "pod-remote-2", Addrs: []netip.Prefix{netip.MustParsePrefix("10.244.2.3/24")}})
	topo := &Topology{spec: s.withDefaults()}
	got := map[string]string{}
	for _, r := range topo.nodeRoutes() {
		got[r.Dst.String()] = r.Dev
	}
	want := map[string]string{"10.96.0.0/16": DefaultBridge, "fd00:10:96::/112": DefaultBridge, "10.244.2.0/24": DefaultBridge, "fd00:10:244:2::/64": DefaultBridge}
	if len(got) != len(want) || len(topo.nodeRoutes()) != len(want) {
		t.Fatalf("routes %v, want %v", got, want)
	}
	for k, v := range want {
		if got[k] != v {
			t.Errorf("route %s dev %q, want %q", k, got[k], v)
		}
	}
}

func TestParseAnswer(t *testing.T) {
	name, seen, err := parseAnswer(string(answer("pod-a", netip.MustParseAddr("::ffff:10.0.0.1"))))
	if err != nil || name != "pod-a" || seen != netip.MustParseAddr("10.0.0.1") {
		t.Fatalf("got %q %v %v", name, seen, err)
	}
	for _, bad := range []string{"", "\n", "pod-a\n", "pod-a not-an-ip\n", "a b c\n"} {
		if _, _, err := parseAnswer(bad); err == nil {
			t.Errorf("parseAnswer(%q) accepted", bad)
		}
	}
}

func TestProbeArguments(t *testing.T) {
	topo := &Topology{spec: StandardSpec().withDefaults(), spaces: map[string]*space{}}
	dst := netip.MustParseAddrPort("10.0.0.1:80")
	for _, rs := range []Results{
		topo.ProbeN(t.Context(), "client-a", "tcp", dst, 0, ProbeOptions{}),
		topo.ProbeN(t.Context(), "client-a", "sctp", dst, 1, ProbeOptions{}),
		topo.ProbeN(t.Context(), "nobody", "tcp", dst, 3, ProbeOptions{}),
	} {
		if len(rs) != 1 || rs[0].Outcome != Failed || rs[0].Err == nil {
			t.Errorf("got %v, want one Failed result", rs)
		}
	}
	if r := topo.Probe(t.Context(), "nobody", "udp", dst, ProbeOptions{}); !errors.Is(r.Err, ErrUnknownNamespace) {
		t.Errorf("unknown namespace: got %v", r.Err)
	}
}

func TestSpecCopies(t *testing.T) {
	s := StandardSpec()
	d := s.withDefaults()
	d.Pods[0].Addrs[0] = netip.MustParsePrefix("192.0.2.1/24")
	d.Clients[0].Addrs[0] = netip.MustParsePrefix("192.0.2.2/24")
	d.Node.Routes[0].Dev = "x"
	if s.Pods[0].Addrs[0].String() != "10.244.1.2/24" || s.Clients[0].Addrs[0].String() != "10.0.0.100/24" || s.Node.Routes[0].Dev != "" {
		t.Fatalf("withDefaults shares slices with the caller's spec: %s", s.Summary())
	}
}
