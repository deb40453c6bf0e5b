package main

import (
	"net/netip"

	"github.com/proxykit/proxykit/rulegen"
	"github.com/proxykit/proxykit/servicemodel"
)

// loopbackMap maps IPv4 frontends to loopback: each distinct frontend
// address to its own 127.1.x.y (in plan order: 127.1.0.1, 127.1.0.2, ...),
// NodePorts to 127.0.0.1; ports shifted by an offset (NodePorts by their
// own, default 0: they are unprivileged and below the ephemeral range). It is built once from the plan and then
// read-only.
type loopbackMap struct {
	offset, nodePortOffset int
	addrs                  map[netip.Addr]netip.Addr
}

func newLoopbackMap(plan *rulegen.Plan, offset, nodePortOffset int) *loopbackMap {
	m := &loopbackMap{offset: offset, nodePortOffset: nodePortOffset, addrs: map[netip.Addr]netip.Addr{}}
	for _, pp := range plan.Ports(servicemodel.IPv4) {
		for _, fe := range pp.Frontends {
			if fe.Kind == rulegen.NodePort || !fe.Addr.IsValid() {
				continue
			}
			if _, ok := m.addrs[fe.Addr]; !ok && len(m.addrs) < 254*254 {
				n := len(m.addrs)
				m.addrs[fe.Addr] = loopbackAddr(1, n)
			}
		}
	}
	return m
}

// listen is an lb.ProxyOptions.Listen.
func (m *loopbackMap) listen(fe rulegen.Frontend, pp *rulegen.PortPlan) (netip.AddrPort, bool) {
	port := int(fe.Port) + m.offset
	if fe.Kind == rulegen.NodePort {
		port = int(fe.Port) + m.nodePortOffset
	}
	if pp.Family != servicemodel.IPv4 || port <= 0 || port > 65535 {
		return netip.AddrPort{}, false
	}
	if fe.Kind == rulegen.NodePort {
		return netip.AddrPortFrom(netip.AddrFrom4([4]byte{127, 0, 0, 1}), uint16(port)), true
	}
	a, ok := m.addrs[fe.Addr]
	return netip.AddrPortFrom(a, uint16(port)), ok
}

// loopbackAddr returns the n-th address of 127.net.0.0/16 (from .0.1,
// skipping .0 and .255 in the last byte).
func loopbackAddr(net byte, n int) netip.Addr {
	return netip.AddrFrom4([4]byte{127, net, byte(n / 254), byte(1 + n%254)})
}
