package ipvs

import (
	"errors"
	"fmt"
	"net"
	"net/netip"

	"github.com/vishvananda/netlink"
	"golang.org/x/sys/unix"
)

// link returns the dummy interface, or nil when it does not exist. It is
// looked up once and remembered until deleted.
func (d *realDriver) link() (netlink.Link, error) {
	if d.linkCache != nil {
		return d.linkCache, nil
	}
	l, err := d.nl.LinkByName(d.dummy)
	var nf netlink.LinkNotFoundError
	if errors.As(err, &nf) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("ipvs: looking up %s: %w", d.dummy, err)
	}
	d.linkCache = l
	return l, nil
}

// ensureLink returns the dummy interface, creating it (up) when missing.
func (d *realDriver) ensureLink() (netlink.Link, error) {
	l, err := d.link()
	if err != nil || l != nil {
		return l, err
	}
	if err := d.nl.LinkAdd(&netlink.Dummy{LinkAttrs: netlink.LinkAttrs{Name: d.dummy}}); err != nil {
		return nil, fmt.Errorf("ipvs: creating dummy interface %s: %w", d.dummy, err)
	}
	if l, err = d.nl.LinkByName(d.dummy); err != nil {
		return nil, fmt.Errorf("ipvs: looking up %s: %w", d.dummy, err)
	}
	if err := d.nl.LinkSetUp(l); err != nil {
		return nil, fmt.Errorf("ipvs: bringing %s up: %w", d.dummy, err)
	}
	d.linkCache = l
	return l, nil
}

// addrs lists the dummy interface's addresses, without IPv6 link-local ones
// (which the kernel adds by itself).
func (d *realDriver) addrs() ([]netip.Addr, error) {
	l, err := d.link()
	if err != nil || l == nil {
		return nil, err
	}
	list, err := d.nl.AddrList(l, netlink.FAMILY_ALL)
	if err != nil {
		return nil, err
	}
	out := make([]netip.Addr, 0, len(list))
	for _, a := range list {
		ip, ok := netip.AddrFromSlice(a.IP)
		if !ok || ip.Unmap().IsLinkLocalUnicast() {
			continue
		}
		out = append(out, ip.Unmap())
	}
	return out, nil
}

func hostAddr(a netip.Addr) *netlink.Addr {
	na := &netlink.Addr{IPNet: &net.IPNet{IP: net.IP(a.AsSlice()), Mask: net.CIDRMask(a.BitLen(), a.BitLen())}}
	if a.Is6() {
		na.Flags = unix.IFA_F_NODAD
	}
	return na
}

func (d *realDriver) addAddr(a netip.Addr) error {
	l, err := d.ensureLink()
	if err != nil {
		return err
	}
	return kernelErr(d.nl.AddrAdd(l, hostAddr(a)), ErrExists)
}

func (d *realDriver) delAddr(a netip.Addr) error {
	l, err := d.link()
	if err != nil {
		return err
	}
	if l == nil {
		return fmt.Errorf("%w: %s (no %s)", ErrNotFound, a, d.dummy)
	}
	err = d.nl.AddrDel(l, hostAddr(a))
	if errors.Is(err, unix.EADDRNOTAVAIL) {
		return fmt.Errorf("%w: %s: %w", ErrNotFound, a, err)
	}
	return kernelErr(err, ErrExists)
}

func (d *realDriver) delLink() error {
	l, err := d.link()
	if err != nil || l == nil {
		return err
	}
	d.linkCache = nil
	return d.nl.LinkDel(l)
}
