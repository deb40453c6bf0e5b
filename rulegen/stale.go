package rulegen

import (
	"context"
	"log/slog"
	"net/netip"

	"github.com/proxykit/proxykit/nat"
	"github.com/proxykit/proxykit/servicemodel"
)

// StaleFlows lists the conntrack entries a backend should delete after it
// has moved the kernel from old to next (kube-proxy does the same): for UDP
// and SCTP service ports among changed (all when changed is nil),
//   - entries translated to an endpoint that no set of next uses any more,
//     per frontend of old;
//   - entries of every frontend of a port that had no usable endpoint in
//     old and has one in next (they were created while traffic went nowhere).
//
// TCP needs nothing: a connection to a removed endpoint fails and retries.
// A nil old plan yields nothing.
func StaleFlows(old, next *Plan, changed []servicemodel.ServicePortName) []nat.StaleFlow {
	if old == nil || next == nil {
		return nil
	}
	if changed == nil {
		changed = unionNames(old.Names(), next.Names())
	}
	var out []nat.StaleFlow
	for _, name := range changed {
		proto := protoNumber(name.Protocol)
		if proto == 0 {
			continue
		}
		before, _ := old.Get(name)
		after, _ := next.Get(name)
		for _, f := range families {
			out = append(out, staleForFamily(proto, family(before, f), family(after, f))...)
		}
	}
	return out
}

// ClearStale deletes through c the conntrack entries that a successful
// sync from old to req.Plan left stale (see StaleFlows). Failures are
// logged, not returned: the rules are right either way, and a stale UDP
// flow heals when its entry times out.
func ClearStale(ctx context.Context, c nat.ConntrackCleaner, old *Plan, req SyncRequest, log *slog.Logger) {
	if c == nil || old == nil {
		return
	}
	changed := req.Changed
	if req.Full {
		changed = nil
	}
	flows := StaleFlows(old, req.Plan, changed)
	if len(flows) == 0 {
		return
	}
	n, err := c.Delete(ctx, flows)
	if err != nil {
		log.Warn("deleting stale conntrack entries", "flows", len(flows), "err", err)
		return
	}
	log.Debug("stale conntrack entries deleted", "flows", len(flows), "deleted", n)
}

func staleForFamily(proto uint8, before, after *PortPlan) []nat.StaleFlow {
	var out []nat.StaleFlow
	if before != nil {
		keep := endpointAddrs(after)
		for _, ep := range unionEndpoints(before) {
			if keep[ep] {
				continue
			}
			for _, fe := range before.Frontends {
				out = append(out, nat.StaleFlow{Proto: proto, Dst: fe.Addr, Port: uint16(fe.Port), Endpoint: ep, IPv6: ep.Is6()})
			}
		}
	}
	if after != nil && after.HasEndpoints && (before == nil || !before.HasEndpoints) {
		for _, fe := range after.Frontends {
			out = append(out, nat.StaleFlow{Proto: proto, Dst: fe.Addr, Port: uint16(fe.Port), IPv6: after.Family == servicemodel.IPv6})
		}
	}
	return out
}

func family(sp *ServicePlan, f servicemodel.IPFamily) *PortPlan {
	if sp == nil {
		return nil
	}
	return sp.Family(f)
}

func protoNumber(p servicemodel.Protocol) uint8 {
	switch p {
	case servicemodel.UDP:
		return nat.ProtoUDP
	case servicemodel.SCTP:
		return nat.ProtoSCTP
	}
	return 0
}

// unionEndpoints returns the distinct addresses of both endpoint sets.
func unionEndpoints(pp *PortPlan) []netip.Addr {
	seen := endpointAddrs(pp)
	out := make([]netip.Addr, 0, len(seen))
	for _, e := range append(append([]Endpoint{}, pp.ClusterEndpoints...), pp.LocalEndpoints...) {
		if seen[e.Addr] {
			out = append(out, e.Addr)
			delete(seen, e.Addr)
		}
	}
	return out
}

func endpointAddrs(pp *PortPlan) map[netip.Addr]bool {
	m := map[netip.Addr]bool{}
	if pp == nil {
		return m
	}
	for _, e := range pp.ClusterEndpoints {
		m[e.Addr] = true
	}
	for _, e := range pp.LocalEndpoints {
		m[e.Addr] = true
	}
	return m
}

func unionNames(a, b []servicemodel.ServicePortName) []servicemodel.ServicePortName {
	seen := make(map[servicemodel.ServicePortName]bool, len(a))
	out := make([]servicemodel.ServicePortName, 0, len(a))
	for _, lists := range [][]servicemodel.ServicePortName{a, b} {
		for _, n := range lists {
			if !seen[n] {
				seen[n] = true
				out = append(out, n)
			}
		}
	}
	return out
}
