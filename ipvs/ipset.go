package ipvs

import (
	"encoding/binary"
	"fmt"
	"iter"
	"net/netip"
	"slices"
	"strconv"
	"strings"
)

// SetType is an ipset type this package programs.
type SetType string

// The supported ipset types: what kube-proxy's IPVS mode needs.
const (
	HashIP        SetType = "hash:ip"
	HashNet       SetType = "hash:net"
	HashIPPort    SetType = "hash:ip,port"
	HashIPPortIP  SetType = "hash:ip,port,ip"
	HashIPPortNet SetType = "hash:ip,port,net"
)

// hasPort reports whether entries of t carry a protocol and port.
func (t SetType) hasPort() bool {
	return t == HashIPPort || t == HashIPPortIP || t == HashIPPortNet
}

// hasSecond reports whether entries of t carry a second address.
func (t SetType) hasSecond() bool { return t == HashIPPortIP || t == HashIPPortNet }

// valid reports whether t is supported.
func (t SetType) valid() bool {
	switch t {
	case HashIP, HashNet, HashIPPort, HashIPPortIP, HashIPPortNet:
		return true
	}
	return false
}

// IPSet is a named set of one family and type, with its entries. Add,
// Delete, Has, Len and All reach the entries; Sorted lists them.
type IPSet struct {
	Name    string // at most 31 bytes, no white space
	Type    SetType
	IPv6    bool   // family inet6 instead of inet
	MaxElem uint32 // 0 means the kernel default (65536)
	entries entrySet
}

// NewIPSet returns an empty set.
func NewIPSet(name string, typ SetType, ipv6 bool) *IPSet {
	return &IPSet{Name: name, Type: typ, IPv6: ipv6}
}

// Add inserts entries. A batch of many (as read from a kernel) is sorted
// and merged in at once.
func (s *IPSet) Add(es ...SetEntry) {
	if len(es) >= bulkMin {
		s.entries.union(slices.Clone(es))
		return
	}
	for _, e := range es {
		s.entries.insert(e)
	}
}

// Delete removes entries.
func (s *IPSet) Delete(es ...SetEntry) {
	for _, e := range es {
		s.entries.remove(e)
	}
}

// Has reports whether e is an entry of s.
func (s *IPSet) Has(e SetEntry) bool { return s.entries.has(e) }

// Len returns the number of entries.
func (s *IPSet) Len() int { return s.entries.len() }

// All yields the entries in order.
func (s *IPSet) All() iter.Seq[SetEntry] { return slices.Values(s.entries.view()) }

// SameSpec reports whether s and o have the same name, type, family and size.
func (s *IPSet) SameSpec(o *IPSet) bool {
	return s.Name == o.Name && s.Type == o.Type && s.IPv6 == o.IPv6 && s.maxElem() == o.maxElem()
}

func (s *IPSet) maxElem() uint32 {
	if s.MaxElem == 0 {
		return 65536
	}
	return s.MaxElem
}

// Equal reports whether s and o have the same spec and entries.
func (s *IPSet) Equal(o *IPSet) bool {
	return s.SameSpec(o) && s.entries.equal(&o.entries)
}

// Clone returns a deep copy of s (which shares the sorted entries, that
// neither ever writes).
func (s *IPSet) Clone() *IPSet {
	c := *s
	c.entries = s.entries.clone()
	return &c
}

// Spec returns a copy of s without entries.
func (s *IPSet) Spec() *IPSet {
	c := *s
	c.entries = entrySet{}
	return &c
}

// Sorted returns the entries in order, in a new slice.
func (s *IPSet) Sorted() []SetEntry { return slices.Clone(s.entries.view()) }

// SetEntry is one member of an ipset. Which parts count depends on the type:
// hash:ip uses Addr (a full-length prefix), hash:net Addr (any prefix),
// hash:ip,port Addr, Protocol and Port, hash:ip,port,ip and hash:ip,port,net
// also Addr2. It is a compact value without pointers (40 bytes), cheap to
// hash, compare and sort: sets hold an entry per endpoint.
type SetEntry struct {
	hi, lo, hi2, lo2 uint64 // the addresses' As16 bytes as big-endian halves
	fam, bits        uint8  // first address: 0 (none), 4 or 6; prefix length
	Protocol         Protocol
	Port             uint16
	fam2, bits2      uint8 // second address
}

// NewSetEntry returns an entry of address addr (a prefix; invalid for none),
// protocol and port (zero for none) and second address addr2 (invalid for
// none). The prefixes are masked.
func NewSetEntry(addr netip.Prefix, proto Protocol, port uint16, addr2 netip.Prefix) SetEntry {
	e := SetEntry{Protocol: proto, Port: port}
	e.hi, e.lo, e.bits, e.fam = packPrefix(addr)
	e.hi2, e.lo2, e.bits2, e.fam2 = packPrefix(addr2)
	return e
}

func packPrefix(p netip.Prefix) (hi, lo uint64, bits, fam uint8) {
	if !p.IsValid() {
		return 0, 0, 0, 0
	}
	p = p.Masked()
	a := p.Addr().As16()
	fam = 6
	if p.Addr().Is4() {
		fam = 4
	}
	return binary.BigEndian.Uint64(a[:8]), binary.BigEndian.Uint64(a[8:]), uint8(p.Bits()), fam
}

func unpackPrefix(hi, lo uint64, bits, fam uint8) netip.Prefix {
	var a [16]byte
	binary.BigEndian.PutUint64(a[:8], hi)
	binary.BigEndian.PutUint64(a[8:], lo)
	switch fam {
	case 4:
		return netip.PrefixFrom(netip.AddrFrom16(a).Unmap(), int(bits))
	case 6:
		return netip.PrefixFrom(netip.AddrFrom16(a), int(bits))
	}
	return netip.Prefix{}
}

// Addr returns the entry's (first) address, as a prefix.
func (e SetEntry) Addr() netip.Prefix { return unpackPrefix(e.hi, e.lo, e.bits, e.fam) }

// Addr2 returns the entry's second address, as a prefix; invalid for none.
func (e SetEntry) Addr2() netip.Prefix { return unpackPrefix(e.hi2, e.lo2, e.bits2, e.fam2) }

// WithAddr2 returns e with the second address p (masked).
func (e SetEntry) WithAddr2(p netip.Prefix) SetEntry {
	e.hi2, e.lo2, e.bits2, e.fam2 = packPrefix(p)
	return e
}

// hostWords packs an address as a full-length prefix (as packPrefix does,
// without building one).
func hostWords(a netip.Addr) (hi, lo uint64, bits, fam uint8) {
	if !a.IsValid() {
		return 0, 0, 0, 0
	}
	b := a.As16()
	bits, fam = 128, 6
	if a.Is4() {
		bits, fam = 32, 4
	}
	return binary.BigEndian.Uint64(b[:8]), binary.BigEndian.Uint64(b[8:]), bits, fam
}

// HostEntry returns a hash:ip entry.
func HostEntry(a netip.Addr) SetEntry {
	var e SetEntry
	e.hi, e.lo, e.bits, e.fam = hostWords(a)
	return e
}

// NetEntry returns a hash:net entry.
func NetEntry(p netip.Prefix) SetEntry { return NewSetEntry(p, 0, 0, netip.Prefix{}) }

// PortEntry returns a hash:ip,port entry.
func PortEntry(a netip.Addr, proto Protocol, port uint16) SetEntry {
	e := SetEntry{Protocol: proto, Port: port}
	e.hi, e.lo, e.bits, e.fam = hostWords(a)
	return e
}

// PortIPEntry returns a hash:ip,port,ip entry.
func PortIPEntry(a netip.Addr, proto Protocol, port uint16, a2 netip.Addr) SetEntry {
	e := PortEntry(a, proto, port)
	e.hi2, e.lo2, e.bits2, e.fam2 = hostWords(a2)
	return e
}

// PortNetEntry returns a hash:ip,port,net entry.
func PortNetEntry(a netip.Addr, proto Protocol, port uint16, p netip.Prefix) SetEntry {
	return PortEntry(a, proto, port).WithAddr2(p)
}

// String prints the entry as ipset does: "10.96.0.1,tcp:443",
// "10.0.0.0/8", "10.0.0.10,tcp:30080,10.244.1.5".
func (e SetEntry) String() string {
	var b strings.Builder
	b.WriteString(prefixText(e.Addr()))
	if e.Protocol != 0 {
		b.WriteString("," + strings.ToLower(e.Protocol.String()) + ":" + strconv.Itoa(int(e.Port)))
	}
	if e.fam2 != 0 {
		b.WriteString("," + prefixText(e.Addr2()))
	}
	return b.String()
}

// prefixText prints a full-length prefix as a bare address.
func prefixText(p netip.Prefix) string {
	if p.Bits() == p.Addr().BitLen() {
		return p.Addr().String()
	}
	return p.String()
}

// ParseSetEntry reads an entry of a set of type t, as ipset prints it.
func ParseSetEntry(t SetType, s string) (SetEntry, error) {
	parts := strings.Split(s, ",")
	want := 1
	if t.hasPort() {
		want = 2
	}
	if t.hasSecond() {
		want = 3
	}
	if len(parts) != want {
		return SetEntry{}, fmt.Errorf("ipset entry %q: want %d comma-separated parts for %s", s, want, t)
	}
	var e SetEntry
	addr, err := parsePrefixOrAddr(parts[0], t == HashNet)
	if err != nil {
		return SetEntry{}, fmt.Errorf("ipset entry %q: %w", s, err)
	}
	if t.hasPort() {
		proto, port, ok := strings.Cut(parts[1], ":")
		n, perr := strconv.ParseUint(port, 10, 16)
		e.Protocol = protocolByName(proto)
		if !ok || perr != nil || e.Protocol == 0 {
			return SetEntry{}, fmt.Errorf("ipset entry %q: bad proto:port %q", s, parts[1])
		}
		e.Port = uint16(n)
	}
	var addr2 netip.Prefix
	if t.hasSecond() {
		if addr2, err = parsePrefixOrAddr(parts[2], t == HashIPPortNet); err != nil {
			return SetEntry{}, fmt.Errorf("ipset entry %q: %w", s, err)
		}
	}
	return NewSetEntry(addr, e.Protocol, e.Port, addr2), nil
}

func parsePrefixOrAddr(s string, netOK bool) (netip.Prefix, error) {
	if strings.Contains(s, "/") {
		if !netOK {
			return netip.Prefix{}, fmt.Errorf("%q: a network where an address is expected", s)
		}
		p, err := netip.ParsePrefix(s)
		return p.Masked(), err
	}
	a, err := netip.ParseAddr(s)
	if err != nil {
		return netip.Prefix{}, err
	}
	return netip.PrefixFrom(a.Unmap(), a.Unmap().BitLen()), nil
}

// protocolByName maps "tcp", "udp", "sctp" (any case) to a Protocol, else 0.
func protocolByName(s string) Protocol {
	switch strings.ToLower(s) {
	case "tcp":
		return TCP
	case "udp":
		return UDP
	case "sctp":
		return SCTP
	}
	return 0
}
