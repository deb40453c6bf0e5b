package nftables

import (
	"bytes"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/google/nftables/expr"
)

// Every statement compiles to kernel expressions that decode back to the
// same text (the real-kernel test checks the same through netlink).
func TestCompileDecodeRoundTrip(t *testing.T) {
	for _, tb := range richRuleset().Tables {
		for _, c := range tb.Chains() {
			for _, r := range c.Rules {
				exprs, err := compileRule(tb.Family, r)
				if err != nil {
					t.Fatalf("%s %s: %v", tb.ID(), c.Name, err)
				}
				back := Rule{Stmts: decodeRule(tb.Family, exprs), Comment: r.Comment}
				if got, want := ruleText(tb.Family, back), ruleText(tb.Family, r); got != want {
					t.Errorf("%s %s: decoded %q, want %q", tb.ID(), c.Name, got, want)
				}
			}
		}
	}
}

func TestCompileRejectsBadStatements(t *testing.T) {
	bad := []Stmt{
		DNAT{}, Jump(""), NumgenVMap{Map: "m"}, MatchIfname{Name: "much-too-long-interface"},
		Reject{Type: RejectICMPX, Code: "port-unreachable"}, Reject{Type: RejectICMP, Code: "nope"},
		MatchAddr{Field: IPSAddr, Prefix: pfx("fd00::/8")}, VMap{Map: "m"},
	}
	for _, s := range bad {
		if _, err := compileRule(FamilyIPv4, Rule{Stmts: []Stmt{s}}); !errors.Is(err, ErrInvalid) {
			t.Errorf("%#v: want ErrInvalid, got %v", s, err)
		}
	}
	for _, s := range []Stmt{MatchAddr{Field: IPSAddr, Prefix: pfx("10.0.0.1")}, DNAT{Addr: pfx("10.0.0.1").Addr()}} {
		if _, err := compileRule(FamilyInet, Rule{Stmts: []Stmt{s}}); !errors.Is(err, ErrInvalid) {
			t.Errorf("%v in an inet table: want ErrInvalid, got %v", s, err)
		}
	}
}

func TestDiffOrdersReferences(t *testing.T) {
	rich := richRuleset()
	tx := Diff(nil, rich, nil)
	pos := map[string]int{}
	for i, op := range tx.Ops {
		pos[op.Kind.String()+" "+op.Name] = i
	}
	if pos["add chain endpoint-web-a"] > pos["add element endpoints-web"] || pos["add set services"] > pos["add rule services-dispatch"] {
		t.Errorf("objects used before they are created:\n%s", tx)
	}
	del := Diff(rich, &Ruleset{Tables: []*Table{NewTable(FamilyIPv4, "proxykit")}}, nil)
	pos = map[string]int{}
	for i, op := range del.Ops {
		pos[op.Kind.String()+" "+op.Name] = i
	}
	if pos["flush chain service-web"] > pos["delete chain endpoint-web-a"] || pos["delete set endpoints-web"] > pos["delete chain endpoint-web-a"] {
		t.Errorf("objects deleted while referenced:\n%s", del)
	}
	// Applying both to the strict fake proves the order.
	f := NewFake()
	mustApply(t, f, tx)
	mustApply(t, f, del)
	if Diff(rich, rich, nil).String() != "# no changes\n" {
		t.Error("diff of equal rulesets is not empty")
	}
}

func TestSetRedefinitionRewritesUsers(t *testing.T) {
	f := NewFake()
	rich := richRuleset()
	mustApply(t, f, Diff(nil, rich, nil))
	next := richRuleset()
	next.Tables[0].Set("cluster-ips").Comment = "changed"
	tx := Diff(rich, next, nil)
	if !strings.Contains(tx.String(), "flush chain ip proxykit filter-forward") {
		t.Errorf("users of a recreated set are not rewritten:\n%s", tx)
	}
	mustApply(t, f, tx)
	assertState(t, f, next)
}

func TestFormatDurationAndPriority(t *testing.T) {
	durations := map[time.Duration]string{3 * time.Hour: "3h", 90 * time.Minute: "1h30m", 10801 * time.Second: "3h1s",
		26 * time.Hour: "1d2h", 1500 * time.Millisecond: "1s500ms"}
	for d, want := range durations {
		if got := FormatDuration(d); got != want {
			t.Errorf("FormatDuration(%v) = %q, want %q", d, got, want)
		}
	}
	prios := map[string]string{"prerouting/-100": "dstnat", "output/-100": "-100", "forward/-5": "filter - 5",
		"postrouting/100": "srcnat", "input/-300": "raw", "forward/500": "500"}
	for in, want := range prios {
		var hook string
		var prio int
		parts := strings.Split(in, "/")
		hook = parts[0]
		for _, c := range strings.TrimPrefix(parts[1], "-") {
			prio = prio*10 + int(c-'0')
		}
		if strings.HasPrefix(parts[1], "-") {
			prio = -prio
		}
		if got := priorityString(hook, prio); got != want {
			t.Errorf("priority %s = %q, want %q", in, got, want)
		}
	}
}

func TestNormalize(t *testing.T) {
	listing := "table ip x { # handle 3\n\tset s { # handle 2\n\t\ttype ipv4_addr\n\t\telements = { 10.0.0.2, \"a,b\",\n\t\t\t10.0.0.1 expires 3s }\n\t}\n\tchain b { # handle 1\n\t\tcounter packets 5 bytes 300 # handle 4\n\t}\n\tchain a {\n\t}\n}\n"
	want := "table ip x {\nchain a {\n}\nchain b {\ncounter\n}\nset s {\ntype ipv4_addr\nelements = { \"a,b\", 10.0.0.1, 10.0.0.2 }\n}\n}\n"
	if got := Normalize(listing); got != want {
		t.Errorf("Normalize:\n%s\nwant:\n%s", got, want)
	}
}

func TestModelRejectsMalformed(t *testing.T) {
	tb := NewTable(FamilyIPv4, "proxykit")
	bad := []*Set{
		{Name: "1bad", Key: []DataType{TypeMark}},
		{Name: "s", Key: nil},
		{Name: "s", Key: []DataType{TypeMark}, Elements: []Element{{Key: []Value{Port(1)}}}},
		{Name: "m", Key: []DataType{TypeMark}, Verdict: true, Elements: []Element{{Key: []Value{Mark(1)}}}},
		{Name: "t", Key: []DataType{TypeMark}, Elements: []Element{{Key: []Value{Mark(1)}, Timeout: time.Second}}},
		{Name: "q", Key: []DataType{TypeMark}, Comment: `say "hi"`},
	}
	for _, s := range bad {
		if err := tb.AddSet(s); !errors.Is(err, ErrInvalid) {
			t.Errorf("%+v: want ErrInvalid, got %v", s, err)
		}
	}
	if err := tb.AddChain(&Chain{Name: "has space"}); !errors.Is(err, ErrInvalid) {
		t.Errorf("bad chain name accepted: %v", err)
	}
	must(tb.AddChain(&Chain{Name: "c"}))
	if err := tb.AddChain(&Chain{Name: "c"}); !errors.Is(err, ErrInvalid) {
		t.Errorf("duplicate chain accepted: %v", err)
	}
}

// The batch writer's own expression encoder produces exactly what
// expr.Marshal does, for every expression of the rich ruleset.
func TestPutExprMatchesMarshal(t *testing.T) {
	for _, tb := range richRuleset().Tables {
		for _, c := range tb.Chains() {
			for _, r := range c.Rules {
				exprs, err := compileRule(tb.Family, r)
				if err != nil {
					t.Fatal(err)
				}
				for _, e := range exprs {
					want, err := expr.Marshal(byte(tb.Family), e)
					if err != nil {
						t.Fatal(err)
					}
					b := &nlBatch{}
					if err := b.putExpr(tb.Family, e); err != nil {
						t.Fatal(err)
					}
					if !bytes.Equal(b.buf, want) {
						t.Errorf("%T %+v:\n got % x\nwant % x", e, e, b.buf, want)
					}
				}
			}
		}
	}
}
