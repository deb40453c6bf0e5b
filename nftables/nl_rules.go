package nftables

import (
	"encoding/binary"
	"fmt"
	"net/netip"
	"slices"
	"time"

	"github.com/google/nftables/expr"
	"github.com/google/nftables/userdata"
	"golang.org/x/sys/unix"
)

// listRules dumps every rule of a table in one request and decodes them,
// grouped by chain in kernel order. The kernel resumes a dump by skipping
// from the table's first rule at every 32 KiB continuation, so this is
// quadratic in the table's size (per-chain dumps are worse: each scans the
// chain list); large rulesets read back faster when sharded over tables.
func (s *nlSocket) listRules(id TableID, seq uint32) (map[string][]Rule, error) {
	msgs, err := s.dump(unix.NFT_MSG_GETRULE, id.Family, seq, func(b *nlBatch) { b.str(unix.NFTA_RULE_TABLE, id.Name) })
	if err != nil {
		return nil, err
	}
	out := map[string][]Rule{}
	var chain string // the chain of the previous rule: rules come chain by chain
	for _, m := range msgs {
		var table []byte
		var rule Rule
		it := attrIter{b: m}
		for it.next() {
			switch it.typ {
			case unix.NFTA_RULE_TABLE:
				table = trimNulBytes(it.data)
			case unix.NFTA_RULE_CHAIN:
				if name := trimNulBytes(it.data); string(name) != chain {
					chain = string(name)
				}
			case unix.NFTA_RULE_EXPRESSIONS:
				rule.Stmts = decodeExprList(id.Family, it.data)
			case unix.NFTA_RULE_USERDATA:
				rule.Comment, _ = userdata.GetString(it.data, userdata.TypeComment)
			}
		}
		if string(table) == id.Name {
			out[chain] = append(out[chain], rule)
		}
	}
	return out, nil
}

// newExpr returns an empty expression of a kind the decoder understands.
func newExpr(name []byte) expr.Any {
	switch string(name) {
	case "payload":
		return &expr.Payload{}
	case "meta":
		return &expr.Meta{}
	case "cmp":
		return &expr.Cmp{}
	case "bitwise":
		return &expr.Bitwise{}
	case "lookup":
		return &expr.Lookup{}
	case "immediate":
		return &expr.Immediate{}
	case "ct":
		return &expr.Ct{}
	case "fib":
		return &expr.Fib{}
	case "numgen":
		return &expr.Numgen{}
	case "dynset":
		return &expr.Dynset{}
	case "nat":
		return &expr.NAT{}
	case "masq":
		return &expr.Masq{}
	case "reject":
		return &expr.Reject{}
	case "counter":
		return &expr.Counter{}
	}
	return nil
}

// decodeExprList parses NFTA_RULE_EXPRESSIONS into statements; any
// expression it cannot parse makes the rule a single Unknown statement.
func decodeExprList(fam Family, b []byte) []Stmt {
	var exprs []expr.Any
	it := attrIter{b: b}
	for it.next() {
		var name, data []byte
		el := attrIter{b: it.data}
		for el.next() {
			switch el.typ {
			case unix.NFTA_EXPR_NAME:
				name = trimNulBytes(el.data)
			case unix.NFTA_EXPR_DATA:
				data = el.data
			}
		}
		e := newExpr(name)
		if e == nil || expr.Unmarshal(byte(fam), data, e) != nil {
			return []Stmt{Unknown{Desc: "expression " + string(name)}}
		}
		if imm, ok := e.(*expr.Immediate); ok && imm.Register == 0 { // a verdict
			v := &expr.Verdict{}
			if expr.Unmarshal(byte(fam), data, v) != nil {
				return []Stmt{Unknown{Desc: "verdict"}}
			}
			e = v
		}
		exprs = append(exprs, e)
	}
	return decodeRule(fam, exprs)
}

// listElements dumps one set's elements.
func (s *nlSocket) listElements(id TableID, set *Set, seq uint32) ([]Element, error) {
	msgs, err := s.dump(unix.NFT_MSG_GETSETELEM, id.Family, seq, func(b *nlBatch) {
		b.str(unix.NFTA_SET_ELEM_LIST_TABLE, id.Name)
		b.str(unix.NFTA_SET_ELEM_LIST_SET, set.Name)
	})
	if err != nil {
		return nil, err
	}
	var out []Element
	var ends []netip.Addr // interval ends
	for _, m := range msgs {
		it := attrIter{b: m}
		for it.next() {
			if it.typ != unix.NFTA_SET_ELEM_LIST_ELEMENTS {
				continue
			}
			list := attrIter{b: it.data}
			for list.next() {
				e, end, err := parseElement(set, list.data)
				switch {
				case err != nil:
					return nil, err
				case end:
					ends = append(ends, e.Key[0].Addr())
				default:
					out = append(out, e)
				}
			}
		}
	}
	if set.Interval {
		return pairIntervals(set, out, ends)
	}
	return out, nil
}

// pairIntervals turns interval starts and ends back into prefixes.
func pairIntervals(set *Set, starts []Element, ends []netip.Addr) ([]Element, error) {
	slices.SortFunc(starts, func(a, b Element) int { return a.Key[0].Addr().Compare(b.Key[0].Addr()) })
	slices.SortFunc(ends, func(a, b netip.Addr) int { return a.Compare(b) })
	for i := range starts {
		start := starts[i].Key[0].Addr()
		var next netip.Addr // the first end after start, if any
		if j, _ := slices.BinarySearchFunc(ends, start, func(a, b netip.Addr) int { return a.Compare(b) }); j < len(ends) {
			next = ends[j]
		}
		p, ok := rangePrefix(start, next)
		if !ok {
			return nil, fmt.Errorf("set %s: range from %v to %v is not a prefix", set.Name, start, next)
		}
		starts[i].Key = []Value{Prefix(p)}
	}
	return starts, nil
}

// rangePrefix finds the prefix starting at start whose first address after
// it is end (invalid end: up to the end of the address space).
func rangePrefix(start, end netip.Addr) (netip.Prefix, bool) {
	for bits := 0; bits <= start.BitLen(); bits++ {
		p := netip.PrefixFrom(start, bits)
		if p.Masked().Addr() != start {
			continue
		}
		e, ok := rangeEnd(p)
		if ok == end.IsValid() && (!ok || e == end) {
			return p, true
		}
	}
	return netip.Prefix{}, false
}

func parseElement(set *Set, b []byte) (e Element, intervalEnd bool, err error) {
	var key, val, verdict []byte
	it := attrIter{b: b}
	for it.next() {
		switch it.typ {
		case unix.NFTA_SET_ELEM_KEY:
			key = firstAttr(it.data, unix.NFTA_DATA_VALUE)
		case unix.NFTA_SET_ELEM_DATA:
			val = firstAttr(it.data, unix.NFTA_DATA_VALUE)
			verdict = firstAttr(it.data, unix.NFTA_DATA_VERDICT)
		case unix.NFTA_SET_ELEM_TIMEOUT:
			if len(it.data) == 8 {
				e.Timeout = time.Duration(binary.BigEndian.Uint64(it.data)) * time.Millisecond
			}
		case unix.NFTA_SET_ELEM_USERDATA:
			e.Comment, _ = userdata.GetString(it.data, userdata.NFTNL_UDATA_SET_ELEM_COMMENT)
		case unix.NFTA_SET_ELEM_FLAGS:
			intervalEnd = it.u32()&unix.NFT_SET_ELEM_INTERVAL_END != 0
		}
	}
	if intervalEnd {
		v, err := valueFromBytes(set.Key[0], key)
		return Element{Key: []Value{v}}, true, err
	}
	e, err = decodeElementBytes(set, e, key, val, verdict)
	return e, false, err
}

func firstAttr(b []byte, typ uint16) []byte {
	it := attrIter{b: b}
	for it.next() {
		if it.typ == typ {
			return it.data
		}
	}
	return nil
}
