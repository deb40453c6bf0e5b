package nftables

import (
	"encoding/binary"
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
	for _, m := range msgs {
		var chain, table string
		var rule Rule
		it := attrIter{b: m}
		for it.next() {
			switch it.typ {
			case unix.NFTA_RULE_TABLE:
				table = trimNul(it.data)
			case unix.NFTA_RULE_CHAIN:
				chain = trimNul(it.data)
			case unix.NFTA_RULE_EXPRESSIONS:
				rule.Stmts = decodeExprList(id.Family, it.data)
			case unix.NFTA_RULE_USERDATA:
				rule.Comment, _ = userdata.GetString(it.data, userdata.TypeComment)
			}
		}
		if table == id.Name {
			out[chain] = append(out[chain], rule)
		}
	}
	return out, nil
}

// newExpr returns an empty expression of a kind the decoder understands.
func newExpr(name string) expr.Any {
	switch name {
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
		var name string
		var data []byte
		el := attrIter{b: it.data}
		for el.next() {
			switch el.typ {
			case unix.NFTA_EXPR_NAME:
				name = trimNul(el.data)
			case unix.NFTA_EXPR_DATA:
				data = el.data
			}
		}
		e := newExpr(name)
		if e == nil || expr.Unmarshal(byte(fam), data, e) != nil {
			return []Stmt{Unknown{Desc: "expression " + name}}
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
	for _, m := range msgs {
		it := attrIter{b: m}
		for it.next() {
			if it.typ != unix.NFTA_SET_ELEM_LIST_ELEMENTS {
				continue
			}
			list := attrIter{b: it.data}
			for list.next() {
				e, err := parseElement(set, list.data)
				if err != nil {
					return nil, err
				}
				out = append(out, e)
			}
		}
	}
	return out, nil
}

func parseElement(set *Set, b []byte) (Element, error) {
	var key, val, verdict []byte
	var e Element
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
		}
	}
	return decodeElementBytes(set, e, key, val, verdict)
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
