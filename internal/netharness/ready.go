package netharness

import (
	"context"
	"fmt"
	"net/netip"
	"time"

	"github.com/vishvananda/netlink"
	"github.com/vishvananda/netlink/nl"
	"golang.org/x/sys/unix"
)

// brStateForwarding is BR_STATE_FORWARDING of include/uapi/linux/if_bridge.h.
const brStateForwarding = 3

// readyProbeTimeout is the timeout of each readiness probe; they repeat until
// Build's context ends.
const readyProbeTimeout = 250 * time.Millisecond

// waitFor polls cond until it holds, it fails, or ctx ends.
func waitFor(ctx context.Context, what string, cond func() (bool, error)) error {
	tick := time.NewTicker(5 * time.Millisecond)
	defer tick.Stop()
	for {
		ok, err := cond()
		if err != nil {
			return fmt.Errorf("netharness: waiting for %s: %w", what, err)
		}
		if ok {
			return nil
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("netharness: waiting for %s: %w", what, ctx.Err())
		case <-tick.C:
		}
	}
}

// waitLinks waits until every pod's and client's interface is operationally
// up and every bridge port in the node namespace forwards.
func (t *Topology) waitLinks(ctx context.Context) error {
	for _, name := range t.order[1:] {
		h := t.spaces[name].nl
		err := waitFor(ctx, name+" "+HostIfName+" up", func() (bool, error) {
			l, err := h.LinkByName(HostIfName)
			if err != nil {
				return false, err
			}
			return l.Attrs().OperState == netlink.OperUp, nil
		})
		if err != nil {
			return err
		}
	}
	want := len(t.spec.Pods) + len(t.spec.Clients)
	return waitFor(ctx, "bridge ports forwarding", func() (bool, error) {
		var states map[int32]uint8
		err := t.Do(NodeName, func() error {
			var err error
			states, err = bridgePortStates()
			return err
		})
		if err != nil {
			return false, err
		}
		n := 0
		for _, s := range states {
			if s == brStateForwarding {
				n++
			}
		}
		return n >= want, nil
	})
}

// bridgePortStates dumps the bridge ports of the calling thread's namespace:
// interface index to STP port state.
func bridgePortStates() (map[int32]uint8, error) {
	req := nl.NewNetlinkRequest(unix.RTM_GETLINK, unix.NLM_F_DUMP)
	req.AddData(nl.NewIfInfomsg(unix.AF_BRIDGE))
	msgs, err := req.Execute(unix.NETLINK_ROUTE, unix.RTM_NEWLINK)
	if err != nil {
		return nil, err
	}
	states := map[int32]uint8{}
	for _, m := range msgs {
		info := nl.DeserializeIfInfomsg(m)
		attrs, err := nl.ParseRouteAttr(m[info.Len():])
		if err != nil {
			return nil, err
		}
		for _, a := range attrs {
			if a.Attr.Type&^unix.NLA_F_NESTED != unix.IFLA_PROTINFO {
				continue
			}
			pattrs, err := nl.ParseRouteAttr(a.Value)
			if err != nil {
				return nil, err
			}
			for _, p := range pattrs {
				if p.Attr.Type == nl.IFLA_BRPORT_STATE && len(p.Value) > 0 {
					states[info.Index] = p.Value[0]
				}
			}
		}
	}
	return states, nil
}

// waitServers waits until the node reaches every pod's first port on each
// address, and every client reaches a pod of each of its families: the whole
// L2/L3 path works (and neighbour caches are warm) before tests start.
func (t *Topology) waitServers(ctx context.Context) error {
	for _, p := range t.spec.Pods {
		proto, port := firstPort(p)
		if port == 0 {
			continue
		}
		for _, a := range p.Addrs {
			if err := t.waitReach(ctx, NodeName, proto, netip.AddrPortFrom(a.Addr(), port), p.Name); err != nil {
				return err
			}
		}
	}
	for _, c := range t.spec.Clients {
		for _, v4 := range []bool{true, false} {
			if !hasFamily(c.Addrs, v4) {
				continue
			}
			if pod, dst, proto, ok := t.someServer(v4); ok {
				if err := t.waitReach(ctx, c.Name, proto, dst, pod); err != nil {
					return err
				}
			}
		}
	}
	return nil
}

func firstPort(p Pod) (string, uint16) {
	if len(p.TCP) > 0 {
		return "tcp", p.TCP[0]
	}
	if len(p.UDP) > 0 {
		return "udp", p.UDP[0]
	}
	return "", 0
}

// someServer finds a pod address of the family with a server on it.
func (t *Topology) someServer(v4 bool) (string, netip.AddrPort, string, bool) {
	for _, p := range t.spec.Pods {
		proto, port := firstPort(p)
		for _, a := range p.Addrs {
			if port != 0 && a.Addr().Is4() == v4 {
				return p.Name, netip.AddrPortFrom(a.Addr(), port), proto, true
			}
		}
	}
	return "", netip.AddrPort{}, "", false
}

func (t *Topology) waitReach(ctx context.Context, from, proto string, dst netip.AddrPort, pod string) error {
	var last Result
	err := waitFor(ctx, fmt.Sprintf("%s to reach %s %v", from, pod, dst), func() (bool, error) {
		last = t.Probe(ctx, from, proto, dst, ProbeOptions{Timeout: readyProbeTimeout})
		return last.Outcome == Reached && last.Server == pod, nil
	})
	if err != nil {
		return fmt.Errorf("%w (last probe: %v)", err, last)
	}
	return nil
}
