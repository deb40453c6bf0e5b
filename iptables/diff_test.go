package iptables

import (
	"bytes"
	"errors"
	"slices"
	"strings"
	"testing"

	"github.com/proxykit/proxykit/internal/fixture"
)

var kube = OwnPrefix("KUBE-")

func mustParse(t testing.TB, s string) *Ruleset {
	t.Helper()
	rs, err := ParseString(IPv4, s)
	if err != nil {
		t.Fatal(err)
	}
	return rs
}

const diffBase = `*nat
:PREROUTING ACCEPT [0:0]
:INPUT ACCEPT [0:0]
:OUTPUT ACCEPT [0:0]
:POSTROUTING ACCEPT [0:0]
:DOCKER - [0:0]
:KUBE-SERVICES - [0:0]
:KUBE-SVC-A - [0:0]
:KUBE-SEP-A1 - [0:0]
:KUBE-SEP-A2 - [0:0]
-A PREROUTING -m addrtype --dst-type LOCAL -j DOCKER
-A PREROUTING -m comment --comment "kubernetes service portals" -j KUBE-SERVICES
-A DOCKER -i docker0 -j RETURN
-A KUBE-SERVICES -d 10.96.0.1/32 -p tcp -m comment --comment "a cluster IP" -m tcp --dport 80 -j KUBE-SVC-A
-A KUBE-SVC-A -m statistic --mode random --probability 0.50000000000 -j KUBE-SEP-A1
-A KUBE-SVC-A -j KUBE-SEP-A2
-A KUBE-SEP-A1 -p tcp -m tcp -j DNAT --to-destination 10.244.1.2:80
-A KUBE-SEP-A2 -p tcp -m tcp -j DNAT --to-destination 10.244.1.3:80
COMMIT
`

// applyDiff diffs, applies the payload to a copy of current, and checks
// that the result holds exactly desired's owned part and current's foreign
// part.
func applyDiff(t *testing.T, current, desired *Ruleset) *Payload {
	t.Helper()
	p, err := Diff(current, desired, kube)
	if err != nil {
		t.Fatal(err)
	}
	got := current.Clone()
	if err := got.Apply(p); err != nil {
		t.Fatalf("apply: %v\n%s", err, p.Bytes())
	}
	checkSynced(t, current, desired, got, kube)
	again, err := Diff(got, desired, kube)
	if err != nil || !again.Empty() {
		t.Fatalf("second diff not empty: %v\n%s", err, again.Bytes())
	}
	return p
}

// checkSynced checks that got holds exactly desired's owned chains and
// owned built-in rules (in desired order) and current's foreign chains and
// foreign built-in rules (in current order).
func checkSynced(t *testing.T, current, desired, got *Ruleset, own Ownership) {
	t.Helper()
	split := func(rs *Ruleset, table, chain string) (owned, foreign []string) {
		if tb := rs.Table(table); tb != nil && tb.Chain(chain) != nil {
			for _, r := range tb.Chain(chain).Rules() {
				if own.Owns(r.Target) {
					owned = append(owned, r.Spec)
				} else {
					foreign = append(foreign, r.Spec)
				}
			}
		}
		return owned, foreign
	}
	for _, rs := range []*Ruleset{current, desired, got} {
		for _, tb := range rs.Tables() {
			for _, c := range tb.Chains() {
				gOwned, gForeign := split(got, tb.Name, c.Name)
				dOwned, _ := split(desired, tb.Name, c.Name)
				cOwned, cForeign := split(current, tb.Name, c.Name)
				switch {
				case IsBuiltin(tb.Name, c.Name) || !own.Owns(c.Name):
					if !slices.Equal(gForeign, cForeign) {
						t.Fatalf("%s %s: foreign rules %q, want %q", tb.Name, c.Name, gForeign, cForeign)
					}
					if IsBuiltin(tb.Name, c.Name) && !slices.Equal(gOwned, dOwned) || !IsBuiltin(tb.Name, c.Name) && !slices.Equal(gOwned, cOwned) {
						t.Fatalf("%s %s: owned rules %q, want %q", tb.Name, c.Name, gOwned, dOwned)
					}
				default:
					gc, dc := got.Table(tb.Name).Chain(c.Name), desired.Table(tb.Name)
					if dc == nil || dc.Chain(c.Name) == nil {
						if gc != nil {
							t.Fatalf("%s %s: still there", tb.Name, c.Name)
						}
					} else if !gc.Equal(dc.Chain(c.Name)) {
						t.Fatalf("%s %s: %v, want %v", tb.Name, c.Name, gc.Rules(), dc.Chain(c.Name).Rules())
					}
				}
			}
		}
	}
}

func TestDiffEqualIsEmpty(t *testing.T) {
	cur := mustParse(t, diffBase)
	p, err := Diff(cur, mustParse(t, diffBase), kube)
	if err != nil || !p.Empty() || p.String() != "no changes\n" || len(p.Bytes()) != 0 {
		t.Fatalf("%v %q %q", err, p, p.Bytes())
	}
}

func TestDiffEndpointChange(t *testing.T) {
	cur := mustParse(t, diffBase)
	// Endpoint A2 replaced by A3: SVC rewritten, SEP-A3 added, SEP-A2 deleted.
	des := mustParse(t, strings.NewReplacer(
		"KUBE-SEP-A2", "KUBE-SEP-A3", "10.244.1.3", "10.244.1.4").Replace(diffBase))
	p := applyDiff(t, cur, des)
	want := "*nat\n:KUBE-SEP-A3 - [0:0]\n:KUBE-SVC-A - [0:0]\n:KUBE-SEP-A2 - [0:0]\n" +
		"-A KUBE-SEP-A3 -p tcp -m tcp -j DNAT --to-destination 10.244.1.4:80\n" +
		"-A KUBE-SVC-A -m statistic --mode random --probability 0.50000000000 -j KUBE-SEP-A1\n" +
		"-A KUBE-SVC-A -j KUBE-SEP-A3\n-X KUBE-SEP-A2\nCOMMIT\n"
	if string(p.Bytes()) != want {
		t.Fatalf("payload:\n%s\nwant:\n%s", p.Bytes(), want)
	}
	summary := "nat: + chain KUBE-SEP-A3 (1 rule)\nnat: ~ chain KUBE-SVC-A: 2 rules -> 2\nnat: - chain KUBE-SEP-A2 (1 rule)\n"
	if p.String() != summary {
		t.Fatalf("summary:\n%s", p)
	}
	if strings.Contains(string(p.Bytes()), "KUBE-SERVICES") {
		t.Fatal("KUBE-SERVICES rewritten")
	}
	// DiffChanged with the affected chains gives the same payload.
	pc, err := DiffChanged(cur, des, kube, []ChainRef{{"nat", "KUBE-SVC-A"}, {"nat", "KUBE-SEP-A2"}, {"nat", "KUBE-SEP-A3"}, {"nat", "DOCKER"}})
	if err != nil || string(pc.Bytes()) != want {
		t.Fatalf("DiffChanged: %v\n%s", err, pc.Bytes())
	}
}

func TestDiffBuiltinRules(t *testing.T) {
	cur := mustParse(t, strings.Replace(diffBase,
		"-A PREROUTING -m addrtype", "-A PREROUTING -m comment --comment \"kubernetes service portals\" -j KUBE-SERVICES\n-A PREROUTING -m addrtype", 1))
	des := mustParse(t, diffBase)
	p := applyDiff(t, cur, des) // the duplicate jump goes
	if got := string(p.Bytes()); got != "*nat\n-D PREROUTING -m comment --comment \"kubernetes service portals\" -j KUBE-SERVICES\nCOMMIT\n" {
		t.Fatalf("payload:\n%s", got)
	}
	// A new owned jump in OUTPUT, and one in POSTROUTING before an existing one.
	des2 := mustParse(t, strings.Replace(diffBase, "-A DOCKER -i", "-A OUTPUT -j KUBE-SERVICES\n-A DOCKER -i", 1))
	p = applyDiff(t, des, des2)
	if got := string(p.Bytes()); got != "*nat\n-I OUTPUT 1 -j KUBE-SERVICES\nCOMMIT\n" {
		t.Fatalf("payload:\n%s", got)
	}
	des3 := mustParse(t, strings.Replace(diffBase, "-A PREROUTING -m addrtype", "-A PREROUTING -j KUBE-SVC-A\n-A PREROUTING -m addrtype", 1))
	applyDiff(t, des, des3) // -I of the new first rule
	des4 := mustParse(t, strings.Replace(diffBase, "-A DOCKER -i", "-A PREROUTING -j KUBE-SVC-A\n-A DOCKER -i", 1))
	applyDiff(t, des3, des4) // order changes: delete and re-insert
}

func TestDiffKeepsForeignReferencedChain(t *testing.T) {
	cur := mustParse(t, strings.Replace(diffBase, "-A DOCKER -i docker0 -j RETURN", "-A DOCKER -j KUBE-SEP-A2", 1))
	des := mustParse(t, strings.NewReplacer(":KUBE-SEP-A2 - [0:0]\n", "", "-A KUBE-SVC-A -j KUBE-SEP-A2\n", "",
		"-A KUBE-SEP-A2 -p tcp -m tcp -j DNAT --to-destination 10.244.1.3:80\n", "").Replace(diffBase))
	p, err := Diff(cur, des, kube)
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(string(p.Bytes()), "KUBE-SEP-A2") || !strings.Contains(p.String(), "= chain KUBE-SEP-A2 kept: still referenced by chain DOCKER") {
		t.Fatalf("payload:\n%s\nsummary:\n%s", p.Bytes(), p)
	}
	got := cur.Clone()
	if err := got.Apply(p); err != nil {
		t.Fatal(err)
	}
}

func TestDiffReferenceError(t *testing.T) {
	cur := mustParse(t, diffBase)
	des := mustParse(t, strings.Replace(diffBase, ":KUBE-SEP-A2 - [0:0]\n", "", 1)[:0]+
		strings.NewReplacer(":KUBE-SEP-A2 - [0:0]\n", "", "-A KUBE-SEP-A2 -p tcp -m tcp -j DNAT --to-destination 10.244.1.3:80\n", "").Replace(diffBase))
	var re *ReferenceError
	if _, err := Diff(cur, des, kube); !errors.As(err, &re) || re.Target != "KUBE-SEP-A2" || re.Chain != "KUBE-SVC-A" {
		t.Fatalf("got %v", err)
	}
}

func TestDiffCleanupRemovesOnlyOwned(t *testing.T) {
	cur := mustParse(t, diffBase)
	p := applyDiff(t, cur, NewRuleset(IPv4))
	got := cur.Clone()
	_ = got.Apply(p)
	want := "*nat\n:PREROUTING ACCEPT [0:0]\n:INPUT ACCEPT [0:0]\n:OUTPUT ACCEPT [0:0]\n:POSTROUTING ACCEPT [0:0]\n:DOCKER - [0:0]\n" +
		"-A PREROUTING -m addrtype --dst-type LOCAL -j DOCKER\n-A DOCKER -i docker0 -j RETURN\nCOMMIT\n"
	if got.String() != want {
		t.Fatalf("after cleanup:\n%s", got)
	}
}

// TestFullPayloadPrintsLikeRuleByRule: a payload that adds many chains
// (printed from the renderer's lines or rule by rule, by Bytes into one
// buffer or by WriteTo through a buffer it flushes many times) prints
// exactly what one line per chain or rule gives.
func TestFullPayloadPrintsLikeRuleByRule(t *testing.T) {
	_, plan := fixture.Plan(t, 3000, 10) // declarations of many restoreBufSize
	rendered, _ := Render(plan, IPv4, RenderOptions{})
	for name, rs := range map[string]*Ruleset{"rendered": rendered, "parsed": mustParse(t, kubeDump(1000, 10))} {
		p, err := Diff(NewRuleset(IPv4), rs, kube)
		if err != nil {
			t.Fatal(err)
		}
		var want []byte
		for _, tp := range p.Tables {
			want = append(want, "*"+tp.Table+"\n"...)
			for _, o := range tp.Ops {
				if !o.multi() {
					want = o.appendTo(want)
					continue
				}
				for _, c := range o.Chains {
					if o.Kind == OpDeclare {
						want = appendDeclaration(want, c.Name, "", Counters{})
						continue
					}
					if o.Kind != OpFill {
						want = o.appendOne(want, c)
						continue
					}
					for _, r := range c.Rules() {
						want = appendRule(want, "-A", &r, false)
					}
				}
			}
			want = append(want, "COMMIT\n"...)
		}
		if got := p.Bytes(); string(got) != string(want) || len(want) < 16*restoreBufSize {
			t.Fatalf("%s: payload of %d bytes differs from rule by rule (%d bytes)", name, len(got), len(want))
		}
		var streamed bytes.Buffer
		if n, err := p.WriteTo(&streamed); err != nil || n != int64(len(want)) || streamed.String() != string(want) {
			t.Fatalf("%s: WriteTo wrote %d bytes (%v), differing from rule by rule (%d bytes)", name, n, err, len(want))
		}
	}
}
