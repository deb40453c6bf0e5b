package iptables

import (
	"errors"
	"strings"
	"testing"

	"github.com/proxykit/proxykit/internal/fixture"
)

// TestRenderedJumpsChecked: a full render records that its jumps land on
// its chains or on verdicts, so Diff skips looking them up; a change to the
// table drops the record, and Diff then finds a dangling jump. Diff gives
// the same payload with and without the record, and still looks the
// targets up when the ownership claims a verdict's name.
func TestRenderedJumpsChecked(t *testing.T) {
	_, plan := fixture.Plan(t, 300, 3)
	rs, err := Render(plan, IPv4, RenderOptions{})
	if err != nil {
		t.Fatal(err)
	}
	for _, tb := range rs.tables {
		if !tb.jumpsChecked() {
			t.Fatalf("%s: rendered table has no jump record", tb.Name)
		}
	}
	clone := rs.Clone()
	if !clone.Table(TableNat).jumpsChecked() {
		t.Fatal("a clone lost the jump record")
	}
	parsed := mustParse(t, rs.String())
	if parsed.Table(TableNat).jumpsChecked() {
		t.Fatal("a parsed table has a jump record")
	}
	fast, err1 := Diff(NewRuleset(IPv4), rs, kube)
	slow, err2 := Diff(NewRuleset(IPv4), parsed, kube)
	if err1 != nil || err2 != nil || string(fast.Bytes()) != string(slow.Bytes()) {
		t.Fatalf("payloads differ with and without the record: %v, %v", err1, err2)
	}
	var sep string
	for _, c := range clone.Table(TableNat).Chains() {
		if strings.HasPrefix(c.Name, "KUBE-SEP-") {
			sep = c.Name
			break
		}
	}
	if !clone.Table(TableNat).DeleteChain(sep) || clone.Table(TableNat).jumpsChecked() {
		t.Fatal("deleting a chain kept the jump record")
	}
	var re *ReferenceError
	if _, err := Diff(NewRuleset(IPv4), clone, kube); !errors.As(err, &re) || re.Target != sep {
		t.Fatalf("dangling jump to %s: %v", sep, err)
	}
	claims := Ownership{Func: func(c string) bool { return c == "DNAT" || strings.HasPrefix(c, "KUBE-") }}
	if _, err := Diff(NewRuleset(IPv4), rs, claims); !errors.As(err, &re) || re.Target != "DNAT" {
		t.Fatalf("an owned DNAT chain that desired lacks: %v", err)
	}
}

// TestJumpsAmong: a port's rules are known only when every target is one
// of its chains, the extra chain or a verdict.
func TestJumpsAmong(t *testing.T) {
	chains := []*Chain{{Name: "A"}, {Name: "B"}, {Name: "C"}}
	if !jumpsAmong([]string{"C", "", "A", "X", "DNAT", "B"}, chains, "X") {
		t.Fatal("known jumps rejected")
	}
	if jumpsAmong([]string{"A", "D"}, chains, "X") || jumpsAmong([]string{"A"}, nil, "") {
		t.Fatal("an unknown jump accepted")
	}
}
