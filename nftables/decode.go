package nftables

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"net/netip"

	"github.com/google/nftables/expr"
	"golang.org/x/sys/unix"
)

// decoder turns kernel expressions back into statements. It tracks what each
// register holds; an expression it cannot place becomes an Unknown statement.
type decoder struct {
	fam     Family
	pending []load // loads not yet consumed, in order
	out     []Stmt
}

type loadKind uint8

const (
	ldField loadKind = iota + 1
	ldMark
	ldIfname
	ldCt
	ldFib
	ldNumgen
	ldImm
)

type load struct {
	reg   uint32
	kind  loadKind
	field Field
	bytes uint32 // payload length loaded (address prefixes may load fewer bytes)
	out   bool   // oifname
	mask  []byte
	xor   []byte
	num   uint32
	data  []byte
}

func decodeRule(fam Family, exprs []expr.Any) []Stmt {
	d := &decoder{fam: fam}
	for _, e := range exprs {
		if err := d.step(e); err != nil {
			d.out = append(d.out, Unknown{Desc: err.Error()})
			d.pending = nil
		}
	}
	if len(d.pending) > 0 {
		d.out = append(d.out, Unknown{Desc: "dangling register load"})
	}
	return mergeProtoPort(d.out)
}

// mergeProtoPort folds `meta l4proto tcp` + `th dport N` into MatchPort{tcp}.
func mergeProtoPort(in []Stmt) []Stmt {
	out := in[:0:0]
	for i := 0; i < len(in); i++ {
		if p, ok := in[i].(MatchProto); ok && !p.Neg && portProto(p.Proto) {
			if mp, ok := nextPort(in, i); ok {
				mp.Proto = p.Proto
				out = append(out, mp)
				i++
				continue
			}
		}
		out = append(out, in[i])
	}
	return out
}

func (d *decoder) take(reg uint32) (load, error) {
	for i := len(d.pending) - 1; i >= 0; i-- {
		if d.pending[i].reg == reg {
			l := d.pending[i]
			d.pending = append(d.pending[:i], d.pending[i+1:]...)
			return l, nil
		}
	}
	return load{}, fmt.Errorf("register %d not loaded", reg)
}

func (d *decoder) push(l load) { d.pending = append(d.pending, l) }

func (d *decoder) step(e expr.Any) error {
	switch e := e.(type) {
	case *expr.Payload:
		return d.payload(e)
	case *expr.Meta:
		return d.meta(e)
	case *expr.Ct:
		if e.Key != expr.CtKeySTATE || e.SourceRegister {
			return fmt.Errorf("ct key %d", e.Key)
		}
		d.push(load{reg: e.Register, kind: ldCt})
	case *expr.Fib:
		if e.FlagDADDR == e.FlagSADDR || !e.ResultADDRTYPE || e.FlagIIF || e.FlagOIF || e.FlagMARK {
			return fmt.Errorf("fib form")
		}
		d.push(load{reg: e.Register, kind: ldFib, out: e.FlagSADDR})
	case *expr.Numgen:
		if e.Type != unix.NFT_NG_RANDOM || e.Offset != 0 {
			return fmt.Errorf("numgen form")
		}
		d.push(load{reg: e.Register, kind: ldNumgen, num: e.Modulus})
	case *expr.Immediate:
		d.push(load{reg: e.Register, kind: ldImm, data: e.Data})
	case *expr.Bitwise:
		return d.bitwise(e)
	case *expr.Cmp:
		return d.cmp(e)
	case *expr.Lookup:
		return d.lookup(e)
	case *expr.Dynset:
		return d.dynset(e)
	case *expr.Verdict:
		return d.verdict(e)
	case *expr.NAT:
		return d.nat(e)
	case *expr.Masq:
		if e.Random || e.Persistent || e.ToPorts {
			return fmt.Errorf("masquerade options")
		}
		d.out = append(d.out, Masquerade{FullyRandom: e.FullyRandom})
	case *expr.Reject:
		return d.reject(e)
	case *expr.Counter:
		d.out = append(d.out, Counter{})
	default:
		return fmt.Errorf("expression %T", e)
	}
	return nil
}

func (d *decoder) payload(e *expr.Payload) error {
	if e.OperationType != expr.PayloadLoad {
		return fmt.Errorf("payload write")
	}
	for f, l := range fieldLoads {
		if l.meta || l.base != e.Base || l.offset != e.Offset {
			continue
		}
		isAddr := f.dataType() == TypeIPv4Addr || f.dataType() == TypeIPv6Addr
		if isAddrFamily(f, d.fam) && (e.Len == l.ln || isAddr && e.Len < l.ln) {
			d.push(load{reg: e.DestRegister, kind: ldField, field: f, bytes: e.Len})
			return nil
		}
	}
	return fmt.Errorf("payload base %d offset %d len %d", e.Base, e.Offset, e.Len)
}

func isAddrFamily(f Field, fam Family) bool {
	switch f {
	case IPSAddr, IPDAddr:
		return fam != FamilyIPv6
	case IP6SAddr, IP6DAddr:
		return fam != FamilyIPv4
	}
	return true
}

func (d *decoder) meta(e *expr.Meta) error {
	if e.SourceRegister {
		if e.Key != expr.MetaKeyMARK {
			return fmt.Errorf("meta set %d", e.Key)
		}
		l, err := d.take(e.Register)
		if err != nil {
			return err
		}
		return d.setMark(l)
	}
	switch e.Key {
	case expr.MetaKeyL4PROTO:
		d.push(load{reg: e.Register, kind: ldField, field: L4Proto, bytes: 1})
	case expr.MetaKeyMARK:
		d.push(load{reg: e.Register, kind: ldMark})
	case expr.MetaKeyIIFNAME, expr.MetaKeyOIFNAME:
		d.push(load{reg: e.Register, kind: ldIfname, out: e.Key == expr.MetaKeyOIFNAME})
	default:
		return fmt.Errorf("meta key %d", e.Key)
	}
	return nil
}

func (d *decoder) setMark(l load) error {
	switch {
	case l.kind == ldImm && len(l.data) == 4:
		d.out = append(d.out, SetMark{Op: MarkSet, Value: nativeToUint32(l.data)})
	case l.kind == ldMark && len(l.mask) == 4 && len(l.xor) == 4:
		mask, xor := nativeToUint32(l.mask), nativeToUint32(l.xor)
		switch {
		case mask == ^xor:
			d.out = append(d.out, SetMark{Op: MarkOr, Value: xor})
		case mask == ^uint32(0):
			d.out = append(d.out, SetMark{Op: MarkXor, Value: xor})
		case xor == 0:
			d.out = append(d.out, SetMark{Op: MarkAnd, Value: mask})
		default:
			return fmt.Errorf("mark set form")
		}
	default:
		return fmt.Errorf("meta mark set source")
	}
	return nil
}

func (d *decoder) bitwise(e *expr.Bitwise) error {
	l, err := d.take(e.SourceRegister)
	if err != nil {
		return err
	}
	if e.DestRegister != e.SourceRegister || l.mask != nil {
		return fmt.Errorf("bitwise form")
	}
	l.mask, l.xor = e.Mask, e.Xor
	d.push(l)
	return nil
}

func allZero(b []byte) bool {
	for _, x := range b {
		if x != 0 {
			return false
		}
	}
	return true
}

func (d *decoder) cmp(e *expr.Cmp) error {
	l, err := d.take(e.Register)
	if err != nil {
		return err
	}
	neg := e.Op == expr.CmpOpNeq
	if e.Op != expr.CmpOpEq && e.Op != expr.CmpOpNeq {
		return fmt.Errorf("cmp op %d", e.Op)
	}
	switch l.kind {
	case ldField:
		return d.cmpField(l, neg, e.Data)
	case ldMark:
		if len(e.Data) != 4 || (l.mask != nil && !allZero(l.xor)) {
			return fmt.Errorf("mark cmp form")
		}
		m := MatchMark{Value: nativeToUint32(e.Data), Neg: neg}
		if l.mask != nil {
			m.Mask = nativeToUint32(l.mask)
		}
		d.out = append(d.out, m)
	case ldIfname:
		name := string(e.Data)
		if len(e.Data) == 16 {
			name = trimNul(e.Data)
		} else {
			name += "*"
		}
		d.out = append(d.out, MatchIfname{Out: l.out, Name: name, Neg: neg})
	case ldCt:
		if len(l.mask) != 4 || !allZero(e.Data) {
			return fmt.Errorf("ct state form")
		}
		d.out = append(d.out, MatchCtState{States: nativeToUint32(l.mask), Neg: !neg})
	case ldFib:
		if len(e.Data) != 4 || nativeToUint32(e.Data) != unix.RTN_LOCAL {
			return fmt.Errorf("fib type")
		}
		if l.out { // fib saddr
			d.out = append(d.out, MatchLocalSaddr{Neg: neg})
			break
		}
		d.out = append(d.out, MatchLocalDaddr{Neg: neg})
	default:
		return fmt.Errorf("cmp on register kind %d", l.kind)
	}
	return nil
}

func trimNul(b []byte) string { return string(trimNulBytes(b)) }

// trimNulBytes returns b up to its first NUL (netlink strings end with one).
func trimNulBytes(b []byte) []byte {
	if i := bytes.IndexByte(b, 0); i >= 0 {
		return b[:i]
	}
	return b
}

func (d *decoder) cmpField(l load, neg bool, data []byte) error {
	switch l.field {
	case L4Proto:
		if len(data) != 1 {
			return fmt.Errorf("l4proto cmp len")
		}
		d.out = append(d.out, MatchProto{Proto: data[0], Neg: neg})
	case THDPort:
		if len(data) != 2 || l.mask != nil {
			return fmt.Errorf("port cmp form")
		}
		d.out = append(d.out, MatchPort{Port: binary.BigEndian.Uint16(data), Neg: neg})
	default:
		full := uint32(fieldLoads[l.field].ln)
		if uint32(len(data)) != l.bytes {
			return fmt.Errorf("address cmp len")
		}
		buf := make([]byte, full)
		copy(buf, data)
		a, _ := netip.AddrFromSlice(buf)
		bits := int(l.bytes) * 8
		if l.mask != nil {
			bits = maskBits(l.mask)
		}
		if bits < 0 {
			return fmt.Errorf("address mask")
		}
		d.out = append(d.out, MatchAddr{Field: l.field, Neg: neg, Prefix: netip.PrefixFrom(a, bits)})
	}
	return nil
}

// maskBits returns the prefix length of a contiguous mask, or -1.
func maskBits(m []byte) int {
	bits, ended := 0, false
	for _, b := range m {
		for i := 7; i >= 0; i-- {
			on := b&(1<<i) != 0
			switch {
			case on && ended:
				return -1
			case on:
				bits++
			default:
				ended = true
			}
		}
	}
	return bits
}
