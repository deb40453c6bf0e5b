package nftables

import (
	"github.com/google/nftables/expr"
	"golang.org/x/sys/unix"
)

// putExpr appends one rule expression (the content of an NFTA_LIST_ELEM)
// straight into the batch buffer. It covers the expressions the bulk of a
// ruleset uses, byte for byte as expr.Marshal encodes them (a test checks),
// and falls back to expr.Marshal for the others.
func (b *nlBatch) putExpr(fam Family, e expr.Any) error {
	var data int
	begin := func(name string) {
		b.str(unix.NFTA_EXPR_NAME, name)
		data = b.nest(unix.NFTA_EXPR_DATA)
	}
	switch e := e.(type) {
	case *expr.Payload:
		if e.OperationType != expr.PayloadLoad || e.CsumType != 0 {
			return b.marshalExpr(fam, e)
		}
		begin("payload")
		b.u32(unix.NFTA_PAYLOAD_DREG, e.DestRegister)
		b.u32(unix.NFTA_PAYLOAD_BASE, uint32(e.Base))
		b.u32(unix.NFTA_PAYLOAD_OFFSET, e.Offset)
		b.u32(unix.NFTA_PAYLOAD_LEN, e.Len)
	case *expr.Meta:
		begin("meta")
		b.u32(unix.NFTA_META_KEY, uint32(e.Key))
		if e.SourceRegister {
			b.u32(unix.NFTA_META_SREG, e.Register)
		} else {
			b.u32(unix.NFTA_META_DREG, e.Register)
		}
	case *expr.Cmp:
		begin("cmp")
		b.u32(unix.NFTA_CMP_SREG, e.Register)
		b.u32(unix.NFTA_CMP_OP, uint32(e.Op))
		b.dataValue(unix.NFTA_CMP_DATA, e.Data)
	case *expr.Bitwise:
		begin("bitwise")
		b.u32(unix.NFTA_BITWISE_SREG, e.SourceRegister)
		b.u32(unix.NFTA_BITWISE_DREG, e.DestRegister)
		b.u32(unix.NFTA_BITWISE_LEN, e.Len)
		b.dataValue(unix.NFTA_BITWISE_MASK, e.Mask)
		b.dataValue(unix.NFTA_BITWISE_XOR, e.Xor)
	case *expr.Immediate:
		begin("immediate")
		b.u32(unix.NFTA_IMMEDIATE_DREG, e.Register)
		b.dataValue(unix.NFTA_IMMEDIATE_DATA, e.Data)
	case *expr.Verdict:
		begin("immediate")
		b.u32(unix.NFTA_IMMEDIATE_DREG, unix.NFT_REG_VERDICT)
		d := b.nest(unix.NFTA_IMMEDIATE_DATA)
		v := b.nest(unix.NFTA_DATA_VERDICT)
		b.u32(unix.NFTA_VERDICT_CODE, uint32(e.Kind))
		if e.Chain != "" {
			b.str(unix.NFTA_VERDICT_CHAIN, e.Chain)
		}
		b.endNest(v)
		b.endNest(d)
	case *expr.Lookup:
		begin("lookup")
		if e.SourceRegister != 0 {
			b.u32(unix.NFTA_LOOKUP_SREG, e.SourceRegister)
		}
		if e.IsDestRegSet {
			b.u32(unix.NFTA_LOOKUP_DREG, e.DestRegister)
		}
		if e.Invert {
			b.u32(unix.NFTA_LOOKUP_FLAGS, unix.NFT_LOOKUP_F_INV)
		}
		b.str(unix.NFTA_LOOKUP_SET, e.SetName)
		b.u32(unix.NFTA_LOOKUP_SET_ID, e.SetID)
	default:
		return b.marshalExpr(fam, e)
	}
	b.endNest(data)
	return nil
}

// dataValue writes typ { NFTA_DATA_VALUE { v } }.
func (b *nlBatch) dataValue(typ uint16, v []byte) {
	n := b.nest(typ)
	b.attr(unix.NFTA_DATA_VALUE, v)
	b.endNest(n)
}

func (b *nlBatch) marshalExpr(fam Family, e expr.Any) error {
	data, err := expr.Marshal(byte(fam), e)
	if err != nil {
		return err
	}
	b.buf = append(b.buf, data...)
	return nil
}
