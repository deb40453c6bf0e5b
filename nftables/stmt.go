package nftables

import (
	"encoding/binary"
	"fmt"
	"net/netip"
	"strconv"
	"strings"
	"time"
)

// Stmt is one statement of a rule. Its String is the statement in nft syntax,
// as `nft list` prints it back.
type Stmt interface {
	String() string
	stmt()
}

// Field is a packet field a match, a lookup key or a set update reads.
type Field uint8

// Fields.
const (
	IPSAddr  Field = iota + 1 // ip saddr
	IPDAddr                   // ip daddr
	IP6SAddr                  // ip6 saddr
	IP6DAddr                  // ip6 daddr
	L4Proto                   // meta l4proto
	THDPort                   // th dport
)

var fieldNames = map[Field]string{
	IPSAddr: "ip saddr", IPDAddr: "ip daddr", IP6SAddr: "ip6 saddr", IP6DAddr: "ip6 daddr",
	L4Proto: "meta l4proto", THDPort: "th dport",
}

func (f Field) String() string {
	if n, ok := fieldNames[f]; ok {
		return n
	}
	return fmt.Sprintf("field(%d)", uint8(f))
}

func (f Field) dataType() DataType {
	switch f {
	case IPSAddr, IPDAddr:
		return TypeIPv4Addr
	case IP6SAddr, IP6DAddr:
		return TypeIPv6Addr
	case L4Proto:
		return TypeInetProto
	case THDPort:
		return TypeInetService
	}
	return 0
}

func fieldsString(keys []Field) string {
	parts := make([]string, len(keys))
	for i, k := range keys {
		parts[i] = k.String()
	}
	return strings.Join(parts, " . ")
}

func neq(neg bool) string {
	if neg {
		return "!= "
	}
	return ""
}

// MatchAddr matches an address field against an address or a prefix:
// `ip saddr 10.0.0.0/8`, `ip6 daddr != fd00::1`.
type MatchAddr struct {
	Field  Field // IPSAddr, IPDAddr, IP6SAddr or IP6DAddr
	Neg    bool
	Prefix netip.Prefix // a single address is a full-length prefix
}

func (m MatchAddr) String() string {
	p := m.Prefix.Masked()
	s := p.String()
	if p.IsSingleIP() {
		s = p.Addr().String()
	}
	return m.Field.String() + " " + neq(m.Neg) + s
}

// MatchProto matches the transport protocol: `meta l4proto tcp`.
type MatchProto struct {
	Proto uint8
	Neg   bool
}

func (m MatchProto) String() string { return "meta l4proto " + neq(m.Neg) + ProtoName(m.Proto) }

// MatchPort matches the destination port, `tcp dport 80` when Proto is set
// (which also matches the protocol), `th dport 80` when it is zero.
type MatchPort struct {
	Proto uint8
	Port  uint16
	Neg   bool
}

func (m MatchPort) String() string {
	p := "th"
	if m.Proto != 0 {
		p = ProtoName(m.Proto)
	}
	return p + " dport " + neq(m.Neg) + strconv.Itoa(int(m.Port))
}

// MatchLocalDaddr matches `fib daddr type local` (a destination this host owns).
type MatchLocalDaddr struct{ Neg bool }

func (m MatchLocalDaddr) String() string { return "fib daddr type " + neq(m.Neg) + "local" }

// MatchLocalSaddr matches `fib saddr type local` (a source address this host
// owns: traffic the node itself sends).
type MatchLocalSaddr struct{ Neg bool }

func (m MatchLocalSaddr) String() string { return "fib saddr type " + neq(m.Neg) + "local" }

// MatchIfname matches the input (Out false) or output interface name; a
// trailing "*" matches a prefix: `iifname "veth*"`.
type MatchIfname struct {
	Out  bool
	Name string
	Neg  bool
}

func (m MatchIfname) String() string {
	k := "iifname "
	if m.Out {
		k = "oifname "
	}
	return k + neq(m.Neg) + strconv.Quote(m.Name)
}

// Conntrack states for MatchCtState.
const (
	CtInvalid     uint32 = 1
	CtEstablished uint32 = 2
	CtRelated     uint32 = 4
	CtNew         uint32 = 8
	CtUntracked   uint32 = 64
)

var ctStateNames = []struct {
	bit  uint32
	name string
}{{CtInvalid, "invalid"}, {CtEstablished, "established"}, {CtRelated, "related"}, {CtNew, "new"}, {CtUntracked, "untracked"}}

// MatchCtState matches any of the conntrack states in States (a bit set of
// Ct* values): `ct state established,related`; Neg matches none of them.
type MatchCtState struct {
	States uint32
	Neg    bool
}

func (m MatchCtState) String() string {
	var names []string
	for _, s := range ctStateNames {
		if m.States&s.bit != 0 {
			names = append(names, s.name)
		}
	}
	neg := ""
	if m.Neg {
		neg = "! "
	}
	return "ct state " + neg + strings.Join(names, ",")
}

// MatchMark matches the packet mark: `meta mark & Mask == Value`, or
// `meta mark Value` when Mask is zero or all ones.
type MatchMark struct {
	Mask, Value uint32
	Neg         bool
}

func (m MatchMark) full() bool { return m.Mask == 0 || m.Mask == ^uint32(0) }

func (m MatchMark) String() string {
	if m.full() {
		return fmt.Sprintf("meta mark %s0x%08x", neq(m.Neg), m.Value)
	}
	op := "=="
	if m.Neg {
		op = "!="
	}
	return fmt.Sprintf("meta mark & 0x%08x %s 0x%08x", m.Mask, op, m.Value)
}

// MarkOp is how SetMark changes the mark.
type MarkOp uint8

// Mark operations.
const (
	MarkSet MarkOp = iota // meta mark set V
	MarkOr                // meta mark set meta mark | V
	MarkXor               // meta mark set meta mark ^ V
	MarkAnd               // meta mark set meta mark & V
)

// SetMark sets the packet mark.
type SetMark struct {
	Op    MarkOp
	Value uint32
}

func (m SetMark) String() string {
	ops := map[MarkOp]string{MarkOr: "|", MarkXor: "^", MarkAnd: "&"}
	if op, ok := ops[m.Op]; ok {
		return fmt.Sprintf("meta mark set meta mark %s 0x%08x", op, m.Value)
	}
	return fmt.Sprintf("meta mark set 0x%08x", m.Value)
}

func (v Verdict) String() string {
	switch v.Kind {
	case VerdictAccept:
		return "accept"
	case VerdictDrop:
		return "drop"
	case VerdictReturn:
		return "return"
	case VerdictJump:
		return "jump " + v.Chain
	case VerdictGoto:
		return "goto " + v.Chain
	}
	return "verdict(?)"
}

// Lookup matches when the key built from Keys is (Neg: is not) in Set:
// `ip saddr @affinity`, `ip daddr . meta l4proto . th dport @cluster-ips`.
type Lookup struct {
	Keys []Field
	Set  string
	Neg  bool
}

func (l Lookup) String() string { return fieldsString(l.Keys) + " " + neq(l.Neg) + "@" + l.Set }

// VMap jumps through a verdict map keyed by Keys:
// `ip daddr . meta l4proto . th dport vmap @services`.
type VMap struct {
	Keys []Field
	Map  string
}

func (v VMap) String() string { return fieldsString(v.Keys) + " vmap @" + v.Map }

// NumgenVMap picks an entry of a named numgen map (key type TypeNumgen) at
// random: `numgen random mod 3 vmap @endpoints-xyz`.
type NumgenVMap struct {
	Mod uint32
	Map string
}

func (n NumgenVMap) String() string {
	return fmt.Sprintf("numgen random mod %d vmap @%s", n.Mod, n.Map)
}

// DNAT rewrites the destination: `dnat to 10.0.0.1:80`, `dnat to [fd00::1]:80`
// (a Port needs a preceding protocol match, as nft requires). In an inet
// table it prints `dnat ip to ...`.
type DNAT struct {
	Addr netip.Addr
	Port uint16 // 0 keeps the port
}

func (d DNAT) String() string { return d.format(0) }

func (d DNAT) format(fam Family) string {
	a := d.Addr.Unmap()
	s := a.String()
	if d.Port != 0 {
		s = netip.AddrPortFrom(a, d.Port).String()
	}
	kw := "dnat to "
	if fam == FamilyInet {
		kw = "dnat ip to "
		if a.Is6() {
			kw = "dnat ip6 to "
		}
	}
	return kw + s
}

// Masquerade source-NATs to the outgoing interface's address.
type Masquerade struct{ FullyRandom bool }

func (m Masquerade) String() string {
	if m.FullyRandom {
		return "masquerade fully-random"
	}
	return "masquerade"
}

// RejectType selects the reply a Reject sends.
type RejectType uint8

// Reject types. RejectDefault is nft's plain `reject` (ICMP port unreachable
// for the table's family).
const (
	RejectDefault RejectType = iota
	RejectICMP
	RejectICMPv6
	RejectICMPX // only in inet tables
	RejectTCPReset
)

var rejectCodes = map[RejectType]map[string]uint8{
	RejectICMP: {"net-unreachable": 0, "host-unreachable": 1, "prot-unreachable": 2, "port-unreachable": 3,
		"net-prohibited": 9, "host-prohibited": 10, "admin-prohibited": 13},
	RejectICMPv6: {"no-route": 0, "admin-prohibited": 1, "addr-unreachable": 3, "port-unreachable": 4,
		"policy-fail": 5, "reject-route": 6},
	RejectICMPX: {"no-route": 0, "port-unreachable": 1, "host-unreachable": 2, "admin-prohibited": 3},
}

// Reject rejects the packet: `reject`, `reject with icmp host-unreachable`,
// `reject with tcp reset`.
type Reject struct {
	Type RejectType
	Code string // a name from nft's list for Type, e.g. "admin-prohibited"
}

func (r Reject) String() string {
	switch r.Type {
	case RejectICMP:
		return "reject with icmp " + r.Code
	case RejectICMPv6:
		return "reject with icmpv6 " + r.Code
	case RejectICMPX:
		return "reject with icmpx " + r.Code
	case RejectTCPReset:
		return "reject with tcp reset"
	}
	return "reject"
}

// canonical folds the explicit spelling of the family's default into RejectDefault.
func (r Reject) canonical(fam Family) Reject {
	if (fam == FamilyIPv4 && r.Type == RejectICMP || fam == FamilyIPv6 && r.Type == RejectICMPv6) && r.Code == "port-unreachable" {
		return Reject{}
	}
	return r
}

// Counter counts packets and bytes (the normaliser drops the figures).
type Counter struct{}

func (Counter) String() string { return "counter" }

// UpdateSet adds or refreshes the key built from Keys in a dynamic set:
// `update @affinity-xyz { ip saddr timeout 3h }`.
type UpdateSet struct {
	Keys    []Field
	Set     string
	Timeout time.Duration
}

func (u UpdateSet) String() string {
	t := ""
	if u.Timeout > 0 {
		t = " timeout " + FormatDuration(u.Timeout)
	}
	return fmt.Sprintf("update @%s { %s%s }", u.Set, fieldsString(u.Keys), t)
}

// Unknown stands for kernel expressions the decoder did not recognise; a rule
// holding one never equals a rule of the model, so Diff rewrites its chain.
type Unknown struct{ Desc string }

func (u Unknown) String() string { return "unknown(" + u.Desc + ")" }

func (MatchAddr) stmt()       {}
func (MatchProto) stmt()      {}
func (MatchPort) stmt()       {}
func (MatchLocalDaddr) stmt() {}
func (MatchLocalSaddr) stmt() {}
func (MatchIfname) stmt()     {}
func (MatchCtState) stmt()    {}
func (MatchMark) stmt()       {}
func (SetMark) stmt()         {}
func (Verdict) stmt()         {}
func (Lookup) stmt()          {}
func (VMap) stmt()            {}
func (NumgenVMap) stmt()      {}
func (DNAT) stmt()            {}
func (Masquerade) stmt()      {}
func (Reject) stmt()          {}
func (Counter) stmt()         {}
func (UpdateSet) stmt()       {}
func (Unknown) stmt()         {}

// FormatDuration prints a duration as nft does: "3h", "1h30m", "10s", "1d2h", "500ms".
func FormatDuration(d time.Duration) string {
	if d <= 0 {
		return "0s"
	}
	ms := d.Milliseconds()
	units := []struct {
		n    int64
		name string
	}{{86400000, "d"}, {3600000, "h"}, {60000, "m"}, {1000, "s"}, {1, "ms"}}
	var b strings.Builder
	for _, u := range units {
		if ms >= u.n {
			fmt.Fprintf(&b, "%d%s", ms/u.n, u.name)
			ms %= u.n
		}
	}
	return b.String()
}

func nativeUint32(v uint32) []byte { return binary.NativeEndian.AppendUint32(nil, v) }

func nativeToUint32(b []byte) uint32 { return binary.NativeEndian.Uint32(b) }
