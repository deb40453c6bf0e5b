package netharness

import (
	"context"
	"fmt"
	"net"
	"net/netip"

	"github.com/vishvananda/netlink"
	"golang.org/x/sys/unix"
)

// Interface names created by Build. Pod i's port on the pod bridge is
// PodPortPrefix+i, client i's port on the external bridge ClientPortPrefix+i;
// inside pods and clients the interface is HostIfName.
const (
	PodPortPrefix    = "pkp"
	ClientPortPrefix = "pkc"
	HostIfName       = "eth0"
)

// setupNode creates the bridges, their addresses, the routes and sysctls of
// the node namespace.
func (t *Topology) setupNode(context.Context) error {
	n := t.spec.Node
	sysctls := map[string]string{"net.ipv4.ip_forward": "1"}
	if HaveIPv6() {
		sysctls["net.ipv6.conf.all.forwarding"] = "1"
	}
	if !n.NoBridgeNF {
		sysctls["net.bridge.bridge-nf-call-iptables"] = "1"
		sysctls["net.bridge.bridge-nf-call-ip6tables"] = "1"
	}
	if err := t.setSysctls(NodeName, sysctls); err != nil {
		return err
	}
	h := t.spaces[NodeName].nl
	if err := addBridge(h, n.Bridge, n.BridgeAddrs); err != nil {
		return err
	}
	if len(t.spec.Clients) > 0 {
		if err := addBridge(h, n.ExtBridge, n.ExtAddrs); err != nil {
			return err
		}
	}
	for _, r := range t.nodeRoutes() {
		if err := addRoute(h, r); err != nil {
			return fmt.Errorf("netharness: node route %v: %w", r.Dst, err)
		}
	}
	return nil
}

// nodeRoutes is the spec's routes plus an on-link route on the pod bridge for
// every pod prefix that no bridge address covers.
func (t *Topology) nodeRoutes() []Route {
	routes := append([]Route(nil), t.spec.Node.Routes...)
	seen := map[netip.Prefix]bool{}
	for _, p := range t.spec.Node.BridgeAddrs {
		seen[p.Masked()] = true
	}
	for _, pod := range t.spec.Pods {
		for _, a := range pod.Addrs {
			if seen[a.Masked()] || covered(t.spec.Node.BridgeAddrs, a.Addr()) {
				continue
			}
			seen[a.Masked()] = true
			routes = append(routes, Route{Dst: a.Masked(), Dev: t.spec.Node.Bridge})
		}
	}
	return routes
}

func covered(ps []netip.Prefix, a netip.Addr) bool {
	for _, p := range ps {
		if p.Contains(a) {
			return true
		}
	}
	return false
}

func addBridge(h *netlink.Handle, name string, addrs []netip.Prefix) error {
	off := false
	br := &netlink.Bridge{LinkAttrs: netlink.LinkAttrs{Name: name}, MulticastSnooping: &off}
	if err := h.LinkAdd(br); err != nil {
		return fmt.Errorf("netharness: add bridge %s: %w", name, err)
	}
	return configureLink(h, name, addrs)
}

// configureLink adds addrs (IPv6 without DAD) to the named link and sets it up.
func configureLink(h *netlink.Handle, name string, addrs []netip.Prefix) error {
	link, err := h.LinkByName(name)
	if err != nil {
		return fmt.Errorf("netharness: link %s: %w", name, err)
	}
	for _, p := range addrs {
		a := &netlink.Addr{IPNet: ipNet(p)}
		if p.Addr().Is6() {
			a.Flags = unix.IFA_F_NODAD
		}
		if err := h.AddrAdd(link, a); err != nil {
			return fmt.Errorf("netharness: add %v to %s: %w", p, name, err)
		}
	}
	if err := h.LinkSetUp(link); err != nil {
		return fmt.Errorf("netharness: set %s up: %w", name, err)
	}
	return nil
}

func addRoute(h *netlink.Handle, r Route) error {
	link, err := h.LinkByName(r.Dev)
	if err != nil {
		return err
	}
	rt := &netlink.Route{LinkIndex: link.Attrs().Index, Dst: ipNet(r.Dst.Masked())}
	if r.Via.IsValid() {
		rt.Gw = net.IP(r.Via.AsSlice())
	} else if r.Dst.Addr().Is4() {
		rt.Scope = netlink.SCOPE_LINK
	}
	return h.RouteAdd(rt)
}

func ipNet(p netip.Prefix) *net.IPNet {
	bits := 128
	if p.Addr().Is4() {
		bits = 32
	}
	return &net.IPNet{IP: net.IP(p.Addr().AsSlice()), Mask: net.CIDRMask(p.Bits(), bits)}
}

// attach creates a veth named port in the node namespace, enslaved to
// bridge, whose peer HostIfName lives in the namespace host.
func (t *Topology) attach(host, port, bridge string, hairpin bool) error {
	h := t.spaces[NodeName].nl
	br, err := h.LinkByName(bridge)
	if err != nil {
		return fmt.Errorf("netharness: bridge %s: %w", bridge, err)
	}
	veth := &netlink.Veth{
		LinkAttrs:     netlink.LinkAttrs{Name: port, MasterIndex: br.Attrs().Index},
		PeerName:      HostIfName,
		PeerNamespace: netlink.NsFd(int(t.spaces[host].ns)),
	}
	if err := h.LinkAdd(veth); err != nil {
		return fmt.Errorf("netharness: veth %s for %s: %w", port, host, err)
	}
	link, err := h.LinkByName(port)
	if err != nil {
		return fmt.Errorf("netharness: veth %s: %w", port, err)
	}
	if hairpin {
		if err := h.LinkSetHairpin(link, true); err != nil {
			return fmt.Errorf("netharness: hairpin on %s: %w", port, err)
		}
	}
	if err := h.LinkSetUp(link); err != nil {
		return fmt.Errorf("netharness: set %s up: %w", port, err)
	}
	return nil
}

// configureHost sets the addresses and default routes of a pod or client.
func (t *Topology) configureHost(name string, addrs []netip.Prefix, gws []netip.Addr, nodeAddrs []netip.Prefix) error {
	h := t.spaces[name].nl
	if err := configureLink(h, HostIfName, addrs); err != nil {
		return fmt.Errorf("netharness: %s: %w", name, err)
	}
	link, err := h.LinkByName(HostIfName)
	if err != nil {
		return fmt.Errorf("netharness: %s: %w", name, err)
	}
	for _, v4 := range []bool{true, false} {
		if !hasFamily(addrs, v4) {
			continue
		}
		gw := gatewayFor(v4, gws, nodeAddrs)
		dst := netip.MustParsePrefix("::/0")
		if v4 {
			dst = netip.MustParsePrefix("0.0.0.0/0")
		}
		rt := &netlink.Route{LinkIndex: link.Attrs().Index, Dst: ipNet(dst), Gw: net.IP(gw.AsSlice())}
		if !covered(addrs, gw) {
			rt.Flags = int(netlink.FLAG_ONLINK)
		}
		if err := h.RouteAdd(rt); err != nil {
			return fmt.Errorf("netharness: %s: default route via %v: %w", name, gw, err)
		}
	}
	return nil
}

func hasFamily(ps []netip.Prefix, v4 bool) bool {
	for _, p := range ps {
		if p.Addr().Is4() == v4 {
			return true
		}
	}
	return false
}

func (t *Topology) setupPods(context.Context) error {
	for i, p := range t.spec.Pods {
		if err := t.attach(p.Name, fmt.Sprintf("%s%d", PodPortPrefix, i), t.spec.Node.Bridge, !t.spec.Node.NoHairpin); err != nil {
			return err
		}
		if err := t.configureHost(p.Name, p.Addrs, p.Gateways, t.spec.Node.BridgeAddrs); err != nil {
			return err
		}
	}
	return nil
}

func (t *Topology) setupClients(context.Context) error {
	for i, c := range t.spec.Clients {
		if err := t.attach(c.Name, fmt.Sprintf("%s%d", ClientPortPrefix, i), t.spec.Node.ExtBridge, false); err != nil {
			return err
		}
		if err := t.configureHost(c.Name, c.Addrs, c.Gateways, t.spec.Node.ExtAddrs); err != nil {
			return err
		}
	}
	return nil
}
