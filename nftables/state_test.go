package nftables

import (
	"context"
	"errors"
	"fmt"
	"net/netip"
	"sort"
	"strings"
	"syscall"
	"testing"
)

// kernelUnderTest is a Kernel plus a way to change it behind its back.
type kernelUnderTest struct {
	k      Kernel
	tamper func(t *testing.T, tx *Transaction) // applies without ownership checks
}

func fakeUnderTest(*testing.T) kernelUnderTest {
	f := NewFake()
	return kernelUnderTest{k: f, tamper: func(t *testing.T, tx *Transaction) {
		if err := f.Tamper(context.Background(), tx); err != nil {
			t.Fatal(err)
		}
	}}
}

func netlinkUnderTest(t *testing.T) kernelUnderTest {
	ns := newTestNS(t)
	k := ns.kernel(t)
	other := ns.kernel(t, tv4, tv6, TableID{FamilyIPv4, "foreign"})
	return kernelUnderTest{k: k, tamper: func(t *testing.T, tx *Transaction) { mustApply(t, other, tx) }}
}

func eachKernel(t *testing.T, test func(t *testing.T, kut kernelUnderTest)) {
	t.Run("fake", func(t *testing.T) { test(t, fakeUnderTest(t)) })
	t.Run("netlink", func(t *testing.T) { test(t, netlinkUnderTest(t)) })
}

func assertState(t *testing.T, k Kernel, want *Ruleset) {
	t.Helper()
	if tx := Diff(mustRead(t, k), want, nil); !tx.Empty() {
		t.Fatalf("kernel differs from the desired ruleset:\n%s", tx)
	}
}

// withEndpoint returns a copy of the rich ruleset whose ip table's numgen map
// has a third endpoint chain (one service's endpoints changed).
func withEndpoint() (*Ruleset, *Scope) {
	rs := richRuleset()
	t := rs.Tables[0]
	ep := &Chain{Name: "endpoint-web-b", Rules: []Rule{{Stmts: []Stmt{MatchProto{Proto: 6}, DNAT{Addr: netip.MustParseAddr("10.244.2.3"), Port: 8080}}}}}
	must(t.AddChain(ep))
	m := t.Set("endpoints-web")
	m.Elements = append(m.Elements, Element{Key: []Value{Int(2)}, Verdict: vp(Goto("endpoint-web-b"))})
	t.Chain("service-web").Rules[2] = Rule{Stmts: []Stmt{NumgenVMap{Mod: 3, Map: "endpoints-web"}}}
	return rs, &Scope{Chains: []ObjectRef{{tv4, "endpoint-web-b"}, {tv4, "service-web"}}, Sets: []ObjectRef{{tv4, "endpoints-web"}}}
}

func sortedLines(s string) string {
	l := strings.Split(s, "\n")
	sort.Strings(l)
	return strings.Join(l, "\n")
}

func TestKernelState(t *testing.T) {
	eachKernel(t, func(t *testing.T, kut kernelUnderTest) {
		ctx := context.Background()
		k := kut.k
		rich := richRuleset()
		mustApply(t, k, Diff(nil, rich, nil))
		assertState(t, k, rich)

		// An incremental change is small, and scoped and full diffs agree.
		next, scope := withEndpoint()
		tx := Diff(rich, next, scope)
		if full := Diff(mustRead(t, k), next, nil); sortedLines(full.String()) != sortedLines(tx.String()) {
			t.Errorf("scoped diff\n%s\ndiffers from full diff\n%s", tx, full)
		}
		if len(tx.Ops) != 7 { // add chain, its rule, flush+rewrite service-web (1+3), add element
			t.Errorf("incremental tx has %d ops, want 7:\n%s", len(tx.Ops), tx)
		}
		mustApply(t, k, tx)
		assertState(t, k, next)

		// An invalid last op fails the whole transaction: nothing changes.
		bad := Diff(next, rich, nil)
		bad.Ops = append(bad.Ops, Op{Kind: OpAddRule, Table: tv4, Name: "empty", Rule: &Rule{Stmts: []Stmt{Jump("no-such-chain")}}})
		err := k.Apply(ctx, bad)
		var ae *ApplyError
		if !errors.As(err, &ae) || ae.Index != len(bad.Ops)-1 || !errors.Is(err, syscall.ENOENT) {
			t.Fatalf("want ApplyError at the last op wrapping ENOENT, got %v", err)
		}
		assertState(t, k, next)

		// Deleting a chain still referenced is refused.
		err = k.Apply(ctx, &Transaction{Ops: []Op{{Kind: OpFlushChain, Table: tv4, Name: "endpoint-web-b"}, {Kind: OpDeleteChain, Table: tv4, Name: "endpoint-web-b"}}})
		if !errors.Is(err, syscall.EBUSY) {
			t.Fatalf("deleting a referenced chain: want EBUSY, got %v", err)
		}
		assertState(t, k, next)
	})
}

func TestKernelDriftRepaired(t *testing.T) {
	eachKernel(t, func(t *testing.T, kut kernelUnderTest) {
		rich := richRuleset()
		mustApply(t, kut.k, Diff(nil, rich, nil))
		drifts := []*Transaction{
			{Ops: []Op{{Kind: OpDeleteElements, Table: tv4, Name: "services", Elements: rich.Tables[0].Set("services").Elements[:1]}}},
			{Ops: []Op{{Kind: OpFlushChain, Table: tv4, Name: "service-web"}}},
			{Ops: []Op{{Kind: OpFlushChain, Table: tv4, Name: "masquerading"}, {Kind: OpFlushChain, Table: tv4, Name: "nat-postrouting"},
				{Kind: OpDeleteChain, Table: tv4, Name: "nat-postrouting"}}},
			{Ops: []Op{{Kind: OpDeleteTable, Table: tv6}}},
		}
		for _, d := range drifts {
			kut.tamper(t, d)
			tx := Diff(mustRead(t, kut.k), rich, nil)
			if tx.Empty() {
				t.Fatalf("drift %s not seen by Read", d)
			}
			mustApply(t, kut.k, tx)
			assertState(t, kut.k, rich)
		}
	})
}

func TestKernelLeavesForeignTables(t *testing.T) {
	eachKernel(t, func(t *testing.T, kut kernelUnderTest) {
		foreign := NewTable(FamilyIPv4, "foreign")
		must(foreign.AddChain(&Chain{Name: "input", Hook: &Hook{Type: "filter", Hook: "input"}, Rules: []Rule{{Stmts: []Stmt{Counter{}, Accept()}}}}))
		kut.tamper(t, Diff(nil, &Ruleset{Tables: []*Table{foreign}}, nil))

		rich := richRuleset()
		mustApply(t, kut.k, Diff(nil, rich, nil))
		if rs := mustRead(t, kut.k); rs.Table(foreign.ID()) != nil {
			t.Error("Read returned a foreign table")
		}
		if err := Cleanup(context.Background(), kut.k); err != nil {
			t.Fatal(err)
		}
		err := kut.k.Apply(context.Background(), Diff(&Ruleset{Tables: []*Table{foreign}}, &Ruleset{}, nil))
		if !errors.Is(err, ErrNotOwned) {
			t.Errorf("deleting a foreign table: want ErrNotOwned, got %v", err)
		}
		if rs := mustRead(t, kut.k); len(rs.Tables) != 0 {
			t.Errorf("owned tables left after cleanup: %d", len(rs.Tables))
		}
		// The foreign table is still there (checked through a kernel that owns it).
		kut.tamper(t, &Transaction{Ops: []Op{{Kind: OpDeleteTable, Table: foreign.ID()}}})
	})
}

func TestFakeChecksReferences(t *testing.T) {
	ctx := context.Background()
	f := NewFake()
	mustApply(t, f, Diff(nil, richRuleset(), nil))
	cases := map[string]Op{
		"goto missing chain":    {Kind: OpAddRule, Table: tv4, Name: "empty", Rule: &Rule{Stmts: []Stmt{Goto("nope")}}},
		"lookup missing set":    {Kind: OpAddRule, Table: tv4, Name: "empty", Rule: &Rule{Stmts: []Stmt{Lookup{Keys: []Field{IPSAddr}, Set: "nope"}}}},
		"key does not fit":      {Kind: OpAddRule, Table: tv4, Name: "empty", Rule: &Rule{Stmts: []Stmt{VMap{Keys: []Field{IPSAddr}, Map: "services"}}}},
		"delete referenced set": {Kind: OpDeleteSet, Table: tv4, Name: "services"},
		"element to nowhere":    {Kind: OpAddElements, Table: tv4, Name: "nodeports", Elements: []Element{{Key: []Value{Proto(17), Port(1)}, Verdict: vp(Goto("nope"))}}},
		"delete non-empty":      {Kind: OpDeleteChain, Table: tv4, Name: "masquerading"},
		"missing table":         {Kind: OpAddChain, Table: TableID{FamilyIPv4, "proxykit"}, Name: "x", Chain: &Chain{Name: "y"}},
	}
	for name, op := range cases {
		if err := f.Apply(ctx, &Transaction{Ops: []Op{op}}); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
	f.SetFault(func(i int, op Op) error {
		if op.Kind == OpAddElements {
			return syscall.ENOMEM
		}
		return nil
	})
	next, scope := withEndpoint()
	if err := f.Apply(ctx, Diff(richRuleset(), next, scope)); !errors.Is(err, syscall.ENOMEM) {
		t.Fatalf("injected fault: got %v", err)
	}
	assertState(t, f, richRuleset())
	if !strings.Contains(Diff(richRuleset(), next, scope).String(), "add element ip proxykit endpoints-web { 2 : goto endpoint-web-b }") {
		t.Error("transaction text lacks the element")
	}
}

// After lost replies Apply reads the kernel back: an applied transaction is
// recognised as such, one that did not take effect is reported.
func TestNetlinkVerifiesByReadBack(t *testing.T) {
	ns := newTestNS(t)
	k := ns.kernel(t)
	ctx := context.Background()
	rich := richRuleset()
	tx := Diff(nil, rich, nil)
	mustApply(t, k, tx)
	cause := errOutcomeUnknown
	if err := k.verify(ctx, tx, cause); err != nil {
		t.Fatalf("applied transaction not recognised: %v", err)
	}
	next, scope := withEndpoint()
	notApplied := Diff(rich, next, scope)
	err := k.verify(ctx, notApplied, cause)
	if !errors.Is(err, errOutcomeUnknown) {
		t.Fatalf("unapplied transaction: want an error wrapping the cause, got %v", err)
	}
	if VerifyApplied(mustRead(t, k), notApplied) == nil {
		t.Fatal("VerifyApplied accepted a transaction that was not applied")
	}
}

func TestKernelIntervalSetChanges(t *testing.T) {
	eachKernel(t, func(t *testing.T, kut kernelUnderTest) {
		rich := richRuleset()
		mustApply(t, kut.k, Diff(nil, rich, nil))
		next := richRuleset()
		fw := next.Tables[0].Set("firewall-src")
		fw.Elements = []Element{{Key: []Value{Prefix(pfx("10.0.0.0/8"))}}, {Key: []Value{Prefix(pfx("172.16.0.0/12"))}},
			{Key: []Value{Prefix(pfx("224.0.0.0/3"))}}} // the last reaches the end of the address space
		tx := Diff(rich, next, &Scope{Sets: []ObjectRef{{tv4, "firewall-src"}}})
		if got := tx.String(); !strings.Contains(got, "delete element ip proxykit firewall-src { 192.168.1.0/24, 1.2.3.4 }") ||
			!strings.Contains(got, "add element ip proxykit firewall-src { 172.16.0.0/12, 224.0.0.0/3 }") {
			t.Errorf("unexpected transaction:\n%s", got)
		}
		mustApply(t, kut.k, tx)
		assertState(t, kut.k, next)
	})
	bad := &Set{Name: "s", Key: []DataType{TypeIPv4Addr}, Interval: true, Elements: []Element{
		{Key: []Value{Prefix(pfx("10.0.0.0/8"))}}, {Key: []Value{Prefix(pfx("10.1.0.0/16"))}}}}
	if err := bad.Validate(); !errors.Is(err, ErrInvalid) {
		t.Errorf("overlapping ranges accepted: %v", err)
	}
}

// With prefix ownership, shards come and go: a stale shard is read back and
// deleted, a table outside the prefix is left alone.
func TestPrefixOwnershipShards(t *testing.T) {
	owner := Ownership{Prefix: "pk-"}
	shards := func(n int) *Ruleset {
		rs := &Ruleset{}
		for i := 0; i < n; i++ {
			tb := NewTable(FamilyIPv4, fmt.Sprintf("pk-%02d", i))
			must(tb.AddChain(&Chain{Name: "c", Rules: []Rule{{Stmts: []Stmt{Counter{}}}}}))
			rs.Tables = append(rs.Tables, tb)
		}
		return rs
	}
	run := func(t *testing.T, k Kernel, tamper func(*Transaction)) {
		other := NewTable(FamilyIPv4, "pkx")
		tamper(Diff(nil, &Ruleset{Tables: []*Table{other}}, nil))
		mustApply(t, k, Diff(mustRead(t, k), shards(3), nil))
		if got := len(mustRead(t, k).Tables); got != 3 {
			t.Fatalf("read %d tables, want 3", got)
		}
		tx := Diff(mustRead(t, k), shards(2), nil)
		if tx.String() != "delete table ip pk-02\n" {
			t.Errorf("shrinking: %s", tx)
		}
		mustApply(t, k, tx)
		assertState(t, k, shards(2))
		err := k.Apply(context.Background(), &Transaction{Ops: []Op{{Kind: OpDeleteTable, Table: other.ID()}}})
		if !errors.Is(err, ErrNotOwned) {
			t.Errorf("foreign table: want ErrNotOwned, got %v", err)
		}
	}
	t.Run("fake", func(t *testing.T) {
		f := NewFakeOwning(owner)
		run(t, f, func(tx *Transaction) { must(f.Tamper(context.Background(), tx)) })
	})
	t.Run("netlink", func(t *testing.T) {
		ns := newTestNS(t)
		k, err := NewNetlink(NetlinkConfig{NetNSFd: ns.fd, Owner: owner})
		if err != nil {
			t.Fatal(err)
		}
		defer k.Close()
		admin := ns.kernel(t, TableID{FamilyIPv4, "pkx"})
		run(t, k, func(tx *Transaction) { mustApply(t, admin, tx) })
		if out := ns.nft(t, "", "list", "tables"); !strings.Contains(out, "table ip pkx") {
			t.Errorf("foreign table gone: %s", out)
		}
	})
}

// A large batch whose every op fails floods the socket with error reports
// (ENOBUFS): Apply reads back, finds the batch not applied, says so, and the
// kernel holds what it held before.
func TestNetlinkLostRepliesReadBack(t *testing.T) {
	ns := newTestNS(t)
	k := ns.kernel(t)
	rich := richRuleset()
	mustApply(t, k, Diff(nil, rich, nil))
	tx := &Transaction{}
	for i := 0; i < 40000; i++ {
		tx.Ops = append(tx.Ops, Op{Kind: OpAddRule, Table: tv4, Name: "no-such-chain", Rule: &Rule{Stmts: []Stmt{Counter{}}}})
	}
	err := k.Apply(context.Background(), tx)
	var ae *ApplyError
	if !errors.As(err, &ae) {
		t.Fatalf("want an ApplyError, got %v", err)
	}
	if !errors.Is(err, syscall.ENOBUFS) || !strings.Contains(err.Error(), "not applied") {
		t.Errorf("want lost replies (ENOBUFS) and a read-back saying not applied, got %v", err)
	}
	assertState(t, k, rich)
}
