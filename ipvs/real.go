package ipvs

import (
	"context"
	"errors"
	"fmt"

	"github.com/moby/ipvs"
	"github.com/vishvananda/netlink"
	"github.com/vishvananda/netlink/nl"
	"github.com/vishvananda/netns"
	"golang.org/x/sys/unix"
)

// ErrNoIPVS means the kernel has no IPVS (no "IPVS" generic netlink family).
var ErrNoIPVS = errors.New("ipvs: the kernel has no IPVS")

// Real is the Kernel of a network namespace: its IPVS table (over generic
// netlink, one request per operation), the dummy interface with the service
// addresses and the ipsets (over rtnetlink and nfnetlink; consecutive entries
// of one set go many requests to a write, as ipset restore sends them).
type Real struct {
	*engine
	d *realDriver
}

var _ Kernel = (*Real)(nil)

// NewReal opens the kernel of the network namespace at netnsPath (e.g.
// "/run/netns/node" or "/proc/<pid>/ns/net"; "" means the caller's). It
// fails with ErrNoIPVS when the kernel has no IPVS. Close releases it.
func NewReal(ctx context.Context, netnsPath string, opts Options) (*Real, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	// moby/ipvs resolves the generic-netlink family once per process and
	// keeps a failure: probe first so a missing module is reported here.
	if _, err := netlink.GenlFamilyGet("IPVS"); err != nil {
		return nil, fmt.Errorf("%w: %w", ErrNoIPVS, err)
	}
	ns := netns.None()
	if netnsPath != "" {
		var err error
		if ns, err = netns.GetFromPath(netnsPath); err != nil {
			return nil, fmt.Errorf("ipvs: opening netns %s: %w", netnsPath, err)
		}
		defer ns.Close()
	}
	nh, err := netlink.NewHandleAt(ns, unix.NETLINK_ROUTE, unix.NETLINK_NETFILTER)
	if err != nil {
		return nil, fmt.Errorf("ipvs: netlink handle: %w", err)
	}
	sock, err := nl.GetNetlinkSocketAt(ns, netns.None(), unix.NETLINK_NETFILTER)
	if err != nil {
		nh.Close()
		return nil, fmt.Errorf("ipvs: netfilter socket: %w", err)
	}
	h, err := ipvs.New(netnsPath)
	if err != nil {
		nh.Close()
		sock.Close()
		return nil, fmt.Errorf("ipvs: ipvs handle: %w", err)
	}
	o := opts.withDefaults()
	d := &realDriver{ipvs: h, nl: nh, batch: newIPSetBatcher(sock), dummy: o.Dummy}
	return &Real{engine: newEngine(d, o), d: d}, nil
}

// Close releases the netlink sockets.
func (r *Real) Close() error {
	r.d.ipvs.Close()
	r.d.nl.Close()
	r.d.batch.sock.Close()
	return nil
}

// kernelErr maps a kernel error to ErrExists / ErrNotFound where it means
// that, keeping the original in the chain. onExist is what the ipset
// "element exists" code means for the operation.
func kernelErr(err error, onExist error) error {
	if err == nil {
		return nil
	}
	var ipsetErr nl.IPSetError
	switch {
	case errors.Is(err, unix.EEXIST):
		return fmt.Errorf("%w: %w", ErrExists, err)
	case errors.Is(err, unix.ENOENT), errors.Is(err, unix.ESRCH):
		return fmt.Errorf("%w: %w", ErrNotFound, err)
	case errors.As(err, &ipsetErr) && ipsetErr == nl.IPSetError(nl.IPSET_ERR_EXIST):
		return fmt.Errorf("%w: %w", onExist, err)
	}
	return err
}
