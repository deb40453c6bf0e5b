package nftables

import (
	"context"
	"encoding/binary"
	"fmt"
	"slices"

	"github.com/google/nftables/userdata"
	"golang.org/x/sys/unix"
)

// Read implements Kernel: it dumps the owned tables over netlink (one dump
// each for tables, chains, sets and rules, plus one per non-dynamic set for
// its elements).
func (k *Netlink) Read(ctx context.Context) (*Ruleset, error) {
	k.mu.Lock()
	defer k.mu.Unlock()
	return k.read(ctx)
}

func (k *Netlink) read(ctx context.Context) (*Ruleset, error) {
	if k.sock == nil {
		return nil, fmt.Errorf("nftables: kernel closed")
	}
	rs := &Ruleset{}
	// One table and one chain dump per family (the kernel's chain dump does
	// not filter by table), then sets, elements and rules per table.
	owner := k.cfg.Owner
	tables := map[Family]map[string]string{}
	chains := map[Family]map[string][]*Chain{}
	var ids []TableID
	for _, fam := range owner.families() {
		names, err := k.sock.listTables(fam, k.nextSeq())
		if err != nil {
			return nil, fmt.Errorf("nftables: list %s tables: %w", fam, err)
		}
		tables[fam] = names
		if chains[fam], err = k.sock.listChains(fam, k.nextSeq()); err != nil {
			return nil, fmt.Errorf("nftables: list %s chains: %w", fam, err)
		}
		var extra []TableID
		for name := range names {
			if id := (TableID{fam, name}); owner.Prefix != "" && owner.Owns(id) && !slices.Contains(owner.Tables, id) {
				extra = append(extra, id)
			}
		}
		sortIDs(extra)
		ids = append(ids, extra...)
	}
	ids = append(slices.Clone(owner.Tables), ids...)
	for _, id := range ids {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		comment, ok := tables[id.Family][id.Name]
		if !ok {
			continue
		}
		t, err := k.readTable(ctx, id, chains[id.Family][id.Name])
		if err != nil {
			return nil, fmt.Errorf("nftables: read table %s: %w", id, err)
		}
		t.Comment = comment
		rs.Tables = append(rs.Tables, t)
	}
	return rs, nil
}

func (k *Netlink) nextSeq() uint32 { k.seq++; return k.seq }

// listTables returns the family's table names and their comments.
func (s *nlSocket) listTables(fam Family, seq uint32) (map[string]string, error) {
	msgs, err := s.dump(unix.NFT_MSG_GETTABLE, fam, seq, func(*nlBatch) {})
	if err != nil {
		return nil, err
	}
	out := map[string]string{}
	for _, m := range msgs {
		comment, _ := userdata.GetString(firstAttr(m, nftaTableUserdata), userdata.TypeComment)
		out[trimNul(firstAttr(m, unix.NFTA_TABLE_NAME))] = comment
	}
	return out, nil
}

func (k *Netlink) readTable(ctx context.Context, id TableID, chains []*Chain) (*Table, error) {
	t := NewTable(id.Family, id.Name)
	raws, err := k.sock.listSets(id, k.nextSeq())
	if err != nil {
		return nil, fmt.Errorf("sets: %w", err)
	}
	for _, raw := range raws {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		s, err := setFromRaw(raw)
		if err != nil {
			return nil, err
		}
		if !s.Dynamic { // a dynamic set's elements belong to the packet path
			if s.Elements, err = k.sock.listElements(id, s, k.nextSeq()); err != nil {
				return nil, fmt.Errorf("set %s: %w", s.Name, err)
			}
		}
		if err := t.AddSet(s); err != nil {
			return nil, err
		}
	}
	rules, err := k.sock.listRules(id, k.nextSeq())
	if err != nil {
		return nil, fmt.Errorf("rules: %w", err)
	}
	for _, c := range chains {
		c.Rules = rules[c.Name]
		if err := t.AddChain(c); err != nil {
			return nil, err
		}
	}
	return t, nil
}

var hookNames = map[uint32]string{0: "prerouting", 1: "input", 2: "forward", 3: "output", 4: "postrouting"}

// listChains dumps a family's chains, grouped by table in kernel order.
func (s *nlSocket) listChains(fam Family, seq uint32) (map[string][]*Chain, error) {
	msgs, err := s.dump(unix.NFT_MSG_GETCHAIN, fam, seq, func(*nlBatch) {})
	if err != nil {
		return nil, err
	}
	out := map[string][]*Chain{}
	for _, m := range msgs {
		var table, typ string
		c := &Chain{}
		var hook *Hook
		policy := uint32(nfAccept)
		it := attrIter{b: m}
		for it.next() {
			switch it.typ {
			case unix.NFTA_CHAIN_TABLE:
				table = trimNul(it.data)
			case unix.NFTA_CHAIN_NAME:
				c.Name = trimNul(it.data)
			case unix.NFTA_CHAIN_HOOK:
				hook = &Hook{}
				h := attrIter{b: it.data}
				for h.next() {
					switch h.typ {
					case unix.NFTA_HOOK_HOOKNUM:
						hook.Hook = hookNames[h.u32()]
					case unix.NFTA_HOOK_PRIORITY:
						hook.Priority = int(int32(h.u32()))
					}
				}
			case unix.NFTA_CHAIN_POLICY:
				policy = it.u32()
			case unix.NFTA_CHAIN_TYPE:
				typ = trimNul(it.data)
			}
		}
		if hook != nil {
			hook.Type, hook.Policy = typ, "accept"
			if policy == nfDrop {
				hook.Policy = "drop"
			}
			c.Hook = hook
		}
		out[table] = append(out[table], c)
	}
	return out, nil
}

func decodeElementBytes(s *Set, e Element, key, val, verdict []byte) (Element, error) {
	off := 0
	for _, t := range s.Key {
		v, err := valueFromBytes(t, safeSlice(key, off))
		if err != nil {
			return e, err
		}
		e.Key = append(e.Key, v)
		off += t.size()
		if len(s.Key) > 1 {
			off = (off + 3) &^ 3
		}
	}
	switch {
	case s.Verdict:
		v, err := decodeVerdict(verdict)
		if err != nil {
			return e, fmt.Errorf("element %s: %w", keyString(e.Key), err)
		}
		e.Verdict = &v
	case s.Data != 0:
		v, err := valueFromBytes(s.Data, val)
		if err != nil {
			return e, err
		}
		e.Data = &v
	}
	return e, nil
}

func safeSlice(b []byte, off int) []byte {
	if off > len(b) {
		return nil
	}
	return b[off:]
}

// decodeVerdict reads NFTA_VERDICT_CODE and NFTA_VERDICT_CHAIN.
func decodeVerdict(b []byte) (Verdict, error) {
	var code uint32
	var chain string
	found := false
	it := attrIter{b: b}
	for it.next() {
		switch {
		case it.typ == unix.NFTA_VERDICT_CODE && len(it.data) == 4:
			code, found = binary.BigEndian.Uint32(it.data), true
		case it.typ == unix.NFTA_VERDICT_CHAIN:
			chain = trimNul(it.data)
		}
	}
	if !found {
		return Verdict{}, fmt.Errorf("undecodable verdict % x", b)
	}
	for _, k := range []VerdictKind{VerdictAccept, VerdictDrop, VerdictReturn, VerdictJump, VerdictGoto} {
		if verdictCode(k) == code {
			return Verdict{Kind: k, Chain: chain}, nil
		}
	}
	return Verdict{}, fmt.Errorf("verdict code %#x", code)
}
