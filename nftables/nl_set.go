package nftables

import (
	"encoding/binary"

	"github.com/google/nftables/userdata"
	"golang.org/x/sys/unix"
)

// nft's data type numbers.
var typeMagic = map[DataType]uint32{
	TypeIPv4Addr: 7, TypeIPv6Addr: 8, TypeInetProto: 12, TypeInetService: 13, TypeMark: 19, TypeIfname: 41, TypeNumgen: 4,
}

const verdictMagic = 0xffffff00 // NFT_DATA_VERDICT

func keyMagic(key []DataType) uint32 {
	var m uint32
	for _, k := range key {
		m = m<<6 | typeMagic[k]
	}
	return m
}

func keyLen(key []DataType) uint32 {
	if len(key) == 1 {
		return uint32(key[0].size())
	}
	n := 0
	for _, k := range key {
		n += (k.size() + 3) &^ 3
	}
	return uint32(n)
}

// numgenTypeof is the set userdata nft writes for `typeof numgen random mod 1 : verdict`.
func numgenTypeof() []byte {
	u32 := func(typ byte, v uint32) []byte {
		return append([]byte{typ, 4}, binary.NativeEndian.AppendUint32(nil, v)...)
	}
	ng := append(append(u32(0, unix.NFT_NG_RANDOM), u32(1, 1)...), u32(2, 0)...)
	keyTypeof := append(u32(0, 23 /* EXPR_NUMGEN */), append([]byte{1, byte(len(ng))}, ng...)...)
	dataTypeof := append(u32(0, 1 /* EXPR_VERDICT */), 1, 0)
	out := append(u32(byte(userdata.NFTNL_UDATA_SET_KEYBYTEORDER), 1), u32(byte(userdata.NFTNL_UDATA_SET_DATABYTEORDER), 0)...)
	out = append(out, byte(userdata.NFTNL_UDATA_SET_KEY_TYPEOF), byte(len(keyTypeof)))
	out = append(out, keyTypeof...)
	out = append(out, byte(userdata.NFTNL_UDATA_SET_DATA_TYPEOF), byte(len(dataTypeof)))
	out = append(out, dataTypeof...)
	return append(out, u32(byte(userdata.NFTNL_UDATA_SET_DATA_INTERVAL), 0)...)
}

func (b *nlBatch) newSet(op int, o Op) {
	s := o.Set
	m := b.nft(unix.NFT_MSG_NEWSET, flagsCreate, o.Table.Family, op)
	b.str(unix.NFTA_SET_TABLE, o.Table.Name)
	b.str(unix.NFTA_SET_NAME, s.Name)
	var flags uint32
	if s.Verdict || s.Data != 0 {
		flags |= unix.NFT_SET_MAP
	}
	if s.Timeout {
		flags |= unix.NFT_SET_TIMEOUT
	}
	if s.Dynamic {
		flags |= unix.NFT_SET_EVAL
	}
	if len(s.Key) > 1 {
		flags |= nftSetConcat
	}
	if s.Interval {
		flags |= unix.NFT_SET_INTERVAL
	}
	b.u32(unix.NFTA_SET_FLAGS, flags)
	b.u32(unix.NFTA_SET_KEY_TYPE, keyMagic(s.Key))
	b.u32(unix.NFTA_SET_KEY_LEN, keyLen(s.Key))
	switch {
	case s.Verdict:
		b.u32(unix.NFTA_SET_DATA_TYPE, verdictMagic)
		b.u32(unix.NFTA_SET_DATA_LEN, 0)
	case s.Data != 0:
		b.u32(unix.NFTA_SET_DATA_TYPE, typeMagic[s.Data])
		b.u32(unix.NFTA_SET_DATA_LEN, uint32(s.Data.size()))
	}
	b.setIDs++
	b.u32(unix.NFTA_SET_ID, b.setIDs)
	if s.DefaultTimeout > 0 {
		b.u64(unix.NFTA_SET_TIMEOUT, uint64(s.DefaultTimeout.Milliseconds()))
	}
	if size := s.size(); size != 0 || len(s.Key) > 1 {
		d := b.nest(unix.NFTA_SET_DESC)
		if size != 0 {
			b.u32(unix.NFTA_SET_DESC_SIZE, size)
		}
		if len(s.Key) > 1 {
			c := b.nest(nftaSetDescConcat)
			for _, k := range s.Key {
				el := b.nest(unix.NFTA_LIST_ELEM)
				b.u32(nftaSetFieldLen, uint32(k.size()))
				b.endNest(el)
			}
			b.endNest(c)
		}
		b.endNest(d)
	}
	var ud []byte
	switch {
	case len(s.Key) == 1 && s.Key[0] == TypeNumgen:
		ud = numgenTypeof()
	case len(s.Key) == 1 && (s.Key[0] == TypeMark || s.Key[0] == TypeIfname): // host byte order, for nft's listing
		ud = append([]byte{byte(userdata.NFTNL_UDATA_SET_KEYBYTEORDER), 4}, binary.NativeEndian.AppendUint32(nil, 1)...)
	}
	if s.Comment != "" {
		ud = userdata.AppendString(ud, userdata.NFTNL_UDATA_SET_COMMENT, s.Comment)
	}
	if len(ud) > 0 {
		b.attr(unix.NFTA_SET_USERDATA, ud)
	}
	b.end(m)
}

func (b *nlBatch) delSet(op int, o Op) {
	m := b.nft(unix.NFT_MSG_DELSET, flagsRequest, o.Table.Family, op)
	b.str(unix.NFTA_SET_TABLE, o.Table.Name)
	b.str(unix.NFTA_SET_NAME, o.Name)
	b.end(m)
}

// elements writes one or more NEWSETELEM/DELSETELEM messages.
func (b *nlBatch) elements(op int, o Op, del bool) {
	msg, flags := uint16(unix.NFT_MSG_NEWSETELEM), uint16(flagsCreate)
	if del {
		msg, flags = unix.NFT_MSG_DELSETELEM, flagsRequest
	}
	interval := o.Set != nil && o.Set.Interval
	for i := 0; i < len(o.Elements); {
		m := b.nft(msg, flags, o.Table.Family, op)
		b.str(unix.NFTA_SET_ELEM_LIST_TABLE, o.Table.Name)
		b.str(unix.NFTA_SET_ELEM_LIST_SET, o.Name)
		list := b.nest(unix.NFTA_SET_ELEM_LIST_ELEMENTS)
		for ; i < len(o.Elements) && len(b.buf)-list < maxElemBytes; i++ {
			b.element(&o.Elements[i], del, interval)
		}
		b.endNest(list)
		b.end(m)
	}
}

func (b *nlBatch) element(e *Element, del, interval bool) {
	if interval || len(e.Key) == 1 && e.Key[0].IsPrefix() {
		b.intervalElement(e, del)
		return
	}
	b.plainElement(e, keyBytes(e.Key), del, false)
}

// intervalElement writes a range as the kernel stores it: its start, and an
// end element flagged INTERVAL_END at the first address after it (none when
// the range reaches the end of the address space).
func (b *nlBatch) intervalElement(e *Element, del bool) {
	p := e.Key[0].Prefix()
	b.plainElement(e, p.Addr().AsSlice(), del, false)
	if end, ok := rangeEnd(p); ok {
		b.plainElement(&Element{}, end.AsSlice(), del, true)
	}
}

func (b *nlBatch) plainElement(e *Element, key []byte, del, intervalEnd bool) {
	el := b.nest(unix.NFTA_LIST_ELEM)
	k := b.nest(unix.NFTA_SET_ELEM_KEY)
	b.attr(unix.NFTA_DATA_VALUE, key)
	b.endNest(k)
	if intervalEnd {
		b.u32(unix.NFTA_SET_ELEM_FLAGS, unix.NFT_SET_ELEM_INTERVAL_END)
	}
	if !del {
		switch {
		case e.Verdict != nil:
			d := b.nest(unix.NFTA_SET_ELEM_DATA)
			v := b.nest(unix.NFTA_DATA_VERDICT)
			b.u32(unix.NFTA_VERDICT_CODE, verdictCode(e.Verdict.Kind))
			if e.Verdict.Chain != "" {
				b.str(unix.NFTA_VERDICT_CHAIN, e.Verdict.Chain)
			}
			b.endNest(v)
			b.endNest(d)
		case e.Data != nil:
			d := b.nest(unix.NFTA_SET_ELEM_DATA)
			b.attr(unix.NFTA_DATA_VALUE, e.Data.bytes())
			b.endNest(d)
		}
		if e.Timeout > 0 {
			b.u64(unix.NFTA_SET_ELEM_TIMEOUT, uint64(e.Timeout.Milliseconds()))
		}
		if e.Comment != "" {
			b.attr(unix.NFTA_SET_ELEM_USERDATA, userdata.AppendString(nil, userdata.NFTNL_UDATA_SET_ELEM_COMMENT, e.Comment))
		}
	}
	b.endNest(el)
}

func verdictCode(k VerdictKind) uint32 {
	switch k {
	case VerdictAccept:
		return nfAccept
	case VerdictDrop:
		return nfDrop
	case VerdictReturn:
		return uint32(0xfffffffb) // NFT_RETURN = -5
	case VerdictJump:
		return uint32(0xfffffffd) // NFT_JUMP = -3
	case VerdictGoto:
		return uint32(0xfffffffc) // NFT_GOTO = -4
	}
	return nfDrop
}

// Kernel constants golang.org/x/sys/unix lacks.
const (
	nftaTableUserdata = 6    // NFTA_TABLE_USERDATA
	nftaSetDescConcat = 2    // NFTA_SET_DESC_CONCAT
	nftaSetFieldLen   = 1    // NFTA_SET_FIELD_LEN
	nftSetConcat      = 0x80 // NFT_SET_CONCAT
	nfAccept          = 1
	nfDrop            = 0
)
