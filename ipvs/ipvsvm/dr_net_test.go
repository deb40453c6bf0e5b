package ipvsvm

import (
	"net"
	"net/netip"
	"testing"

	"github.com/vishvananda/netlink"
	"golang.org/x/sys/unix"
)

// nl returns a netlink handle in ns, closed at the end of the test.
func (ns *testNS) nl(t *testing.T) *netlink.Handle {
	t.Helper()
	h, err := netlink.NewHandleAt(ns.h, unix.NETLINK_ROUTE)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(h.Close)
	return h
}

// veth links ns (name) with peer (peerName), both up.
func veth(t *testing.T, ns *testNS, name string, peer *testNS, peerName string) {
	t.Helper()
	h := ns.nl(t)
	if err := h.LinkAdd(&netlink.Veth{LinkAttrs: netlink.LinkAttrs{Name: name}, PeerName: peerName,
		PeerNamespace: netlink.NsFd(int(peer.h))}); err != nil {
		t.Fatalf("veth %s-%s: %v", name, peerName, err)
	}
	up(t, ns, name)
	up(t, peer, peerName)
}

func up(t *testing.T, ns *testNS, name string) {
	t.Helper()
	h := ns.nl(t)
	l, err := h.LinkByName(name)
	if err == nil {
		err = h.LinkSetUp(l)
	}
	if err != nil {
		t.Fatalf("up %s: %v", name, err)
	}
}

// bridge makes a bridge in ns and enslaves ports to it.
func bridge(t *testing.T, ns *testNS, name string, ports ...string) {
	t.Helper()
	h := ns.nl(t)
	br := &netlink.Bridge{LinkAttrs: netlink.LinkAttrs{Name: name}}
	if err := h.LinkAdd(br); err != nil {
		t.Fatal(err)
	}
	for _, p := range ports {
		l, err := h.LinkByName(p)
		if err == nil {
			err = h.LinkSetMaster(l, br)
		}
		if err != nil {
			t.Fatalf("enslave %s: %v", p, err)
		}
	}
	up(t, ns, name)
}

// addr puts a prefix on a link of ns.
func addr(t *testing.T, ns *testNS, link, prefix string) {
	t.Helper()
	h := ns.nl(t)
	l, err := h.LinkByName(link)
	if err != nil {
		t.Fatal(err)
	}
	p := netip.MustParsePrefix(prefix)
	ipn := &net.IPNet{IP: p.Addr().AsSlice(), Mask: net.CIDRMask(p.Bits(), p.Addr().BitLen())}
	if err := h.AddrAdd(l, &netlink.Addr{IPNet: ipn}); err != nil {
		t.Fatalf("addr %s on %s: %v", prefix, link, err)
	}
}

// route adds a route to dst via gw in ns.
func route(t *testing.T, ns *testNS, dst, gw string) {
	t.Helper()
	h := ns.nl(t)
	p := netip.MustParsePrefix(dst)
	r := &netlink.Route{Dst: &net.IPNet{IP: p.Addr().AsSlice(), Mask: net.CIDRMask(p.Bits(), p.Addr().BitLen())},
		Gw: net.ParseIP(gw)}
	if err := h.RouteAdd(r); err != nil {
		t.Fatalf("route %s via %s: %v", dst, gw, err)
	}
}
