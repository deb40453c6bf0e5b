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
// each for tables and chains per family, then sets and rules per table, plus
// one per non-dynamic set for its elements). The dumps after the table
// listing run in parallel over the kernel's reader sockets.
func (k *Netlink) Read(ctx context.Context) (*Ruleset, error) {
	k.mu.Lock()
	defer k.mu.Unlock()
	return k.read(ctx)
}

// tableRead is what one table's dumps return: the table with its sets, and
// its rules by chain.
type tableRead struct {
	table *Table
	rules map[string][]Rule
}

func (k *Netlink) read(ctx context.Context) (*Ruleset, error) {
	if k.sock == nil {
		return nil, fmt.Errorf("nftables: kernel closed")
	}
	comments := map[TableID]string{}
	ids, err := k.listOwned(k.cfg.Owner.families(), comments)
	if err != nil {
		return nil, err
	}
	var fams []Family // with an owned table
	for _, id := range ids {
		if !slices.Contains(fams, id.Family) {
			fams = append(fams, id.Family)
		}
	}
	// The chain dumps (one per family: the kernel's chain dump does not
	// filter by table) are the longest jobs, so they go first.
	chains := make([]map[string][]*Chain, len(fams))
	reads := make([]tableRead, len(ids))
	err = k.parallelDumps(ctx, len(fams)+len(ids), func(r *reader, j int) error {
		if j < len(fams) {
			var err error
			if chains[j], err = r.sock.listChains(fams[j], r.next()); err != nil {
				return fmt.Errorf("nftables: list %s chains: %w", fams[j], err)
			}
			return nil
		}
		id := ids[j-len(fams)]
		t, err := r.readTable(ctx, id)
		if err != nil {
			return fmt.Errorf("nftables: read table %s: %w", id, err)
		}
		reads[j-len(fams)] = t
		return nil
	})
	if err != nil {
		return nil, err
	}
	rs := &Ruleset{}
	for i, id := range ids {
		t := reads[i].table
		for _, c := range chains[slices.Index(fams, id.Family)][id.Name] {
			c.Rules = reads[i].rules[c.Name]
			if err := t.AddChain(c); err != nil {
				return nil, fmt.Errorf("nftables: read table %s: %w", id, err)
			}
		}
		t.Comment = comments[id]
		rs.Tables = append(rs.Tables, t)
	}
	return rs, nil
}

// listOwned returns the owned tables the kernel holds, in order (the named
// ones, then those matching the prefix, family by family, sorted by name),
// and records their comments.
func (k *Netlink) listOwned(fams []Family, comments map[TableID]string) ([]TableID, error) {
	owner := k.cfg.Owner
	var extra []TableID // by family in fams' order, then by name
	for _, fam := range fams {
		names, err := k.sock.listTables(fam, k.nextSeq())
		if err != nil {
			return nil, fmt.Errorf("nftables: list %s tables: %w", fam, err)
		}
		start := len(extra)
		for name, comment := range names {
			id := TableID{fam, name}
			if owner.Owns(id) {
				comments[id] = comment
				if owner.Prefix != "" && !slices.Contains(owner.Tables, id) {
					extra = append(extra, id)
				}
			}
		}
		sortIDs(extra[start:])
	}
	var ids []TableID
	for _, id := range owner.Tables {
		if _, ok := comments[id]; ok {
			ids = append(ids, id)
		}
	}
	return append(ids, extra...), nil
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

// readTable dumps one table's sets (with the elements of the non-dynamic
// ones) and rules.
func (r *reader) readTable(ctx context.Context, id TableID) (tableRead, error) {
	t := NewTable(id.Family, id.Name)
	raws, err := r.sock.listSets(id, r.next())
	if err != nil {
		return tableRead{}, fmt.Errorf("sets: %w", err)
	}
	for _, raw := range raws {
		if err := ctx.Err(); err != nil {
			return tableRead{}, err
		}
		s, err := setFromRaw(raw)
		if err != nil {
			return tableRead{}, err
		}
		if !s.Dynamic { // a dynamic set's elements belong to the packet path
			if s.Elements, err = r.sock.listElements(id, s, r.next()); err != nil {
				return tableRead{}, fmt.Errorf("set %s: %w", s.Name, err)
			}
		}
		if err := t.AddSet(s); err != nil {
			return tableRead{}, err
		}
	}
	rules, err := r.sock.listRules(id, r.next())
	if err != nil {
		return tableRead{}, fmt.Errorf("rules: %w", err)
	}
	return tableRead{table: t, rules: rules}, nil
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
