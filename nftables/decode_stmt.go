package nftables

import (
	"encoding/binary"
	"fmt"
	"net/netip"

	"github.com/google/nftables/expr"
	"golang.org/x/sys/unix"
)

// keyFields consumes every pending load as a (concatenated) key.
func (d *decoder) keyFields() ([]Field, error) {
	var keys []Field
	for _, l := range d.pending {
		if l.kind != ldField || l.mask != nil || l.bytes != fieldLoads[l.field].ln {
			return nil, fmt.Errorf("lookup key form")
		}
		keys = append(keys, l.field)
	}
	d.pending = nil
	if len(keys) == 0 {
		return nil, fmt.Errorf("lookup without key")
	}
	return keys, nil
}

func (d *decoder) lookup(e *expr.Lookup) error {
	if len(d.pending) == 1 && d.pending[0].kind == ldNumgen {
		if !e.IsDestRegSet || e.DestRegister != 0 {
			return fmt.Errorf("numgen lookup form")
		}
		d.out = append(d.out, NumgenVMap{Mod: d.pending[0].num, Map: e.SetName})
		d.pending = nil
		return nil
	}
	keys, err := d.keyFields()
	if err != nil {
		return err
	}
	switch {
	case e.IsDestRegSet && e.DestRegister == 0 && !e.Invert:
		d.out = append(d.out, VMap{Keys: keys, Map: e.SetName})
	case !e.IsDestRegSet:
		d.out = append(d.out, Lookup{Keys: keys, Set: e.SetName, Neg: e.Invert})
	default:
		return fmt.Errorf("data map lookup")
	}
	return nil
}

func (d *decoder) dynset(e *expr.Dynset) error {
	keys, err := d.keyFields()
	if err != nil {
		return err
	}
	if e.Operation != unix.NFT_DYNSET_OP_UPDATE || e.SrcRegData != 0 || e.Invert || len(e.Exprs) > 0 {
		return fmt.Errorf("dynset form")
	}
	d.out = append(d.out, UpdateSet{Keys: keys, Set: e.SetName, Timeout: e.Timeout})
	return nil
}

var verdictFromExpr = map[expr.VerdictKind]VerdictKind{
	expr.VerdictAccept: VerdictAccept, expr.VerdictDrop: VerdictDrop, expr.VerdictReturn: VerdictReturn,
	expr.VerdictJump: VerdictJump, expr.VerdictGoto: VerdictGoto,
}

func (d *decoder) verdict(e *expr.Verdict) error {
	k, ok := verdictFromExpr[e.Kind]
	if !ok {
		return fmt.Errorf("verdict %d", e.Kind)
	}
	d.out = append(d.out, Verdict{Kind: k, Chain: e.Chain})
	return nil
}

func (d *decoder) nat(e *expr.NAT) error {
	if e.Type != expr.NATTypeDestNAT || (e.RegAddrMax != 0 && e.RegAddrMax != e.RegAddrMin) || (e.RegProtoMax != 0 && e.RegProtoMax != e.RegProtoMin) || e.Random || e.FullyRandom || e.Persistent || e.Prefix {
		return fmt.Errorf("nat form")
	}
	var out DNAT
	if e.RegProtoMin != 0 {
		l, err := d.take(e.RegProtoMin)
		if err != nil || l.kind != ldImm || len(l.data) != 2 {
			return fmt.Errorf("dnat port")
		}
		out.Port = binary.BigEndian.Uint16(l.data)
	}
	l, err := d.take(e.RegAddrMin)
	if err != nil || l.kind != ldImm {
		return fmt.Errorf("dnat address")
	}
	a, ok := netip.AddrFromSlice(l.data)
	if !ok {
		return fmt.Errorf("dnat address length")
	}
	out.Addr = a
	d.out = append(d.out, out)
	return nil
}

func (d *decoder) reject(e *expr.Reject) error {
	var r Reject
	switch e.Type {
	case unix.NFT_REJECT_TCP_RST:
		r.Type = RejectTCPReset
	case unix.NFT_REJECT_ICMPX_UNREACH:
		r.Type = RejectICMPX
	case unix.NFT_REJECT_ICMP_UNREACH:
		r.Type = RejectICMP
		if d.fam == FamilyIPv6 {
			r.Type = RejectICMPv6
		}
	default:
		return fmt.Errorf("reject type %d", e.Type)
	}
	if r.Type != RejectTCPReset {
		for name, code := range rejectCodes[r.Type] {
			if code == e.Code {
				r.Code = name
			}
		}
		if r.Code == "" {
			return fmt.Errorf("reject code %d", e.Code)
		}
	}
	if r.Type == RejectICMPX && r.Code == "port-unreachable" && d.fam == FamilyInet {
		r = Reject{}
	}
	d.out = append(d.out, r.canonical(d.fam))
	return nil
}
