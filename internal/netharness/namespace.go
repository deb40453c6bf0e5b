package netharness

import (
	"fmt"
	"testing"

	"github.com/vishvananda/netlink"
	"github.com/vishvananda/netns"
	"golang.org/x/sys/unix"
)

// NewNamespace creates an anonymous network namespace with lo up (IPVS, for
// one, refuses destinations in a namespace without a local table). The
// caller owns the handle; closing it destroys the namespace.
func NewNamespace() (netns.NsHandle, error) {
	ns, err := newNamespace()
	if err != nil {
		return ns, err
	}
	h, err := netlink.NewHandleAt(ns, unix.NETLINK_ROUTE)
	if err == nil {
		defer h.Close()
		var lo netlink.Link
		if lo, err = h.LinkByName("lo"); err == nil {
			err = h.LinkSetUp(lo)
		}
	}
	if err != nil {
		ns.Close()
		return netns.None(), fmt.Errorf("netharness: lo up in a new netns: %w", err)
	}
	return ns, nil
}

// NewNamespaceT is NewNamespace for a test: it fails tb on error and closes
// the namespace in tb.Cleanup. Call kerneltest.Need first.
func NewNamespaceT(tb testing.TB) netns.NsHandle {
	tb.Helper()
	ns, err := NewNamespace()
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { ns.Close() })
	return ns
}
