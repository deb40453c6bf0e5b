package netharness

import (
	"fmt"
	"net/netip"
	"slices"
	"strings"
)

// NodeName is the name under which the node namespace is known to Do, Exec,
// Probe and NS.
const NodeName = "node"

// Default interface names in the node namespace.
const (
	DefaultBridge    = "pkbr0"
	DefaultExtBridge = "pkext0"
)

// Spec describes a topology. The zero value of each optional field picks the
// documented default; Build never modifies the caller's Spec.
type Spec struct {
	Node    Node
	Pods    []Pod
	Clients []Client
}

// Node describes the node namespace.
type Node struct {
	// Bridge is the pod bridge (default DefaultBridge).
	Bridge string
	// BridgeAddrs are the gateway addresses on the pod bridge, e.g.
	// 10.244.1.1/24 and fd00:10:244:1::1/64.
	BridgeAddrs []netip.Prefix
	// ExtBridge is the bridge that joins the client namespaces (default
	// DefaultExtBridge). It is created only when there are clients.
	ExtBridge string
	// ExtAddrs are the node IPs on the link to the clients, e.g.
	// 10.0.0.10/24 and fd00::10/64.
	ExtAddrs []netip.Prefix
	// Routes are extra routes in the node namespace (service CIDRs, ...).
	// On-link routes for pod prefixes that no bridge address covers (the
	// "remote" pods) are added automatically.
	Routes []Route
	// NoBridgeNF leaves net.bridge.bridge-nf-call-ip(6)tables alone; by
	// default Build sets both to 1 and fails if br_netfilter is missing.
	NoBridgeNF bool
	// NoHairpin leaves hairpin mode off on the pod bridge ports.
	NoHairpin bool
}

// Route is a route in the node namespace.
type Route struct {
	Dst netip.Prefix
	Via netip.Addr // zero: on-link
	Dev string     // default: the pod bridge
}

// Pod is a namespace on the pod bridge with servers on its addresses.
type Pod struct {
	Name  string
	Addrs []netip.Prefix
	// Gateways override the default route per family; by default it is the
	// node's bridge address of that family (on-link when the pod's own
	// prefix does not contain it, as for "remote" pods).
	Gateways []netip.Addr
	// TCP and UDP ports to serve on every address. Each connection or
	// datagram is answered with the line "<name> <source-ip-seen>\n".
	TCP []uint16
	UDP []uint16
}

// Client is an "outside" host linked to the node's ExtBridge.
type Client struct {
	Name  string
	Addrs []netip.Prefix
	// Gateways override the default route per family (default: the node's
	// ExtAddrs of that family).
	Gateways []netip.Addr
}

// SpecError reports an invalid Spec field.
type SpecError struct {
	Field string // e.g. "Pods[1].Addrs[0]"
	Msg   string
}

func (e *SpecError) Error() string { return "netharness: spec " + e.Field + ": " + e.Msg }

// StandardSpec returns the shared test addressing of the project: a node with
// pod bridge 10.244.1.1/24 + fd00:10:244:1::1/64 and node IPs 10.0.0.10/24 +
// fd00::10/64; pods "pod-a" and "pod-b" (local, 10.244.1.2-3) and
// "pod-remote" (10.244.2.2, reached through an on-link route); clients
// "client-a" (10.0.0.100) and "client-b" (10.0.0.101 and 10.0.0.102); the
// service CIDRs 10.96.0.0/16 and fd00:10:96::/112 routed via the bridge. Every
// pod serves TCP and UDP on port 8080. Callers may change any field.
func StandardSpec() Spec {
	p := netip.MustParsePrefix
	pod := func(name string, v4, v6 string) Pod {
		return Pod{Name: name, Addrs: []netip.Prefix{p(v4), p(v6)}, TCP: []uint16{8080}, UDP: []uint16{8080}}
	}
	return Spec{
		Node: Node{
			BridgeAddrs: []netip.Prefix{p("10.244.1.1/24"), p("fd00:10:244:1::1/64")},
			ExtAddrs:    []netip.Prefix{p("10.0.0.10/24"), p("fd00::10/64")},
			Routes:      []Route{{Dst: p("10.96.0.0/16")}, {Dst: p("fd00:10:96::/112")}},
		},
		Pods: []Pod{
			pod("pod-a", "10.244.1.2/24", "fd00:10:244:1::2/64"),
			pod("pod-b", "10.244.1.3/24", "fd00:10:244:1::3/64"),
			pod("pod-remote", "10.244.2.2/24", "fd00:10:244:2::2/64"),
		},
		Clients: []Client{
			{Name: "client-a", Addrs: []netip.Prefix{p("10.0.0.100/24"), p("fd00::100/64")}},
			{Name: "client-b", Addrs: []netip.Prefix{p("10.0.0.101/24"), p("10.0.0.102/24"), p("fd00::101/64")}},
		},
	}
}

// clone returns a copy of s that shares no slice with it.
func (s Spec) clone() Spec {
	s.Node.BridgeAddrs = slices.Clone(s.Node.BridgeAddrs)
	s.Node.ExtAddrs = slices.Clone(s.Node.ExtAddrs)
	s.Node.Routes = slices.Clone(s.Node.Routes)
	s.Pods = slices.Clone(s.Pods)
	for i, p := range s.Pods {
		p.Addrs, p.Gateways = slices.Clone(p.Addrs), slices.Clone(p.Gateways)
		p.TCP, p.UDP = slices.Clone(p.TCP), slices.Clone(p.UDP)
		s.Pods[i] = p
	}
	s.Clients = slices.Clone(s.Clients)
	for i, c := range s.Clients {
		c.Addrs, c.Gateways = slices.Clone(c.Addrs), slices.Clone(c.Gateways)
		s.Clients[i] = c
	}
	return s
}

// withDefaults returns a copy of s, sharing no slice with it, with defaults
// filled in.
func (s Spec) withDefaults() Spec {
	s = s.clone()
	if s.Node.Bridge == "" {
		s.Node.Bridge = DefaultBridge
	}
	if s.Node.ExtBridge == "" {
		s.Node.ExtBridge = DefaultExtBridge
	}
	for i, r := range s.Node.Routes {
		if r.Dev == "" {
			s.Node.Routes[i].Dev = s.Node.Bridge
		}
	}
	return s
}

// Validate reports the first problem of s as a *SpecError, or nil.
func (s Spec) Validate() error {
	s = s.withDefaults()
	if err := validateNode(s.Node, len(s.Clients) > 0); err != nil {
		return err
	}
	seen := map[string]string{NodeName: "the node"}
	for i, p := range s.Pods {
		f := fmt.Sprintf("Pods[%d]", i)
		if err := validateHost(f, p.Name, p.Addrs, p.Gateways, s.Node.BridgeAddrs, seen); err != nil {
			return err
		}
		for j, port := range append(append([]uint16(nil), p.TCP...), p.UDP...) {
			if port == 0 {
				return &SpecError{Field: fmt.Sprintf("%s ports[%d]", f, j), Msg: "port 0"}
			}
		}
	}
	for i, c := range s.Clients {
		f := fmt.Sprintf("Clients[%d]", i)
		if err := validateHost(f, c.Name, c.Addrs, c.Gateways, s.Node.ExtAddrs, seen); err != nil {
			return err
		}
	}
	return nil
}

func validateNode(n Node, haveClients bool) error {
	for f, name := range map[string]string{"Node.Bridge": n.Bridge, "Node.ExtBridge": n.ExtBridge} {
		if len(name) > 15 || strings.ContainsAny(name, "/ \t\n") {
			return &SpecError{Field: f, Msg: fmt.Sprintf("invalid interface name %q", name)}
		}
	}
	if n.Bridge == n.ExtBridge {
		return &SpecError{Field: "Node.ExtBridge", Msg: "same name as Node.Bridge"}
	}
	if err := validPrefixes("Node.BridgeAddrs", n.BridgeAddrs); err != nil {
		return err
	}
	if err := validPrefixes("Node.ExtAddrs", n.ExtAddrs); err != nil {
		return err
	}
	if haveClients && len(n.ExtAddrs) == 0 {
		return &SpecError{Field: "Node.ExtAddrs", Msg: "clients need node addresses on the external bridge"}
	}
	for i, r := range n.Routes {
		f := fmt.Sprintf("Node.Routes[%d]", i)
		if !r.Dst.IsValid() {
			return &SpecError{Field: f, Msg: "invalid destination"}
		}
		if r.Via.IsValid() && r.Via.Is4() != r.Dst.Addr().Is4() {
			return &SpecError{Field: f, Msg: "gateway family differs from destination"}
		}
		if r.Dev != n.Bridge && r.Dev != n.ExtBridge {
			return &SpecError{Field: f, Msg: fmt.Sprintf("device %q is neither bridge", r.Dev)}
		}
	}
	return nil
}

func validateHost(f, name string, addrs []netip.Prefix, gws []netip.Addr, nodeAddrs []netip.Prefix, seen map[string]string) error {
	if name == "" {
		return &SpecError{Field: f + ".Name", Msg: "empty"}
	}
	if prev, dup := seen[name]; dup {
		return &SpecError{Field: f + ".Name", Msg: fmt.Sprintf("%q already names %s", name, prev)}
	}
	seen[name] = f
	if len(addrs) == 0 {
		return &SpecError{Field: f + ".Addrs", Msg: "no address"}
	}
	if err := validPrefixes(f+".Addrs", addrs); err != nil {
		return err
	}
	for i, g := range gws {
		if !g.IsValid() {
			return &SpecError{Field: fmt.Sprintf("%s.Gateways[%d]", f, i), Msg: "invalid address"}
		}
	}
	for i, a := range addrs {
		if !gatewayFor(a.Addr().Is4(), gws, nodeAddrs).IsValid() {
			return &SpecError{Field: fmt.Sprintf("%s.Addrs[%d]", f, i), Msg: "no gateway of this family (node has no address of it)"}
		}
	}
	return nil
}

func validPrefixes(f string, ps []netip.Prefix) error {
	for i, p := range ps {
		if !p.IsValid() || p.Addr().Is4In6() || p.Addr().Zone() != "" {
			return &SpecError{Field: fmt.Sprintf("%s[%d]", f, i), Msg: fmt.Sprintf("invalid prefix %v", p)}
		}
	}
	return nil
}

// gatewayFor picks the explicit gateway of the family, else the first node
// address of it; the zero Addr when there is none.
func gatewayFor(v4 bool, gws []netip.Addr, nodeAddrs []netip.Prefix) netip.Addr {
	for _, g := range gws {
		if g.Is4() == v4 {
			return g
		}
	}
	for _, p := range nodeAddrs {
		if p.Addr().Is4() == v4 {
			return p.Addr()
		}
	}
	return netip.Addr{}
}

// Summary describes the topology s would build, one line per namespace.
func (s Spec) Summary() string {
	s = s.withDefaults()
	var b strings.Builder
	fmt.Fprintf(&b, "node: %s %v", s.Node.Bridge, s.Node.BridgeAddrs)
	if len(s.Clients) > 0 {
		fmt.Fprintf(&b, ", %s %v", s.Node.ExtBridge, s.Node.ExtAddrs)
	}
	for _, r := range s.Node.Routes {
		fmt.Fprintf(&b, ", route %v dev %s", r.Dst, r.Dev)
		if r.Via.IsValid() {
			fmt.Fprintf(&b, " via %v", r.Via)
		}
	}
	b.WriteByte('\n')
	for _, p := range s.Pods {
		fmt.Fprintf(&b, "pod %s: %v tcp%v udp%v\n", p.Name, p.Addrs, p.TCP, p.UDP)
	}
	for _, c := range s.Clients {
		fmt.Fprintf(&b, "client %s: %v\n", c.Name, c.Addrs)
	}
	return b.String()
}
