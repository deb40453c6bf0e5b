package nftables

import (
	"errors"
	"fmt"
	"net/netip"
	"slices"
	"strconv"
	"strings"
	"unicode/utf8"
)

// ErrInvalid reports a malformed model object (bad name, value of the wrong
// type, missing field). Errors wrap it; test with errors.Is.
var ErrInvalid = errors.New("invalid nftables object")

// DataType is the type of a set key field or of a map's data.
type DataType uint8

// Data types.
const (
	TypeIPv4Addr    DataType = iota + 1 // ipv4_addr
	TypeIPv6Addr                        // ipv6_addr
	TypeInetProto                       // inet_proto
	TypeInetService                     // inet_service (a port)
	TypeMark                            // mark
	TypeIfname                          // ifname
	// TypeNumgen is the key of a map looked up by `numgen random mod N`. It is
	// declared as `typeof numgen random mod 1` whatever N the rules use (nft
	// only checks that the types agree), so a map need not be recreated when
	// its service's endpoint count changes.
	TypeNumgen
)

var typeNames = map[DataType]string{
	TypeIPv4Addr: "ipv4_addr", TypeIPv6Addr: "ipv6_addr", TypeInetProto: "inet_proto",
	TypeInetService: "inet_service", TypeMark: "mark", TypeIfname: "ifname", TypeNumgen: "numgen random mod 1",
}

// String returns the nft name of the type.
func (d DataType) String() string {
	if n, ok := typeNames[d]; ok {
		return n
	}
	return fmt.Sprintf("type(%d)", uint8(d))
}

// size is the type's length in bytes on the wire (unpadded).
func (d DataType) size() int {
	switch d {
	case TypeIPv4Addr, TypeMark, TypeNumgen:
		return 4
	case TypeIPv6Addr, TypeIfname:
		return 16
	case TypeInetProto:
		return 1
	case TypeInetService:
		return 2
	}
	return 0
}

// Value is one field of an element's key, or a data map's value. Build it
// with IP, Proto, Port, Mark, Int or Ifname; it is comparable.
type Value struct {
	typ  DataType
	addr netip.Addr
	bits int16 // prefix length of an interval-set element; -1 or full for an address
	num  uint32
	str  string
}

// IP is an ipv4_addr or ipv6_addr value (by the address's family; a 4in6 address is unmapped).
func IP(a netip.Addr) Value {
	a = a.Unmap()
	if a.Is6() {
		return Value{typ: TypeIPv6Addr, addr: a}
	}
	return Value{typ: TypeIPv4Addr, addr: a}
}

// Prefix is an address range for an interval set (flags interval), printed
// `10.0.0.0/8`; a full-length prefix is the same as IP(addr).
func Prefix(p netip.Prefix) Value {
	p = p.Masked()
	v := IP(p.Addr())
	if p.Bits() >= 0 && p.Bits() < p.Addr().BitLen() {
		v.bits = int16(p.Bits()) + 1 // stored +1 so that the zero Value is a plain address
	}
	return v
}

// IsPrefix reports whether the value is a shorter-than-full prefix.
func (v Value) IsPrefix() bool { return v.bits > 0 }

// Prefix returns the value as a prefix (full length for a plain address).
func (v Value) Prefix() netip.Prefix {
	if v.bits > 0 {
		return netip.PrefixFrom(v.addr, int(v.bits)-1)
	}
	return netip.PrefixFrom(v.addr, v.addr.BitLen())
}

// Proto is an inet_proto value (6 tcp, 17 udp, 132 sctp).
func Proto(p uint8) Value { return Value{typ: TypeInetProto, num: uint32(p)} }

// Port is an inet_service value.
func Port(p uint16) Value { return Value{typ: TypeInetService, num: uint32(p)} }

// Mark is a mark value.
func Mark(m uint32) Value { return Value{typ: TypeMark, num: m} }

// Int is the key of a numgen map: the endpoint's index.
func Int(n uint32) Value { return Value{typ: TypeNumgen, num: n} }

// Ifname is an interface-name value.
func Ifname(s string) Value { return Value{typ: TypeIfname, str: s} }

// Type returns the value's data type.
func (v Value) Type() DataType { return v.typ }

// Addr returns the address of an ipv4_addr/ipv6_addr value.
func (v Value) Addr() netip.Addr { return v.addr }

// Num returns the number of a proto, port, mark or numgen value.
func (v Value) Num() uint32 { return v.num }

var protoNames = map[uint8]string{1: "icmp", 6: "tcp", 17: "udp", 58: "ipv6-icmp", 132: "sctp"}

// ProtoName returns nft's name of an IP protocol ("tcp"), or its number.
func ProtoName(p uint8) string {
	if n, ok := protoNames[p]; ok {
		return n
	}
	return strconv.Itoa(int(p))
}

// String prints the value as nft lists it.
func (v Value) String() string {
	switch v.typ {
	case TypeIPv4Addr, TypeIPv6Addr:
		if v.bits > 0 {
			return v.Prefix().String()
		}
		return v.addr.String()
	case TypeInetProto:
		return ProtoName(uint8(v.num))
	case TypeInetService, TypeNumgen:
		return strconv.FormatUint(uint64(v.num), 10)
	case TypeMark:
		return fmt.Sprintf("0x%08x", v.num)
	case TypeIfname:
		return strconv.Quote(v.str)
	}
	return "?"
}

// bytes encodes the value as the kernel stores it in a key (unpadded).
func (v Value) bytes() []byte {
	switch v.typ {
	case TypeIPv4Addr, TypeIPv6Addr:
		return v.addr.AsSlice()
	case TypeInetProto:
		return []byte{byte(v.num)}
	case TypeInetService:
		return []byte{byte(v.num >> 8), byte(v.num)}
	case TypeMark, TypeNumgen: // host byte order, as the registers hold them
		return nativeUint32(v.num)
	case TypeIfname:
		b := make([]byte, 16)
		copy(b, v.str)
		return b
	}
	return nil
}

// valueFromBytes decodes one key field.
func valueFromBytes(t DataType, b []byte) (Value, error) {
	if len(b) < t.size() {
		return Value{}, fmt.Errorf("%w: %d bytes for %s", ErrInvalid, len(b), t)
	}
	b = b[:t.size()]
	switch t {
	case TypeIPv4Addr, TypeIPv6Addr:
		a, _ := netip.AddrFromSlice(b)
		return Value{typ: t, addr: a}, nil
	case TypeInetProto:
		return Proto(b[0]), nil
	case TypeInetService:
		return Port(uint16(b[0])<<8 | uint16(b[1])), nil
	case TypeMark, TypeNumgen:
		return Value{typ: t, num: nativeToUint32(b)}, nil
	case TypeIfname:
		return Ifname(strings.TrimRight(string(b), "\x00")), nil
	}
	return Value{}, fmt.Errorf("%w: unknown data type %d", ErrInvalid, t)
}

// keyBytes encodes a concatenated key: each field padded to 4 bytes.
func keyBytes(key []Value) []byte {
	var out []byte
	for _, v := range key {
		b := v.bytes()
		out = append(out, b...)
		if len(key) > 1 {
			for len(b)%4 != 0 {
				out = append(out, 0)
				b = append(b, 0)
			}
		}
	}
	return out
}

// keyString is the element's identity within its set.
func keyString(key []Value) string {
	parts := make([]string, len(key))
	for i, v := range key {
		parts[i] = v.String()
	}
	return strings.Join(parts, " . ")
}

// nameChars are the bytes a name may hold (ASCII only).
var nameChars = func() (t [256]bool) {
	for c := range 256 {
		t[c] = c == '-' || c == '_' || c == '.' || c == '/' || c == ':' || (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z')
	}
	return t
}()

func validName(what, name string) error {
	if name == "" || len(name) > 255 {
		return fmt.Errorf("%w: %s name %q: empty or longer than 255 bytes", ErrInvalid, what, name)
	}
	for i := 0; i < len(name); i++ {
		if !nameChars[name[i]] {
			r, _ := utf8.DecodeRuneInString(name[i:])
			return fmt.Errorf("%w: %s name %q: character %q not allowed", ErrInvalid, what, name, r)
		}
	}
	if c := name[0]; !((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z')) {
		return fmt.Errorf("%w: %s name %q must start with a letter", ErrInvalid, what, name)
	}
	return nil
}

// validComment accepts what nft can print and parse back: at most 128
// bytes, no double quote, backslash or control character.
func validComment(c string) error {
	if c == "" {
		return nil
	}
	if len(c) > 128 || strings.ContainsAny(c, "\"\\") || strings.ContainsFunc(c, func(r rune) bool { return r < 0x20 || r == 0x7f }) {
		return fmt.Errorf("%w: comment %q: longer than 128 bytes or holds a quote, backslash or control character", ErrInvalid, c)
	}
	return nil
}

// Validate checks the set's definition and that every element matches it.
func (s *Set) Validate() error {
	if err := validName("set", s.Name); err != nil {
		return err
	}
	if err := validComment(s.Comment); err != nil {
		return err
	}
	if len(s.Key) == 0 || len(s.Key) > 5 {
		return fmt.Errorf("%w: set %q: key needs 1 to 5 fields", ErrInvalid, s.Name)
	}
	for _, k := range s.Key {
		if k.size() == 0 || (k == TypeNumgen && len(s.Key) > 1) {
			return fmt.Errorf("%w: set %q: bad key type %s", ErrInvalid, s.Name, k)
		}
	}
	if s.Verdict && s.Data != 0 {
		return fmt.Errorf("%w: set %q: both a verdict and a data map", ErrInvalid, s.Name)
	}
	if s.Interval && (len(s.Key) != 1 || (s.Key[0] != TypeIPv4Addr && s.Key[0] != TypeIPv6Addr) || s.Verdict || s.Data != 0 || s.Dynamic) {
		return fmt.Errorf("%w: set %q: interval sets here are plain sets of one address field", ErrInvalid, s.Name)
	}
	for i := range s.Elements {
		if err := s.checkElement(&s.Elements[i]); err != nil {
			return err
		}
	}
	if s.Interval {
		return checkDisjoint(s)
	}
	return nil
}

// checkDisjoint rejects overlapping or adjacent ranges in an interval set
// (nft would merge them; the kernel refuses overlaps).
func checkDisjoint(s *Set) error {
	ps := make([]netip.Prefix, len(s.Elements))
	for i, e := range s.Elements {
		ps[i] = e.Key[0].Prefix()
	}
	slices.SortFunc(ps, func(a, b netip.Prefix) int { return a.Addr().Compare(b.Addr()) })
	for i := 1; i < len(ps); i++ {
		end, ok := rangeEnd(ps[i-1])
		if ps[i-1].Overlaps(ps[i]) || ok && end == ps[i].Addr() {
			return fmt.Errorf("%w: set %q: ranges %v and %v overlap or touch", ErrInvalid, s.Name, ps[i-1], ps[i])
		}
	}
	return nil
}

// rangeEnd returns the first address after p, and false when p reaches the
// end of the address space.
func rangeEnd(p netip.Prefix) (netip.Addr, bool) {
	last := netip.PrefixFrom(allOnes(p.Addr().Is6()), p.Bits()).Masked().Addr().AsSlice()
	a := p.Addr().AsSlice()
	for i := range a {
		a[i] |= ^last[i]
	}
	end, _ := netip.AddrFromSlice(a)
	next := end.Next()
	return next, next.IsValid()
}

func (s *Set) checkElement(e *Element) error {
	if err := validComment(e.Comment); err != nil {
		return err
	}
	if len(e.Key) != len(s.Key) {
		return fmt.Errorf("%w: set %q: element %s has %d key fields, want %d", ErrInvalid, s.Name, keyString(e.Key), len(e.Key), len(s.Key))
	}
	for i, v := range e.Key {
		if v.IsPrefix() && !s.Interval {
			return fmt.Errorf("%w: set %q: element %s is a prefix but the set lacks flags interval", ErrInvalid, s.Name, keyString(e.Key))
		}
		if v.typ != s.Key[i] {
			return fmt.Errorf("%w: set %q: element %s: field %d is %s, want %s", ErrInvalid, s.Name, keyString(e.Key), i, v.typ, s.Key[i])
		}
	}
	switch {
	case s.Verdict && (e.Verdict == nil || e.Verdict.Kind == 0):
		return fmt.Errorf("%w: map %q: element %s lacks a verdict", ErrInvalid, s.Name, keyString(e.Key))
	case s.Data != 0 && (e.Data == nil || e.Data.typ != s.Data):
		return fmt.Errorf("%w: map %q: element %s lacks %s data", ErrInvalid, s.Name, keyString(e.Key), s.Data)
	case e.Timeout != 0 && !s.Timeout:
		return fmt.Errorf("%w: set %q: element %s has a timeout but the set lacks flags timeout", ErrInvalid, s.Name, keyString(e.Key))
	}
	return nil
}

func (s *Set) size() uint32 {
	if s.Size == 0 && s.Dynamic {
		return 65535
	}
	return s.Size
}
