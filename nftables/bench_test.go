package nftables

import (
	"context"
	"fmt"
	"io"
	"net/netip"
	"testing"
)

// scaleTable builds a kube-proxy-shaped ip table: nsvc services with nep
// endpoints each (a service chain, a numgen map and nep endpoint chains per
// service, one services verdict map). endpointShift moves one endpoint of
// service 0, for the incremental case.
func scaleTable(nsvc, nep int, endpointShift byte) *Table {
	t := NewTable(FamilyIPv4, "proxykit")
	t.Reserve(nsvc*(nep+1)+2, nsvc+1)
	svcKey := []DataType{TypeIPv4Addr, TypeInetProto, TypeInetService}
	services := &Set{Name: "services", Key: svcKey, Verdict: true}
	must(t.AddSet(services))
	must(t.AddChain(&Chain{Name: "nat-prerouting", Hook: &Hook{Type: "nat", Hook: "prerouting", Priority: -100},
		Rules: []Rule{{Stmts: []Stmt{VMap{Keys: []Field{IPDAddr, L4Proto, THDPort}, Map: "services"}}}}}))
	must(t.AddChain(&Chain{Name: "mark-for-masquerade", Rules: []Rule{{Stmts: []Stmt{SetMark{Op: MarkOr, Value: 0x4000}}}}}))
	for i := 0; i < nsvc; i++ {
		cip := netip.AddrFrom4([4]byte{10, 96, byte(i >> 8), byte(i)})
		svc := fmt.Sprintf("service-%d", i)
		epMap := &Set{Name: "endpoints-" + fmt.Sprint(i), Key: []DataType{TypeNumgen}, Verdict: true}
		for j := 0; j < nep; j++ {
			ip := netip.AddrFrom4([4]byte{10, 128 + byte(j), byte(i >> 8), byte(i)})
			if i == 0 && j == 0 {
				ip = netip.AddrFrom4([4]byte{10, 250, 0, endpointShift})
			}
			name := fmt.Sprintf("endpoint-%d-%s", i, ip)
			must(t.AddChain(&Chain{Name: name, Rules: []Rule{
				{Stmts: []Stmt{MatchAddr{Field: IPSAddr, Prefix: netip.PrefixFrom(ip, 32)}, Jump("mark-for-masquerade")}},
				{Stmts: []Stmt{MatchProto{Proto: 6}, DNAT{Addr: ip, Port: 8080}}},
			}}))
			epMap.Elements = append(epMap.Elements, Element{Key: []Value{Int(uint32(j))}, Verdict: vp(Goto(name))})
		}
		must(t.AddSet(epMap))
		must(t.AddChain(&Chain{Name: svc, Rules: []Rule{
			{Stmts: []Stmt{MatchAddr{Field: IPSAddr, Neg: true, Prefix: netip.MustParsePrefix("10.244.0.0/16")}, Jump("mark-for-masquerade")}},
			{Stmts: []Stmt{NumgenVMap{Mod: uint32(nep), Map: epMap.Name}}},
		}}))
		services.Elements = append(services.Elements, Element{Key: []Value{IP(cip), Proto(6), Port(80)}, Verdict: vp(Goto(svc))})
	}
	return t
}

// oneEndpointChange re-renders service 0 (as a renderer would for one
// changed service) into a clone of base that shares every other chain and
// set, and returns the scope of the objects it re-rendered or dropped.
func oneEndpointChange(base *Table, nep int, shift byte) (*Ruleset, *Scope) {
	fresh := scaleTable(1, nep, shift)
	t := base.Clone()
	scope := &Scope{}
	for _, e := range base.Set("endpoints-0").Elements { // the old endpoint chains
		if fresh.Chain(e.Verdict.Chain) == nil {
			t.RemoveChain(e.Verdict.Chain)
			scope.Chains = append(scope.Chains, ObjectRef{t.ID(), e.Verdict.Chain})
		}
	}
	for _, c := range fresh.Chains() {
		if c.Name == "nat-prerouting" || c.Name == "mark-for-masquerade" {
			continue
		}
		must(t.ReplaceChain(c))
		scope.Chains = append(scope.Chains, ObjectRef{t.ID(), c.Name})
	}
	must(t.ReplaceSet(fresh.Set("endpoints-0")))
	scope.Sets = append(scope.Sets, ObjectRef{t.ID(), "endpoints-0"})
	return &Ruleset{Tables: []*Table{t}}, scope
}

const benchServices, benchEndpoints = 10000, 10

func BenchmarkPrint10kx10(b *testing.B) {
	rs := &Ruleset{Tables: []*Table{scaleTable(benchServices, benchEndpoints, 1)}}
	b.ReportAllocs()
	for b.Loop() {
		if err := rs.Print(io.Discard); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkBuildAndDiffFull10kx10(b *testing.B) {
	b.ReportAllocs()
	for b.Loop() {
		rs := &Ruleset{Tables: []*Table{scaleTable(benchServices, benchEndpoints, 1)}}
		if tx := Diff(nil, rs, nil); tx.Empty() {
			b.Fatal("empty")
		}
	}
}

// BenchmarkApplyFull10kx10 loads the whole ruleset into a fresh namespace
// through one netlink batch: in one table, and sharded over 32 tables.
func BenchmarkApplyFull10kx10(b *testing.B) {
	b.Run("1table", func(b *testing.B) { benchApplyFull(b, shardedRuleset(benchServices, benchEndpoints, 1)) })
	b.Run("32tables", func(b *testing.B) { benchApplyFull(b, shardedRuleset(benchServices, benchEndpoints, 32)) })
}

func benchApplyFull(b *testing.B, rs *Ruleset) {
	tx := Diff(nil, rs, nil)
	b.ReportAllocs()
	for b.Loop() {
		b.StopTimer()
		ns := newTestNS(b)
		k := ns.prefixKernel(b)
		b.StartTimer()
		mustApply(b, k, tx)
	}
	b.ReportMetric(float64(len(tx.Ops)), "ops")
}

// BenchmarkOneEndpointChange10kx10: with 10k services loaded, move one
// endpoint of one service: re-render that service, Diff with a scope, Apply.
// Every such change makes the kernel validate the whole table it touches, so
// the figure depends on the table's size: one table, or 32 shards.
func BenchmarkOneEndpointChange10kx10(b *testing.B) {
	b.Run("1table", func(b *testing.B) { benchOneEndpoint(b, 1) })
	b.Run("32tables", func(b *testing.B) { benchOneEndpoint(b, 32) })
}

func benchOneEndpoint(b *testing.B, shards int) {
	ns := newTestNS(b)
	k := ns.prefixKernel(b)
	cur := shardedRuleset(benchServices, benchEndpoints, shards)
	mustApply(b, k, Diff(nil, cur, nil))
	ctx := context.Background()
	b.ReportAllocs()
	shift := byte(1)
	var ops int
	for b.Loop() {
		shift++
		changed, scope := oneEndpointChange(cur.Tables[0], benchEndpoints, shift)
		next := &Ruleset{Tables: append([]*Table{changed.Tables[0]}, cur.Tables[1:]...)}
		tx := Diff(cur, next, scope)
		if err := k.Apply(ctx, tx); err != nil {
			b.Fatalf("%v\n%s", err, tx)
		}
		ops = len(tx.Ops)
		cur = next
	}
	b.ReportMetric(float64(ops), "ops")
	b.StopTimer()
	if tx := Diff(mustRead(b, k), cur, nil); !tx.Empty() {
		b.Fatalf("kernel drifted from the model:\n%.2000s", tx)
	}
}

func BenchmarkBuild10kx10(b *testing.B) {
	b.ReportAllocs()
	for b.Loop() {
		scaleTable(benchServices, benchEndpoints, 1)
	}
}

// BenchmarkEncodeFull10kx10 is the user-space part of a full Apply: the
// transaction encoded as one netlink batch.
func BenchmarkEncodeFull10kx10(b *testing.B) {
	tx := Diff(nil, &Ruleset{Tables: []*Table{scaleTable(benchServices, benchEndpoints, 1)}}, nil)
	b.ReportAllocs()
	for b.Loop() {
		bt, err := encodeTransaction(1, tx)
		if err != nil {
			b.Fatal(err)
		}
		b.SetBytes(int64(len(bt.finish())))
	}
}

// BenchmarkDiffServicesMap10k compares the 10k-element services map (one
// service added), as a scoped Diff does when a service comes or goes.
func BenchmarkDiffServicesMap10k(b *testing.B) {
	cur := scaleTable(benchServices, benchEndpoints, 1)
	next := cur.Clone()
	svc := *cur.Set("services")
	svc.Elements = append(append([]Element(nil), svc.Elements...), Element{Key: []Value{IP(netip.MustParseAddr("10.97.0.1")), Proto(6), Port(80)}, Verdict: vp(Goto("service-1"))})
	must(next.ReplaceSet(&svc))
	scope := &Scope{Sets: []ObjectRef{{cur.ID(), "services"}}}
	curRS, nextRS := &Ruleset{Tables: []*Table{cur}}, &Ruleset{Tables: []*Table{next}}
	b.ReportAllocs()
	for b.Loop() {
		if tx := Diff(curRS, nextRS, scope); len(tx.Ops) != 1 {
			b.Fatalf("%s", tx)
		}
	}
}

// BenchmarkDiffFullEqual10kx10 is a full resync's compare: two separately
// built (no shared pointers) equal rulesets, every chain hashed.
func BenchmarkDiffFullEqual10kx10(b *testing.B) {
	b.ReportAllocs()
	for b.Loop() {
		b.StopTimer()
		cur := &Ruleset{Tables: []*Table{scaleTable(benchServices, benchEndpoints, 1)}}
		des := &Ruleset{Tables: []*Table{scaleTable(benchServices, benchEndpoints, 1)}}
		b.StartTimer()
		if tx := Diff(cur, des, nil); !tx.Empty() {
			b.Fatal(tx)
		}
	}
}
