// Package conntrack deletes stale connection-tracking entries over netlink
// (ctnetlink): the kernel side of nat.StaleFlow. Backends call it after a
// sync so that UDP and SCTP datagrams stop following entries to endpoints
// that are gone. It works in a given network namespace.
package conntrack

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/netip"

	"github.com/vishvananda/netlink"
	"github.com/vishvananda/netns"
	"golang.org/x/sys/unix"

	"github.com/proxykit/proxykit/nat"
)

// Cleaner deletes conntrack entries in one network namespace.
type Cleaner struct {
	h   *netlink.Handle
	log *slog.Logger
}

// New opens a ctnetlink handle in ns (netns.None() for the caller's own).
func New(ns netns.NsHandle, log *slog.Logger) (*Cleaner, error) {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	var h *netlink.Handle
	var err error
	if ns == netns.None() {
		h, err = netlink.NewHandle(unix.NETLINK_NETFILTER)
	} else {
		h, err = netlink.NewHandleAt(ns, unix.NETLINK_NETFILTER)
	}
	if err != nil {
		return nil, fmt.Errorf("conntrack: open netlink: %w", err)
	}
	return &Cleaner{h: h, log: log}, nil
}

// Close releases the netlink handle.
func (c *Cleaner) Close() { c.h.Close() }

// Delete removes the entries matching any of flows and returns how many it
// removed. The kernel's table is read once per address family.
func (c *Cleaner) Delete(ctx context.Context, flows []nat.StaleFlow) (int, error) {
	var v4, v6 []netlink.CustomConntrackFilter
	for _, f := range flows {
		filter, err := toFilter(f)
		if err != nil {
			return 0, err
		}
		if f.IPv6 {
			v6 = append(v6, filter)
		} else {
			v4 = append(v4, filter)
		}
	}
	total := 0
	var errs []error
	for _, fam := range []struct {
		family  netlink.InetFamily
		filters []netlink.CustomConntrackFilter
	}{{unix.AF_INET, v4}, {unix.AF_INET6, v6}} {
		if len(fam.filters) == 0 {
			continue
		}
		if err := ctx.Err(); err != nil {
			return total, err
		}
		n, err := c.h.ConntrackDeleteFilters(netlink.ConntrackTable, fam.family, fam.filters...)
		total += int(n)
		if err != nil {
			errs = append(errs, fmt.Errorf("conntrack: delete (family %d): %w", fam.family, err))
		}
	}
	c.log.Debug("conntrack entries deleted", "flows", len(flows), "deleted", total)
	return total, errors.Join(errs...)
}

// ErrBadFlow is wrapped by Delete's error for a flow that names nothing.
var ErrBadFlow = errors.New("conntrack: a stale flow needs a protocol and a port, and addresses of its family")

func toFilter(f nat.StaleFlow) (*netlink.ConntrackFilter, error) {
	wrongFamily := func(a netip.Addr) bool { return a.IsValid() && a.Is6() != f.IPv6 }
	if f.Proto == 0 || f.Port == 0 || wrongFamily(f.Dst) || wrongFamily(f.Endpoint) {
		return nil, fmt.Errorf("%w: %s", ErrBadFlow, f)
	}
	filter := &netlink.ConntrackFilter{}
	if err := filter.AddProtocol(f.Proto); err != nil {
		return nil, err
	}
	if err := filter.AddPort(netlink.ConntrackOrigDstPort, f.Port); err != nil {
		return nil, err
	}
	if f.Dst.IsValid() {
		if err := filter.AddIP(netlink.ConntrackOrigDstIP, net.IP(f.Dst.AsSlice())); err != nil {
			return nil, err
		}
	}
	if f.Endpoint.IsValid() {
		if err := filter.AddIP(netlink.ConntrackReplySrcIP, net.IP(f.Endpoint.AsSlice())); err != nil {
			return nil, err
		}
	}
	return filter, nil
}
