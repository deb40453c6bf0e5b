package nftables

import (
	"net/netip"
	"time"
)

var (
	tv4 = TableID{FamilyIPv4, "proxykit"}
	tv6 = TableID{FamilyIPv6, "proxykit"}
)

func must(err error) {
	if err != nil {
		panic(err)
	}
}

func pfx(s string) netip.Prefix {
	if p, err := netip.ParsePrefix(s); err == nil {
		return p
	}
	a := netip.MustParseAddr(s)
	return netip.PrefixFrom(a, a.BitLen())
}

func vp(v Verdict) *Verdict { return &v }

// richTable builds a kube-proxy-shaped table that uses every statement.
func richTable(fam Family) *Table {
	v6 := fam == FamilyIPv6
	saddr, daddr, addrT := IPSAddr, IPDAddr, TypeIPv4Addr
	cip, ep, cluster, lo := "10.96.0.10", "10.244.1.2", "10.244.0.0/16", "127.0.0.0/8"
	if v6 {
		saddr, daddr, addrT = IP6SAddr, IP6DAddr, TypeIPv6Addr
		cip, ep, cluster, lo = "fd00:10:96::a", "fd00:10:244:1::2", "fd00:10:244::/48", "::1"
	}
	t := NewTable(fam, "proxykit")
	t.Comment = "rules for proxykit"
	svcKey := []DataType{addrT, TypeInetProto, TypeInetService}
	must(t.AddSet(&Set{Name: "services", Key: svcKey, Verdict: true, Comment: "ClusterIP, ExternalIP and LoadBalancer IP traffic",
		Elements: []Element{
			{Key: []Value{IP(netip.MustParseAddr(cip)), Proto(6), Port(80)}, Verdict: vp(Goto("service-web")), Comment: "default/web:http"},
			{Key: []Value{IP(netip.MustParseAddr(cip)), Proto(17), Port(53)}, Verdict: vp(Goto("service-web"))},
		}}))
	must(t.AddSet(&Set{Name: "nodeports", Key: []DataType{TypeInetProto, TypeInetService}, Verdict: true,
		Elements: []Element{{Key: []Value{Proto(6), Port(30080)}, Verdict: vp(Goto("external-web"))}}}))
	must(t.AddSet(&Set{Name: "no-endpoint-services", Key: svcKey, Verdict: true,
		Elements: []Element{{Key: []Value{IP(netip.MustParseAddr(cip)), Proto(6), Port(81)}, Verdict: vp(Goto("reject-chain"))}}}))
	must(t.AddSet(&Set{Name: "cluster-ips", Key: []DataType{addrT}, Elements: []Element{{Key: []Value{IP(netip.MustParseAddr(cip))}}}}))
	must(t.AddSet(&Set{Name: "endpoints-web", Key: []DataType{TypeNumgen}, Verdict: true, Elements: []Element{
		{Key: []Value{Int(0)}, Verdict: vp(Goto("endpoint-web-a"))}, {Key: []Value{Int(1)}, Verdict: vp(Goto("endpoint-web-a"))}}}))
	must(t.AddSet(&Set{Name: "affinity-web-a", Key: []DataType{addrT}, Dynamic: true, Timeout: true, DefaultTimeout: 3 * time.Hour}))
	must(t.AddSet(&Set{Name: "recent", Key: svcKey, Timeout: true, Elements: []Element{
		{Key: []Value{IP(netip.MustParseAddr(cip)), Proto(6), Port(443)}, Timeout: time.Hour}}}))
	fw := []Element{{Key: []Value{Prefix(pfx("10.0.0.0/8"))}}, {Key: []Value{Prefix(pfx("192.168.1.0/24"))}}, {Key: []Value{IP(netip.MustParseAddr("1.2.3.4"))}}}
	if v6 {
		fw = []Element{{Key: []Value{Prefix(pfx("fd00::/16"))}}, {Key: []Value{IP(netip.MustParseAddr("2001:db8::1"))}}}
	}
	must(t.AddSet(&Set{Name: "firewall-src", Key: []DataType{addrT}, Interval: true, Elements: fw}))
	must(t.AddSet(&Set{Name: "recent-default", Key: []DataType{TypeInetService}, Timeout: true, DefaultTimeout: time.Hour,
		Elements: []Element{{Key: []Value{Port(1)}}, {Key: []Value{Port(2)}, Timeout: 2 * time.Hour}, {Key: []Value{Port(3)}, Timeout: time.Hour}}}))
	must(t.AddSet(&Set{Name: "marks", Key: []DataType{TypeMark}, Elements: []Element{{Key: []Value{Mark(0x4000)}}}}))

	for _, c := range richChains(saddr, daddr, cip, ep, cluster, lo, v6) {
		must(t.AddChain(c))
	}
	return t
}

func richChains(saddr, daddr Field, cip, ep, cluster, lo string, v6 bool) []*Chain {
	hook := func(typ, h string, prio int, pol string) *Hook {
		return &Hook{Type: typ, Hook: h, Priority: prio, Policy: pol}
	}
	chains := []*Chain{
		{Name: "nat-prerouting", Hook: hook("nat", "prerouting", -100, ""), Rules: []Rule{{Stmts: []Stmt{Jump("services-dispatch")}}}},
		{Name: "nat-output", Hook: hook("nat", "output", -100, "accept"), Rules: []Rule{{Stmts: []Stmt{Jump("services-dispatch")}, Comment: "local traffic"}}},
		{Name: "nat-postrouting", Hook: hook("nat", "postrouting", 100, ""), Rules: []Rule{{Stmts: []Stmt{Jump("masquerading")}}}},
		{Name: "filter-forward", Hook: hook("filter", "forward", -5, "accept"), Rules: []Rule{
			{Stmts: []Stmt{MatchCtState{States: CtInvalid}, Drop()}},
			{Stmts: []Stmt{MatchCtState{States: CtEstablished | CtRelated}, Accept()}},
			{Stmts: []Stmt{MatchCtState{States: CtNew, Neg: true}, Counter{}, Accept()}},
			{Stmts: []Stmt{MatchIfname{Name: "pkbr*"}, MatchIfname{Out: true, Name: "lo", Neg: true}, Accept()}},
			{Stmts: []Stmt{MatchIfname{Name: "eth0"}, Lookup{Keys: []Field{daddr, L4Proto, THDPort}, Set: "no-endpoint-services"}, Reject{}}},
			{Stmts: []Stmt{Lookup{Keys: []Field{daddr}, Set: "cluster-ips", Neg: true}, Return()}},
			{Stmts: []Stmt{Lookup{Keys: []Field{saddr}, Set: "firewall-src", Neg: true}, Drop()}},
		}},
		{Name: "mark-for-masquerade", Rules: []Rule{{Stmts: []Stmt{SetMark{Op: MarkOr, Value: 0x4000}}}}},
		{Name: "masquerading", Rules: []Rule{
			{Stmts: []Stmt{MatchMark{Mask: 0x4000, Value: 0}, Return()}},
			{Stmts: []Stmt{SetMark{Op: MarkXor, Value: 0x4000}}},
			{Stmts: []Stmt{SetMark{Op: MarkAnd, Value: 0xffffbfff}}},
			{Stmts: []Stmt{MatchMark{Value: 1, Neg: true}, SetMark{Op: MarkSet, Value: 0x10}}},
			{Stmts: []Stmt{Masquerade{FullyRandom: true}}},
		}},
		{Name: "services-dispatch", Rules: []Rule{
			{Stmts: []Stmt{VMap{Keys: []Field{daddr, L4Proto, THDPort}, Map: "services"}}},
			{Stmts: []Stmt{MatchLocalDaddr{}, MatchAddr{Field: daddr, Neg: true, Prefix: pfx(lo)}, VMap{Keys: []Field{L4Proto, THDPort}, Map: "nodeports"}}},
			{Stmts: []Stmt{Lookup{Keys: []Field{daddr, L4Proto, THDPort}, Set: "recent"}, Counter{}}},
			{Stmts: []Stmt{MatchLocalDaddr{Neg: true}, MatchProto{Proto: 1, Neg: true}, MatchPort{Proto: 6, Port: 22}, Accept()}},
			{Stmts: []Stmt{MatchProto{Proto: 17}, MatchPort{Port: 53, Neg: true}, Drop()}},
			{Stmts: []Stmt{MatchPort{Port: 9, Neg: true}, Lookup{Keys: []Field{daddr}, Set: "cluster-ips"}, Drop()}},
		}},
		{Name: "service-web", Rules: []Rule{
			{Stmts: []Stmt{MatchAddr{Field: daddr, Prefix: pfx(cip)}, MatchPort{Proto: 6, Port: 80}, MatchAddr{Field: saddr, Neg: true, Prefix: pfx(cluster)}, Jump("mark-for-masquerade")}},
			{Stmts: []Stmt{Lookup{Keys: []Field{saddr}, Set: "affinity-web-a"}, Goto("endpoint-web-a")}, Comment: "session affinity"},
			{Stmts: []Stmt{NumgenVMap{Mod: 2, Map: "endpoints-web"}}},
		}},
		{Name: "external-web", Rules: []Rule{{Stmts: []Stmt{MatchLocalSaddr{}, Jump("mark-for-masquerade")}},
			{Stmts: []Stmt{Jump("mark-for-masquerade")}}, {Stmts: []Stmt{Goto("service-web")}}}},
		{Name: "endpoint-web-a", Rules: []Rule{
			{Stmts: []Stmt{MatchAddr{Field: saddr, Prefix: pfx(ep)}, Jump("mark-for-masquerade")}},
			{Stmts: []Stmt{UpdateSet{Keys: []Field{saddr}, Set: "affinity-web-a", Timeout: 3 * time.Hour}}},
			{Stmts: []Stmt{MatchProto{Proto: 6}, DNAT{Addr: netip.MustParseAddr(ep), Port: 8080}}},
		}},
		{Name: "reject-chain", Rules: []Rule{
			{Stmts: []Stmt{MatchProto{Proto: 6}, Reject{Type: RejectTCPReset}}},
			{Stmts: []Stmt{rejectICMP(v6)}},
			{Stmts: []Stmt{Reject{}}},
		}},
		{Name: "empty"},
	}
	return chains
}

func rejectICMP(v6 bool) Reject {
	if v6 {
		return Reject{Type: RejectICMPv6, Code: "addr-unreachable"}
	}
	return Reject{Type: RejectICMP, Code: "host-unreachable"}
}

func richRuleset() *Ruleset {
	return &Ruleset{Tables: []*Table{richTable(FamilyIPv4), richTable(FamilyIPv6)}}
}

// inetTable uses the family-agnostic statements in an inet table.
func inetTable() *Table {
	t := NewTable(FamilyInet, "proxykit-inet")
	must(t.AddSet(&Set{Name: "ports", Key: []DataType{TypeInetProto, TypeInetService}, Verdict: true,
		Elements: []Element{{Key: []Value{Proto(17), Port(53)}, Verdict: vp(Accept())}}}))
	must(t.AddSet(&Set{Name: "ifs", Key: []DataType{TypeIfname}, Elements: []Element{{Key: []Value{Ifname("eth0")}}}}))
	must(t.AddChain(&Chain{Name: "input", Hook: &Hook{Type: "filter", Hook: "input", Priority: 0, Policy: "drop"}, Rules: []Rule{
		{Stmts: []Stmt{MatchCtState{States: CtEstablished | CtRelated}, Accept()}},
		{Stmts: []Stmt{MatchIfname{Name: "lo"}, Accept()}},
		{Stmts: []Stmt{VMap{Keys: []Field{L4Proto, THDPort}, Map: "ports"}}},
		{Stmts: []Stmt{MatchPort{Proto: 6, Port: 22}, Counter{}, Accept()}},
		{Stmts: []Stmt{MatchMark{Mask: 0xff, Value: 1}, Reject{Type: RejectICMPX, Code: "admin-prohibited"}}},
		{Stmts: []Stmt{Reject{}}},
	}}))
	must(t.AddChain(&Chain{Name: "post", Hook: &Hook{Type: "nat", Hook: "postrouting", Priority: 100}, Rules: []Rule{
		{Stmts: []Stmt{MatchIfname{Out: true, Name: "veth*"}, Masquerade{}}},
	}}))
	return t
}
