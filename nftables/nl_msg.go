package nftables

import (
	"encoding/binary"
	"fmt"

	"github.com/google/nftables/userdata"
	"golang.org/x/sys/unix"
)

// nlBatch encodes a transaction as one nfnetlink batch, written straight into
// a single buffer (no per-message allocation, no ACK requested: the kernel
// reports only errors, as with nft).
type nlBatch struct {
	buf    []byte
	seq    uint32
	first  uint32
	opOf   []int // op index of each message, by seq-first
	setIDs uint32
}

const (
	nlmsgHdrLen  = 16
	flagsRequest = unix.NLM_F_REQUEST
	flagsCreate  = unix.NLM_F_REQUEST | unix.NLM_F_CREATE
	maxElemBytes = 32 << 10 // per NEWSETELEM message (nested attrs are limited to 64 KiB)
)

// newBatch returns an empty batch; the caller writes BATCH_BEGIN first.
func newBatch(seq uint32) *nlBatch {
	return &nlBatch{seq: seq, first: seq}
}

func (b *nlBatch) finish() []byte {
	b.control(unix.NFNL_MSG_BATCH_END, -1)
	return b.buf
}

// control writes a batch begin/end message.
func (b *nlBatch) control(typ uint16, op int) {
	start := b.begin(typ, flagsRequest, unix.AF_UNSPEC, op)
	binary.BigEndian.PutUint16(b.buf[start+nlmsgHdrLen+2:], unix.NFNL_SUBSYS_NFTABLES)
	b.end(start)
}

// begin starts a message: netlink header and nfgenmsg; returns its offset.
func (b *nlBatch) begin(typ uint16, flags uint16, fam uint8, op int) int {
	start := len(b.buf)
	var h [nlmsgHdrLen + 4]byte
	binary.NativeEndian.PutUint16(h[4:], typ)
	binary.NativeEndian.PutUint16(h[6:], flags)
	binary.NativeEndian.PutUint32(h[8:], b.seq)
	h[16] = fam
	h[17] = unix.NFNETLINK_V0
	b.buf = append(b.buf, h[:]...)
	b.opOf = append(b.opOf, op)
	b.seq++
	return start
}

func (b *nlBatch) end(start int) {
	binary.NativeEndian.PutUint32(b.buf[start:], uint32(len(b.buf)-start))
}

func (b *nlBatch) nft(msg uint16, flags uint16, fam Family, op int) int {
	return b.begin(unix.NFNL_SUBSYS_NFTABLES<<8|msg, flags, uint8(fam), op)
}

// attribute helpers (netfilter attributes carry numbers big-endian)

func (b *nlBatch) attr(typ uint16, data []byte) {
	n := 4 + len(data)
	b.buf = binary.NativeEndian.AppendUint16(b.buf, uint16(n))
	b.buf = binary.NativeEndian.AppendUint16(b.buf, typ)
	b.buf = append(b.buf, data...)
	for ; n%4 != 0; n++ {
		b.buf = append(b.buf, 0)
	}
}

func (b *nlBatch) str(typ uint16, s string) {
	b.attr(typ, append([]byte(s), 0))
}

func (b *nlBatch) u32(typ uint16, v uint32) { b.attr(typ, binary.BigEndian.AppendUint32(nil, v)) }

func (b *nlBatch) u64(typ uint16, v uint64) { b.attr(typ, binary.BigEndian.AppendUint64(nil, v)) }

func (b *nlBatch) nest(typ uint16) int {
	start := len(b.buf)
	b.buf = append(b.buf, 0, 0, 0, 0)
	binary.NativeEndian.PutUint16(b.buf[start+2:], typ|unix.NLA_F_NESTED)
	return start
}

func (b *nlBatch) endNest(start int) {
	binary.NativeEndian.PutUint16(b.buf[start:], uint16(len(b.buf)-start))
}

// --- objects ---

func (b *nlBatch) table(op int, o Op, msg uint16) {
	flags := uint16(flagsRequest)
	if msg == unix.NFT_MSG_NEWTABLE {
		flags = flagsCreate
	}
	m := b.nft(msg, flags, o.Table.Family, op)
	b.str(unix.NFTA_TABLE_NAME, o.Table.Name)
	if msg == unix.NFT_MSG_NEWTABLE {
		b.u32(unix.NFTA_TABLE_FLAGS, 0)
		if o.Comment != "" {
			b.attr(nftaTableUserdata, userdata.AppendString(nil, userdata.TypeComment, o.Comment))
		}
	}
	b.end(m)
}

func (b *nlBatch) chain(op int, o Op, msg uint16) error {
	flags := uint16(flagsRequest)
	if msg == unix.NFT_MSG_NEWCHAIN {
		flags = flagsCreate
	}
	m := b.nft(msg, flags, o.Table.Family, op)
	b.str(unix.NFTA_CHAIN_TABLE, o.Table.Name)
	b.str(unix.NFTA_CHAIN_NAME, o.Name)
	if msg == unix.NFT_MSG_NEWCHAIN && o.Chain != nil && o.Chain.Hook != nil {
		h := o.Chain.Hook
		if err := h.Validate(); err != nil {
			return fmt.Errorf("chain %s: %w", o.Name, err)
		}
		n := b.nest(unix.NFTA_CHAIN_HOOK)
		b.u32(unix.NFTA_HOOK_HOOKNUM, hookNums[h.Hook])
		b.u32(unix.NFTA_HOOK_PRIORITY, uint32(int32(h.Priority)))
		b.endNest(n)
		policy := uint32(nfAccept)
		if h.Policy == "drop" {
			policy = nfDrop
		}
		b.u32(unix.NFTA_CHAIN_POLICY, policy)
		b.str(unix.NFTA_CHAIN_TYPE, h.Type)
	}
	b.end(m)
	return nil
}

func (b *nlBatch) flushChain(op int, o Op) {
	m := b.nft(unix.NFT_MSG_DELRULE, flagsRequest, o.Table.Family, op)
	b.str(unix.NFTA_RULE_TABLE, o.Table.Name)
	b.str(unix.NFTA_RULE_CHAIN, o.Name)
	b.end(m)
}

func (b *nlBatch) rule(op int, o Op) error {
	exprs, err := compileRule(o.Table.Family, *o.Rule)
	if err != nil {
		return err
	}
	m := b.nft(unix.NFT_MSG_NEWRULE, flagsCreate|unix.NLM_F_APPEND, o.Table.Family, op)
	b.str(unix.NFTA_RULE_TABLE, o.Table.Name)
	b.str(unix.NFTA_RULE_CHAIN, o.Name)
	list := b.nest(unix.NFTA_RULE_EXPRESSIONS)
	for _, e := range exprs {
		el := b.nest(unix.NFTA_LIST_ELEM)
		if err := b.putExpr(o.Table.Family, e); err != nil {
			return fmt.Errorf("%w: rule in %s: %v", ErrInvalid, o.Name, err)
		}
		b.endNest(el)
	}
	b.endNest(list)
	if o.Rule.Comment != "" {
		b.attr(unix.NFTA_RULE_USERDATA, userdata.AppendString(nil, userdata.TypeComment, o.Rule.Comment))
	}
	b.end(m)
	return nil
}
