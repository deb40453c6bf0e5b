package iptables

import (
	"context"
	"errors"
	"strings"
	"sync"
	"testing"
)

func TestFakeFailureInjection(t *testing.T) {
	ctx := context.Background()
	boom := errors.New("boom")
	k := NewFake()
	k.FailOn = FailNth(2, boom)
	p1 := mustPayload(t, "*filter\n:KUBE-A - [0:0]\nCOMMIT\n")
	p2 := mustPayload(t, "*filter\n:KUBE-B - [0:0]\nCOMMIT\n")
	if err := k.Apply(ctx, p1); err != nil {
		t.Fatal(err)
	}
	before, _ := k.Read(ctx, IPv4)
	if err := k.Apply(ctx, p2); !errors.Is(err, boom) {
		t.Fatalf("second apply: %v", err)
	}
	if after, _ := k.Read(ctx, IPv4); !after.Equal(before) {
		t.Fatal("failed apply changed the state")
	}
	if err := k.Apply(ctx, p2); err != nil {
		t.Fatal(err)
	}
	if got := k.Applied(); len(got) != 2 || got[0] != p1 || got[1] != p2 {
		t.Fatalf("applied %v", got)
	}
	k.FailOn = FailWhen(func(p *Payload) bool { return strings.Contains(string(p.Bytes()), "KUBE-C") }, boom)
	if err := k.Apply(ctx, mustPayload(t, "*filter\n:KUBE-C - [0:0]\nCOMMIT\n")); !errors.Is(err, boom) {
		t.Fatalf("matching payload: %v", err)
	}
	if ok, _ := k.HasChain(ctx, IPv4, TableFilter, "KUBE-B"); !ok {
		t.Fatal("KUBE-B missing")
	}
	if ok, _ := k.HasChain(ctx, IPv4, TableFilter, "KUBE-C"); ok {
		t.Fatal("KUBE-C created by a failed apply")
	}
}

func TestFakeSetAndCanary(t *testing.T) {
	ctx := context.Background()
	k := NewFake()
	k.Set(mustParse(t, "*nat\n"+natBuiltins+":KUBE-PROXY-CANARY - [0:0]\nCOMMIT\n"))
	missing, err := CanaryMissing(ctx, k, IPv4, "KUBE-PROXY-CANARY", TableNat, TableFilter)
	if err != nil || len(missing) != 1 || missing[0] != TableFilter {
		t.Fatalf("missing %v %v", missing, err)
	}
	if missing, _ := CanaryMissing(ctx, k, IPv6, "KUBE-PROXY-CANARY", TableNat); len(missing) != 1 {
		t.Fatalf("IPv6 is a separate state: %v", missing)
	}
	cancelled, cancel := context.WithCancel(ctx)
	cancel()
	if _, err := k.Read(cancelled, IPv4); err == nil {
		t.Fatal("Read ignores a cancelled context")
	}
}

func TestFakeConcurrent(t *testing.T) {
	ctx := context.Background()
	k := NewFake()
	var wg sync.WaitGroup
	for i := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			name := "KUBE-" + string(rune('A'+i))
			_ = k.Apply(ctx, &Payload{Family: IPv4, Tables: []*TablePayload{{Table: TableNat, Ops: []Op{{Kind: OpDeclare, Chain: name}}}}})
			rs, _ := k.Read(ctx, IPv4, TableNat)
			_ = rs.String()
		}()
	}
	wg.Wait()
	if rs, _ := k.Read(ctx, IPv4, TableNat); rs.Table(TableNat).Len() != 4+8 {
		t.Fatalf("chains: %d", rs.Table(TableNat).Len())
	}
}

// FuzzPayload: any restore text either fails to parse or parses into a
// payload that prints to text parsing the same, and applying it to a
// ruleset either succeeds or leaves the ruleset unchanged.
func FuzzPayload(f *testing.F) {
	for _, c := range stateCases {
		f.Add(c.payload)
	}
	f.Fuzz(func(t *testing.T, text string) {
		p, err := ParsePayload(IPv4, []byte(text))
		if err != nil {
			return
		}
		again, err := ParsePayload(IPv4, p.Bytes())
		if err != nil || string(again.Bytes()) != string(p.Bytes()) {
			t.Fatalf("printed payload does not re-parse: %v\n%q", err, p.Bytes())
		}
		_ = p.String()
		rs, _ := ParseString(IPv4, stateXY)
		before := rs.String()
		if err := rs.Apply(p); err != nil && rs.String() != before {
			t.Fatalf("failed apply changed the ruleset: %v", err)
		}
	})
}

// TestApplyRejects covers rejections the shared state table leaves out
// because iptables-nft differs (policy on a user chain) or that only make
// sense against the model.
func TestApplyRejects(t *testing.T) {
	for payload, want := range map[string]error{
		"*filter\n:FOO ACCEPT [0:0]\nCOMMIT\n":         ErrNotBuiltin,
		"*filter\n-P X DROP\nCOMMIT\n":                 ErrNotBuiltin,
		"*filter\n-P INPUT MAYBE\nCOMMIT\n":            ErrBadPolicy,
		"*filter\n-X INPUT\nCOMMIT\n":                  ErrBuiltinChain,
		"*filter\n-N INPUT\nCOMMIT\n":                  ErrChainExists,
		"*filter\n-I Y 3 -j ACCEPT\nCOMMIT\n":          ErrBadPosition,
		"*filter\n-D Y 2\nCOMMIT\n":                    ErrBadPosition,
		"*filter\n-A X -j INPUT\nCOMMIT\n":             ErrNoTarget,
		"*filter\n-X\nCOMMIT\n":                        ErrChainNotEmpty,
		"*filter\n-F NOPE\nCOMMIT\n":                   ErrNoChain,
		"*filter\n-D NOPE -j ACCEPT\nCOMMIT\n":         ErrNoChain,
		"*filter\n-X NOPE\nCOMMIT\n":                   ErrNoChain,
		"*raw\n:NEW - [0:0]\n-A NEW -j NOPE\nCOMMIT\n": ErrNoTarget,
	} {
		rs := mustParse(t, stateXY)
		err := rs.Apply(mustPayload(t, payload))
		var ae *ApplyError
		if !errors.Is(err, want) || !errors.As(err, &ae) || ae.Line < 2 {
			t.Errorf("%q: got %v, want %v with a line", payload, err, want)
		}
		if !rs.EqualWithCounters(mustParse(t, stateXY)) || rs.Table(TableRaw) != nil {
			t.Errorf("%q: rejected payload changed the ruleset", payload)
		}
	}
	rs := mustParse(t, stateXY)
	if err := rs.Apply(mustPayload(t, "*filter\n-F\n-X\n-P INPUT DROP\nCOMMIT\n")); err != nil {
		t.Fatal(err)
	}
	if rs.Table(TableFilter).Len() != 3 || rs.Table(TableFilter).Chain("INPUT").Policy != "DROP" {
		t.Fatalf("after -F, -X, -P:\n%s", rs)
	}
}

func TestFamilyMismatch(t *testing.T) {
	v4, v6 := NewRuleset(IPv4), NewRuleset(IPv6)
	if _, err := Diff(v4, v6, kube); err == nil {
		t.Fatal("Diff across families accepted")
	}
	if err := v4.Apply(&Payload{Family: IPv6}); err == nil {
		t.Fatal("Apply across families accepted")
	}
	if IPv6.String() != "IPv6" || Family(9).String() != "Family(9)" {
		t.Fatal(IPv6.String(), Family(9).String())
	}
}

// TestApplyMultipleOpLine: an error inside a multiple op names the line of
// the failing command in the printed payload.
func TestApplyMultipleOpLine(t *testing.T) {
	a := NewChain("KUBE-A", mustRule(t, "KUBE-A", "-j", "KUBE-B"), mustRule(t, "KUBE-A", "-j", "KUBE-NOPE"))
	b := &Chain{Name: "KUBE-B"}
	p := &Payload{Family: IPv4, Tables: []*TablePayload{{Table: TableNat, Ops: []Op{
		{Kind: OpDeclare, Chains: []*Chain{a, b}},
		{Kind: OpFill, Chains: []*Chain{b, a}},
	}}}}
	rs := NewRuleset(IPv4)
	err := rs.Apply(p)
	var ae *ApplyError
	if !errors.As(err, &ae) || !errors.Is(err, ErrNoTarget) {
		t.Fatalf("got %v", err)
	}
	lines := strings.Split(string(p.Bytes()), "\n")
	if ae.Line != 5 || lines[ae.Line-1] != ae.Text || ae.Text != "-A KUBE-A -j KUBE-NOPE" {
		t.Fatalf("line %d %q; payload:\n%s", ae.Line, ae.Text, p.Bytes())
	}
	if rs.Table(TableNat) != nil && rs.Table(TableNat).Chain("KUBE-A") != nil {
		t.Fatal("failed apply left a chain behind")
	}
	if p.Writes() != 4 {
		t.Fatalf("writes %d, want 4", p.Writes())
	}
	empty := &Payload{Family: IPv4, Tables: []*TablePayload{{Table: TableNat, Ops: []Op{{Kind: OpFill}}}}}
	if err := NewRuleset(IPv4).Apply(empty); err != nil || len(empty.Bytes()) != len("*nat\nCOMMIT\n") || !empty.Empty() {
		t.Fatalf("an OpFill without chains: %v, %q", err, empty.Bytes())
	}
}

func mustRule(t *testing.T, chain string, args ...string) Rule {
	t.Helper()
	r, err := NewRule(chain, args...)
	if err != nil {
		t.Fatal(err)
	}
	return r
}

// TestApplyPolicyThenDeleteRollsBack: setting a built-in chain's policy and
// then deleting one of its rules, in a payload that fails later, leaves the
// chain's rules as they were, in the ruleset and in a clone taken before.
func TestApplyPolicyThenDeleteRollsBack(t *testing.T) {
	rs := mustParse(t, "*filter\n:INPUT ACCEPT [0:0]\n-A INPUT -s 10.0.0.1/32 -j DROP\n-A INPUT -s 10.0.0.2/32 -j DROP\nCOMMIT\n")
	before := rs.Clone()
	want := rs.String()
	p, err := ParsePayload(IPv4, []byte("*filter\n:INPUT DROP [0:0]\n-D INPUT 1\n-A NO-SUCH-CHAIN -j DROP\nCOMMIT\n"))
	if err != nil {
		t.Fatal(err)
	}
	if err := rs.Apply(p); err == nil {
		t.Fatal("a payload appending to a missing chain applied")
	}
	if got := rs.String(); got != want {
		t.Fatalf("after a failed apply:\n%s\nwant\n%s", got, want)
	}
	if got := before.String(); got != want {
		t.Fatalf("a clone taken before changed:\n%s\nwant\n%s", got, want)
	}
}
