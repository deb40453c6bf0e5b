package ipvs

import (
	"net"
	"net/netip"
	"strings"

	"github.com/vishvananda/netlink"
	"golang.org/x/sys/unix"
)

// sets lists the ipsets whose names start with prefix, with their entries.
// A large set arrives in several messages: they are merged by name.
func (d *realDriver) sets(prefix string) ([]*IPSet, error) {
	all, err := d.nl.IpsetListAll()
	if err != nil {
		return nil, err
	}
	byName := map[string]*IPSet{}
	entries := map[*IPSet][]SetEntry{}
	var out []*IPSet
	for _, r := range all {
		if !strings.HasPrefix(r.SetName, prefix) {
			continue
		}
		s := byName[r.SetName]
		if s == nil {
			s = NewIPSet(r.SetName, SetType(r.TypeName), r.Family == unix.AF_INET6)
			byName[r.SetName] = s
			out = append(out, s)
		}
		if r.TypeName != "" {
			s.Type, s.IPv6 = SetType(r.TypeName), r.Family == unix.AF_INET6
		}
		if r.MaxElements != 0 {
			s.MaxElem = r.MaxElements
		}
		for _, e := range r.Entries {
			if se, ok := fromIPSetEntry(s.Type, e); ok {
				entries[s] = append(entries[s], se)
			}
		}
	}
	for s, es := range entries {
		s.Add(es...) // sorted once
	}
	return out, nil
}

// fromIPSetEntry converts a kernel entry of a set of type t.
func fromIPSetEntry(t SetType, e netlink.IPSetEntry) (SetEntry, bool) {
	a, ok := entryPrefix(e.IP, e.CIDR, t == HashNet)
	if !ok {
		return SetEntry{}, false
	}
	var proto Protocol
	var port uint16
	if t.hasPort() && e.Port != nil && e.Protocol != nil {
		proto, port = Protocol(*e.Protocol), *e.Port
	}
	var a2 netip.Prefix
	if t.hasSecond() {
		if a2, ok = entryPrefix(e.IP2, e.CIDR2, t == HashIPPortNet); !ok {
			return SetEntry{}, false
		}
	}
	return NewSetEntry(a, proto, port, a2), true
}

func entryPrefix(ip net.IP, cidr uint8, isNet bool) (netip.Prefix, bool) {
	a, ok := netip.AddrFromSlice(ip)
	if !ok {
		return netip.Prefix{}, false
	}
	a = a.Unmap()
	bits := a.BitLen()
	if isNet && cidr != 0 && int(cidr) < bits {
		bits = int(cidr)
	}
	return netip.PrefixFrom(a, bits).Masked(), true
}

func (d *realDriver) createSet(s *IPSet) error {
	fam := uint8(unix.AF_INET)
	if s.IPv6 {
		fam = unix.AF_INET6
	}
	err := d.nl.IpsetCreate(s.Name, string(s.Type), netlink.IpsetCreateOptions{Family: fam, MaxElements: s.maxElem()})
	return kernelErr(err, ErrExists)
}

func (d *realDriver) destroySet(name string) error {
	return kernelErr(d.nl.IpsetDestroy(name), ErrExists)
}

// toIPSetEntry converts an entry of a set of type t for the kernel.
func toIPSetEntry(t SetType, e SetEntry) *netlink.IPSetEntry {
	ne := &netlink.IPSetEntry{IP: net.IP(e.Addr().Addr().AsSlice())}
	if t == HashNet {
		ne.CIDR = uint8(e.Addr().Bits())
	}
	if t.hasPort() {
		proto, port := uint8(e.Protocol), e.Port
		ne.Protocol, ne.Port = &proto, &port
	}
	if t.hasSecond() {
		ne.IP2 = net.IP(e.Addr2().Addr().AsSlice())
		if t == HashIPPortNet {
			ne.CIDR2 = uint8(e.Addr2().Bits())
		}
	}
	return ne
}

func (d *realDriver) addEntry(s *IPSet, e SetEntry) error {
	return kernelErr(d.nl.IpsetAdd(s.Name, toIPSetEntry(s.Type, e)), ErrExists)
}

func (d *realDriver) delEntry(s *IPSet, e SetEntry) error {
	return kernelErr(d.nl.IpsetDel(s.Name, toIPSetEntry(s.Type, e)), ErrNotFound)
}
