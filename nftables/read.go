package nftables

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"syscall"

	gnft "github.com/google/nftables"
	"github.com/google/nftables/userdata"
	"golang.org/x/sys/unix"
)

// Read implements Kernel: it dumps the owned tables over netlink.
func (k *Netlink) Read(ctx context.Context) (*Ruleset, error) {
	k.mu.Lock()
	defer k.mu.Unlock()
	return k.read(ctx)
}

func (k *Netlink) read(ctx context.Context) (*Ruleset, error) {
	opts := []gnft.ConnOption{gnft.AsLasting()}
	if k.cfg.NetNSFd != 0 {
		opts = append(opts, gnft.WithNetNSFd(k.cfg.NetNSFd))
	}
	c, err := gnft.New(opts...)
	if err != nil {
		return nil, fmt.Errorf("nftables: read: %w", err)
	}
	defer func() { _ = c.CloseLasting() }()
	rs := &Ruleset{}
	for _, id := range k.cfg.Tables {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		t, err := readTable(c, k.sock, id)
		if err != nil {
			return nil, fmt.Errorf("nftables: read table %s: %w", id, err)
		}
		if t != nil {
			rs.Tables = append(rs.Tables, t)
		}
	}
	return rs, nil
}

func readTable(c *gnft.Conn, sock *nlSocket, id TableID) (*Table, error) {
	gt, err := c.ListTableOfFamily(id.Name, gnft.TableFamily(id.Family))
	if errors.Is(err, syscall.ENOENT) || (err != nil && strings.Contains(err.Error(), "no such file")) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	t := NewTable(id.Family, id.Name)
	raws, err := sock.listSets(id, 1)
	if err != nil {
		return nil, fmt.Errorf("sets: %w", err)
	}
	for _, raw := range raws {
		s, err := setFromRaw(raw)
		if err != nil {
			return nil, err
		}
		if err := readElements(c, gt, s); err != nil {
			return nil, fmt.Errorf("set %s: %w", s.Name, err)
		}
		if err := t.AddSet(s); err != nil {
			return nil, err
		}
	}
	chains, err := c.ListChainsOfTableFamily(gnft.TableFamily(id.Family))
	if err != nil {
		return nil, fmt.Errorf("chains: %w", err)
	}
	for _, gc := range chains {
		if gc.Table == nil || gc.Table.Name != id.Name {
			continue
		}
		ch, err := readChain(c, gt, gc, id.Family)
		if err != nil {
			return nil, fmt.Errorf("chain %s: %w", gc.Name, err)
		}
		_ = t.AddChain(ch)
	}
	return t, nil
}

var hookNames = map[gnft.ChainHook]string{0: "prerouting", 1: "input", 2: "forward", 3: "output", 4: "postrouting"}

func readChain(c *gnft.Conn, gt *gnft.Table, gc *gnft.Chain, fam Family) (*Chain, error) {
	ch := &Chain{Name: gc.Name}
	if gc.Hooknum != nil {
		h := &Hook{Type: string(gc.Type), Hook: hookNames[*gc.Hooknum], Policy: "accept"}
		if gc.Priority != nil {
			h.Priority = int(*gc.Priority)
		}
		if gc.Policy != nil && *gc.Policy == gnft.ChainPolicyDrop {
			h.Policy = "drop"
		}
		ch.Hook = h
	}
	rules, err := c.GetRules(gt, gc)
	if err != nil {
		return nil, err
	}
	for _, r := range rules {
		rule := Rule{Stmts: decodeRule(fam, r.Exprs)}
		if cm, ok := userdata.GetString(r.UserData, userdata.TypeComment); ok {
			rule.Comment = cm
		}
		ch.Rules = append(ch.Rules, rule)
	}
	return ch, nil
}

func readElements(c *gnft.Conn, gt *gnft.Table, s *Set) error {
	if s.Dynamic {
		return nil // elements belong to the packet path
	}
	elems, err := c.GetSetElements(&gnft.Set{Table: gt, Name: s.Name, IsMap: s.Verdict || s.Data != 0})
	if err != nil {
		return err
	}
	for _, ge := range elems {
		e, err := decodeElement(s, ge)
		if err != nil {
			return err
		}
		s.Elements = append(s.Elements, e)
	}
	return nil
}

func decodeElement(s *Set, ge gnft.SetElement) (Element, error) {
	e := Element{Timeout: ge.Timeout, Comment: ge.Comment}
	off := 0
	for _, t := range s.Key {
		v, err := valueFromBytes(t, safeSlice(ge.Key, off))
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
		v, err := decodeVerdict(ge)
		if err != nil {
			return e, fmt.Errorf("element %s: %w", keyString(e.Key), err)
		}
		e.Verdict = &v
	case s.Data != 0:
		v, err := valueFromBytes(s.Data, ge.Val)
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

// decodeVerdict reads an element's verdict; google/nftables leaves it in the
// raw Val bytes (nested NFTA_DATA_VERDICT attributes) for some maps.
func decodeVerdict(ge gnft.SetElement) (Verdict, error) {
	if ge.VerdictData != nil {
		k, ok := verdictFromExpr[ge.VerdictData.Kind]
		if !ok {
			return Verdict{}, fmt.Errorf("verdict %d", ge.VerdictData.Kind)
		}
		return Verdict{Kind: k, Chain: ge.VerdictData.Chain}, nil
	}
	code, chain, ok := scanVerdictAttrs(ge.Val, 0)
	if !ok {
		return Verdict{}, fmt.Errorf("undecodable verdict % x", ge.Val)
	}
	for k, c := range map[VerdictKind]uint32{VerdictAccept: nfAccept, VerdictDrop: nfDrop, VerdictReturn: verdictCode(VerdictReturn),
		VerdictJump: verdictCode(VerdictJump), VerdictGoto: verdictCode(VerdictGoto)} {
		if c == code {
			return Verdict{Kind: k, Chain: chain}, nil
		}
	}
	return Verdict{}, fmt.Errorf("verdict code %#x", code)
}

// scanVerdictAttrs finds NFTA_VERDICT_CODE and NFTA_VERDICT_CHAIN in b, or
// in attributes nested in it (NFTA_DATA_VERDICT).
func scanVerdictAttrs(b []byte, depth int) (code uint32, chain string, ok bool) {
	it := attrIter{b: b}
	for it.next() {
		switch {
		case it.typ == unix.NFTA_VERDICT_CODE && len(it.data) == 4:
			code, ok = it.u32(), true
		case it.typ == unix.NFTA_VERDICT_CHAIN:
			chain = trimNul(it.data)
		}
	}
	if ok || depth > 2 {
		return code, chain, ok
	}
	it = attrIter{b: b}
	for it.next() {
		if c, ch, found := scanVerdictAttrs(it.data, depth+1); found {
			return c, ch, true
		}
	}
	return 0, "", false
}
