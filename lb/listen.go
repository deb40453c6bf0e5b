package lb

import (
	"fmt"
	"net"
	"net/netip"

	"github.com/proxykit/proxykit/rulegen"
	"github.com/proxykit/proxykit/servicemodel"
)

// InterfaceAddrs returns the addresses of the node's interfaces
// (net.InterfaceAddrs), unmapped. It is the proxy's default notion of
// "local to the node".
func InterfaceAddrs() ([]netip.Addr, error) {
	as, err := net.InterfaceAddrs()
	if err != nil {
		return nil, fmt.Errorf("lb: interface addresses: %w", err)
	}
	out := make([]netip.Addr, 0, len(as))
	for _, a := range as {
		if p, err := netip.ParsePrefix(a.String()); err == nil {
			out = append(out, p.Addr().Unmap())
		}
	}
	return out, nil
}

// AddrSet returns a predicate that is true for the given addresses: a
// ProxyOptions.IsLocal built from a fixed list.
func AddrSet(addrs ...netip.Addr) func(netip.Addr) bool {
	set := make(map[netip.Addr]struct{}, len(addrs))
	for _, a := range addrs {
		set[a.Unmap()] = struct{}{}
	}
	return func(a netip.Addr) bool {
		_, ok := set[a.Unmap()]
		return ok
	}
}

// localListen is the default listen mapping: a ClusterIP, external or
// load-balancer IP that is local to the node listens on itself; a NodePort
// listens on its node address when that is local, or on the family's
// unspecified address when it answers on every local address.
func localListen(isLocal func(netip.Addr) bool) func(rulegen.Frontend, *rulegen.PortPlan) (netip.AddrPort, bool) {
	return func(fe rulegen.Frontend, pp *rulegen.PortPlan) (netip.AddrPort, bool) {
		if fe.Port <= 0 || fe.Port > 65535 {
			return netip.AddrPort{}, false
		}
		port := uint16(fe.Port)
		if !fe.Addr.IsValid() {
			if fe.Kind != rulegen.NodePort {
				return netip.AddrPort{}, false
			}
			if pp.Family == servicemodel.IPv6 {
				return netip.AddrPortFrom(netip.IPv6Unspecified(), port), true
			}
			return netip.AddrPortFrom(netip.IPv4Unspecified(), port), true
		}
		if !isLocal(fe.Addr) {
			return netip.AddrPort{}, false
		}
		return netip.AddrPortFrom(fe.Addr, port), true
	}
}
