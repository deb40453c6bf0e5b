package nftables

import (
	"encoding/binary"
	"fmt"
	"net/netip"

	"github.com/google/nftables/expr"
	"golang.org/x/sys/unix"
)

// compileRule turns a rule into kernel expressions, as nft would generate them.
func compileRule(fam Family, r Rule) ([]expr.Any, error) {
	if err := validComment(r.Comment); err != nil {
		return nil, err
	}
	var out []expr.Any
	for _, s := range r.Stmts {
		if fam == FamilyInet && needsNfproto(s) {
			// nft would add a `meta nfproto` dependency; this package does not
			// generate one, so address matches and dnat need ip/ip6 tables.
			return nil, fmt.Errorf("%w: statement %q needs an ip or ip6 table", ErrInvalid, s)
		}
		ex, err := compileStmt(fam, s)
		if err != nil {
			return nil, fmt.Errorf("%w: statement %q: %v", ErrInvalid, s, err)
		}
		out = append(out, ex...)
	}
	return out, nil
}

func needsNfproto(s Stmt) bool {
	var fields []Field
	switch s := s.(type) {
	case MatchAddr:
		fields = []Field{s.Field}
	case Lookup:
		fields = s.Keys
	case VMap:
		fields = s.Keys
	case UpdateSet:
		fields = s.Keys
	case DNAT:
		return true
	}
	for _, f := range fields {
		if f != L4Proto && f != THDPort {
			return true
		}
	}
	return false
}

type fieldLoad struct {
	base       expr.PayloadBase
	offset, ln uint32
	meta       bool
}

var fieldLoads = map[Field]fieldLoad{
	IPSAddr:  {expr.PayloadBaseNetworkHeader, 12, 4, false},
	IPDAddr:  {expr.PayloadBaseNetworkHeader, 16, 4, false},
	IP6SAddr: {expr.PayloadBaseNetworkHeader, 8, 16, false},
	IP6DAddr: {expr.PayloadBaseNetworkHeader, 24, 16, false},
	L4Proto:  {meta: true, ln: 1},
	THDPort:  {expr.PayloadBaseTransportHeader, 2, 2, false},
}

func loadField(f Field, reg uint32) (expr.Any, error) {
	l, ok := fieldLoads[f]
	if !ok {
		return nil, fmt.Errorf("unknown field %d", f)
	}
	if l.meta {
		return &expr.Meta{Key: expr.MetaKeyL4PROTO, Register: reg}, nil
	}
	return &expr.Payload{OperationType: expr.PayloadLoad, DestRegister: reg, Base: l.base, Offset: l.offset, Len: l.ln}, nil
}

// loadKeys loads a (possibly concatenated) key starting at register 1, using
// 32-bit registers for the later fields as nft does.
func loadKeys(keys []Field) ([]expr.Any, error) {
	var out []expr.Any
	words := uint32(0)
	for i, f := range keys {
		reg := uint32(unix.NFT_REG_1)
		if i > 0 {
			reg = unix.NFT_REG32_00 + words
		}
		e, err := loadField(f, reg)
		if err != nil {
			return nil, err
		}
		out = append(out, e)
		words += (fieldLoads[f].ln + 3) / 4
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("empty key")
	}
	return out, nil
}

func cmpOp(neg bool) expr.CmpOp {
	if neg {
		return expr.CmpOpNeq
	}
	return expr.CmpOpEq
}

func compileStmt(fam Family, s Stmt) ([]expr.Any, error) {
	switch s := s.(type) {
	case MatchAddr:
		return compileAddr(s)
	case MatchProto:
		return []expr.Any{&expr.Meta{Key: expr.MetaKeyL4PROTO, Register: 1}, &expr.Cmp{Op: cmpOp(s.Neg), Register: 1, Data: []byte{s.Proto}}}, nil
	case MatchPort:
		var out []expr.Any
		if s.Proto != 0 {
			out = append(out, &expr.Meta{Key: expr.MetaKeyL4PROTO, Register: 1}, &expr.Cmp{Op: expr.CmpOpEq, Register: 1, Data: []byte{s.Proto}})
		}
		return append(out, &expr.Payload{OperationType: expr.PayloadLoad, DestRegister: 1, Base: expr.PayloadBaseTransportHeader, Offset: 2, Len: 2},
			&expr.Cmp{Op: cmpOp(s.Neg), Register: 1, Data: binary.BigEndian.AppendUint16(nil, s.Port)}), nil
	case MatchLocalDaddr:
		return []expr.Any{&expr.Fib{Register: 1, FlagDADDR: true, ResultADDRTYPE: true},
			&expr.Cmp{Op: cmpOp(s.Neg), Register: 1, Data: nativeUint32(unix.RTN_LOCAL)}}, nil
	case MatchLocalSaddr:
		return []expr.Any{&expr.Fib{Register: 1, FlagSADDR: true, ResultADDRTYPE: true},
			&expr.Cmp{Op: cmpOp(s.Neg), Register: 1, Data: nativeUint32(unix.RTN_LOCAL)}}, nil
	case MatchIfname:
		return compileIfname(s)
	case MatchCtState:
		op := expr.CmpOpNeq
		if s.Neg {
			op = expr.CmpOpEq
		}
		return []expr.Any{&expr.Ct{Key: expr.CtKeySTATE, Register: 1},
			&expr.Bitwise{SourceRegister: 1, DestRegister: 1, Len: 4, Mask: nativeUint32(s.States), Xor: make([]byte, 4)},
			&expr.Cmp{Op: op, Register: 1, Data: make([]byte, 4)}}, nil
	case MatchMark:
		out := []expr.Any{&expr.Meta{Key: expr.MetaKeyMARK, Register: 1}}
		if !s.full() {
			out = append(out, &expr.Bitwise{SourceRegister: 1, DestRegister: 1, Len: 4, Mask: nativeUint32(s.Mask), Xor: make([]byte, 4)})
		}
		return append(out, &expr.Cmp{Op: cmpOp(s.Neg), Register: 1, Data: nativeUint32(s.Value)}), nil
	case SetMark:
		return compileSetMark(s)
	case Verdict:
		return compileVerdict(s)
	case Lookup, VMap, UpdateSet:
		return compileSetStmt(s)
	case NumgenVMap:
		if s.Mod == 0 {
			return nil, fmt.Errorf("numgen mod 0")
		}
		return []expr.Any{&expr.Numgen{Register: 1, Modulus: s.Mod, Type: unix.NFT_NG_RANDOM},
			&expr.Lookup{SourceRegister: 1, SetName: s.Map, IsDestRegSet: true, DestRegister: 0}}, nil
	case DNAT:
		return compileDNAT(fam, s)
	case Masquerade:
		return []expr.Any{&expr.Masq{FullyRandom: s.FullyRandom}}, nil
	case Reject:
		return compileReject(fam, s)
	case Counter:
		return []expr.Any{&expr.Counter{}}, nil
	}
	return nil, fmt.Errorf("cannot compile %T", s)
}

func compileAddr(m MatchAddr) ([]expr.Any, error) {
	l, ok := fieldLoads[m.Field]
	if !ok || l.meta || l.base != expr.PayloadBaseNetworkHeader {
		return nil, fmt.Errorf("not an address field")
	}
	p := m.Prefix.Masked()
	if !p.IsValid() || uint32(p.Addr().BitLen()/8) != l.ln {
		return nil, fmt.Errorf("prefix %v does not fit %s", m.Prefix, m.Field)
	}
	out := []expr.Any{&expr.Payload{OperationType: expr.PayloadLoad, DestRegister: 1, Base: l.base, Offset: l.offset, Len: l.ln}}
	if !p.IsSingleIP() {
		mask := netip.PrefixFrom(allOnes(p.Addr().Is6()), p.Bits()).Masked().Addr().AsSlice()
		out = append(out, &expr.Bitwise{SourceRegister: 1, DestRegister: 1, Len: l.ln, Mask: mask, Xor: make([]byte, l.ln)})
	}
	return append(out, &expr.Cmp{Op: cmpOp(m.Neg), Register: 1, Data: p.Addr().AsSlice()}), nil
}

func allOnes(v6 bool) netip.Addr {
	if v6 {
		return netip.AddrFrom16([16]byte{0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff})
	}
	return netip.AddrFrom4([4]byte{0xff, 0xff, 0xff, 0xff})
}

func compileIfname(m MatchIfname) ([]expr.Any, error) {
	key := expr.MetaKeyIIFNAME
	if m.Out {
		key = expr.MetaKeyOIFNAME
	}
	name := m.Name
	var data []byte
	if n := len(name); n > 0 && name[n-1] == '*' {
		data = []byte(name[:n-1])
	} else {
		data = make([]byte, 16)
		copy(data, name)
	}
	if len(name) == 0 || len(name) > 15 || len(data) == 0 {
		return nil, fmt.Errorf("interface name %q", name)
	}
	return []expr.Any{&expr.Meta{Key: key, Register: 1}, &expr.Cmp{Op: cmpOp(m.Neg), Register: 1, Data: data}}, nil
}

func compileSetMark(s SetMark) ([]expr.Any, error) {
	set := &expr.Meta{Key: expr.MetaKeyMARK, SourceRegister: true, Register: 1}
	if s.Op == MarkSet {
		return []expr.Any{&expr.Immediate{Register: 1, Data: nativeUint32(s.Value)}, set}, nil
	}
	var mask, xor uint32
	switch s.Op {
	case MarkOr:
		mask, xor = ^s.Value, s.Value
	case MarkXor:
		mask, xor = ^uint32(0), s.Value
	case MarkAnd:
		mask, xor = s.Value, 0
	default:
		return nil, fmt.Errorf("mark op %d", s.Op)
	}
	return []expr.Any{&expr.Meta{Key: expr.MetaKeyMARK, Register: 1},
		&expr.Bitwise{SourceRegister: 1, DestRegister: 1, Len: 4, Mask: nativeUint32(mask), Xor: nativeUint32(xor)}, set}, nil
}

var verdictKinds = map[VerdictKind]expr.VerdictKind{
	VerdictAccept: expr.VerdictAccept, VerdictDrop: expr.VerdictDrop, VerdictReturn: expr.VerdictReturn,
	VerdictJump: expr.VerdictJump, VerdictGoto: expr.VerdictGoto,
}

func compileVerdict(v Verdict) ([]expr.Any, error) {
	k, ok := verdictKinds[v.Kind]
	if !ok {
		return nil, fmt.Errorf("verdict kind %d", v.Kind)
	}
	if (v.Kind == VerdictJump || v.Kind == VerdictGoto) && v.Chain == "" {
		return nil, fmt.Errorf("%s without a chain", v)
	}
	return []expr.Any{&expr.Verdict{Kind: k, Chain: v.Chain}}, nil
}

func compileSetStmt(s Stmt) ([]expr.Any, error) {
	switch s := s.(type) {
	case Lookup:
		loads, err := loadKeys(s.Keys)
		return append(loads, &expr.Lookup{SourceRegister: 1, SetName: s.Set, Invert: s.Neg}), err
	case VMap:
		loads, err := loadKeys(s.Keys)
		return append(loads, &expr.Lookup{SourceRegister: 1, SetName: s.Map, IsDestRegSet: true, DestRegister: 0}), err
	case UpdateSet:
		loads, err := loadKeys(s.Keys)
		return append(loads, &expr.Dynset{SrcRegKey: 1, SetName: s.Set, Operation: unix.NFT_DYNSET_OP_UPDATE, Timeout: s.Timeout}), err
	}
	return nil, fmt.Errorf("not a set statement")
}

func compileDNAT(fam Family, d DNAT) ([]expr.Any, error) {
	a := d.Addr.Unmap()
	natFam := uint32(unix.NFPROTO_IPV4)
	switch {
	case !a.IsValid():
		return nil, fmt.Errorf("no address")
	case a.Is6():
		natFam = unix.NFPROTO_IPV6
	}
	if fam != FamilyInet && Family(natFam) != fam {
		return nil, fmt.Errorf("address %v in a %s table", a, fam)
	}
	out := []expr.Any{&expr.Immediate{Register: 1, Data: a.AsSlice()}}
	nat := &expr.NAT{Type: expr.NATTypeDestNAT, Family: natFam, RegAddrMin: 1}
	if d.Port != 0 {
		out = append(out, &expr.Immediate{Register: 2, Data: binary.BigEndian.AppendUint16(nil, d.Port)})
		nat.RegProtoMin, nat.Specified = 2, true
	}
	return append(out, nat), nil
}

func compileReject(fam Family, r Reject) ([]expr.Any, error) {
	switch r.Type {
	case RejectDefault:
		if fam == FamilyIPv6 {
			return []expr.Any{&expr.Reject{Type: unix.NFT_REJECT_ICMP_UNREACH, Code: 4}}, nil
		}
		if fam == FamilyInet {
			return []expr.Any{&expr.Reject{Type: unix.NFT_REJECT_ICMPX_UNREACH, Code: unix.NFT_REJECT_ICMPX_PORT_UNREACH}}, nil
		}
		return []expr.Any{&expr.Reject{Type: unix.NFT_REJECT_ICMP_UNREACH, Code: 3}}, nil
	case RejectTCPReset:
		return []expr.Any{&expr.Reject{Type: unix.NFT_REJECT_TCP_RST}}, nil
	}
	code, ok := rejectCodes[r.Type][r.Code]
	switch {
	case !ok:
		return nil, fmt.Errorf("reject code %q", r.Code)
	case r.Type == RejectICMPX && fam != FamilyInet,
		r.Type == RejectICMP && fam == FamilyIPv6, r.Type == RejectICMPv6 && fam == FamilyIPv4:
		return nil, fmt.Errorf("reject type not valid in a %s table", fam)
	}
	typ := uint32(unix.NFT_REJECT_ICMP_UNREACH)
	if r.Type == RejectICMPX {
		typ = unix.NFT_REJECT_ICMPX_UNREACH
	}
	return []expr.Any{&expr.Reject{Type: typ, Code: code}}, nil
}
