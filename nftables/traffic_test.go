package nftables

import (
	"fmt"
	"net/netip"
	"testing"
	"time"

	"github.com/proxykit/proxykit/internal/kerneltest"
	"github.com/proxykit/proxykit/internal/netharness"
)

// trafficRuleset is a kube-proxy-shaped ruleset over two tables (shards): a
// load-balanced service in the first, a session-affinity service and a
// service without endpoints in the second; masquerading (by mark) and the
// reject filter live in the first.
func trafficRuleset() *Ruleset {
	svcKey := []DataType{TypeIPv4Addr, TypeInetProto, TypeInetService}
	key := func(ip string) []Value {
		return []Value{IP(netip.MustParseAddr(ip)), Proto(6), Port(80)}
	}
	pods := []string{"10.244.1.2", "10.244.1.3"}
	shard := func(name string) *Table {
		t := NewTable(FamilyIPv4, name)
		dispatch := []Rule{{Stmts: []Stmt{VMap{Keys: []Field{IPDAddr, L4Proto, THDPort}, Map: "services"}}}}
		must(t.AddChain(&Chain{Name: "nat-prerouting", Hook: &Hook{Type: "nat", Hook: "prerouting", Priority: -100}, Rules: dispatch}))
		must(t.AddChain(&Chain{Name: "nat-output", Hook: &Hook{Type: "nat", Hook: "output", Priority: -100}, Rules: dispatch}))
		must(t.AddChain(&Chain{Name: "mark-for-masquerade", Rules: []Rule{{Stmts: []Stmt{SetMark{Op: MarkOr, Value: 0x4000}}}}}))
		for i, pod := range pods {
			must(t.AddChain(&Chain{Name: fmt.Sprint("endpoint-", i), Rules: []Rule{
				{Stmts: []Stmt{UpdateSet{Keys: []Field{IPSAddr}, Set: fmt.Sprint("affinity-", i), Timeout: 3 * time.Hour}}},
				{Stmts: []Stmt{MatchProto{Proto: 6}, DNAT{Addr: netip.MustParseAddr(pod), Port: 8080}}},
			}}))
			must(t.AddSet(&Set{Name: fmt.Sprint("affinity-", i), Key: []DataType{TypeIPv4Addr}, Dynamic: true, Timeout: true, DefaultTimeout: 3 * time.Hour}))
		}
		must(t.AddSet(&Set{Name: "endpoints", Key: []DataType{TypeNumgen}, Verdict: true, Elements: []Element{
			{Key: []Value{Int(0)}, Verdict: vp(Goto("endpoint-0"))}, {Key: []Value{Int(1)}, Verdict: vp(Goto("endpoint-1"))}}}))
		return t
	}
	a, b := shard("proxykit-0"), shard("proxykit-1")
	must(a.AddChain(&Chain{Name: "service", Rules: []Rule{
		{Stmts: []Stmt{MatchAddr{Field: IPSAddr, Neg: true, Prefix: pfx("10.244.0.0/16")}, Jump("mark-for-masquerade")}},
		{Stmts: []Stmt{NumgenVMap{Mod: 2, Map: "endpoints"}}},
	}}))
	must(a.AddSet(&Set{Name: "services", Key: svcKey, Verdict: true, Elements: []Element{{Key: key("10.96.0.1"), Verdict: vp(Goto("service"))}}}))
	must(a.AddChain(&Chain{Name: "nat-postrouting", Hook: &Hook{Type: "nat", Hook: "postrouting", Priority: 100}, Rules: []Rule{
		{Stmts: []Stmt{MatchMark{Mask: 0x4000, Value: 0}, Return()}},
		{Stmts: []Stmt{SetMark{Op: MarkXor, Value: 0x4000}}},
		{Stmts: []Stmt{Masquerade{FullyRandom: true}}},
	}}))
	must(a.AddSet(&Set{Name: "no-endpoints", Key: svcKey, Elements: []Element{{Key: key("10.96.0.3")}}}))
	must(a.AddChain(&Chain{Name: "filter-forward", Hook: &Hook{Type: "filter", Hook: "forward", Priority: 0}, Rules: []Rule{
		{Stmts: []Stmt{MatchCtState{States: CtNew}, Lookup{Keys: []Field{IPDAddr, L4Proto, THDPort}, Set: "no-endpoints"}, Reject{}}},
	}}))
	must(b.AddChain(&Chain{Name: "service", Rules: []Rule{
		{Stmts: []Stmt{Lookup{Keys: []Field{IPSAddr}, Set: "affinity-0"}, Goto("endpoint-0")}},
		{Stmts: []Stmt{Lookup{Keys: []Field{IPSAddr}, Set: "affinity-1"}, Goto("endpoint-1")}},
		{Stmts: []Stmt{NumgenVMap{Mod: 2, Map: "endpoints"}}},
	}}))
	must(b.AddSet(&Set{Name: "services", Key: svcKey, Verdict: true, Elements: []Element{{Key: key("10.96.0.2"), Verdict: vp(Goto("service"))}}}))
	return &Ruleset{Tables: []*Table{a, b}}
}

// Real traffic through a ruleset applied over netlink: load balancing with a
// named numgen map, masquerade by mark, session affinity through dynamic
// sets, reject for a service without endpoints, NAT split over two tables.
func TestTrafficThroughModel(t *testing.T) {
	kerneltest.Need(t)
	topo := netharness.BuildT(t, netharness.StandardSpec())
	k, err := NewNetlink(NetlinkConfig{NetNSFd: int(topo.NodeNS()), Owner: Ownership{Prefix: "proxykit-"}})
	if err != nil {
		t.Fatal(err)
	}
	defer k.Close()
	ctx := t.Context()
	rs := trafficRuleset()
	mustApply(t, k, Diff(nil, rs, nil))

	lb := topo.ProbeN(ctx, "client-a", "tcp", netip.MustParseAddrPort("10.96.0.1:80"), 40, netharness.ProbeOptions{})
	if s := lb.Servers(); s["pod-a"] == 0 || s["pod-b"] == 0 || s["pod-a"]+s["pod-b"] != 40 {
		t.Errorf("load balancing: %v", lb)
	}
	if seen := lb.Seen(); seen[netip.MustParseAddr("10.244.1.1")] != 40 {
		t.Errorf("masquerade: pods saw %v, want the node's bridge address", seen)
	}
	t.Logf("lb %v seen %v", lb.Servers(), lb.Seen())
	aff := topo.ProbeN(ctx, "client-b", "tcp", netip.MustParseAddrPort("10.96.0.2:80"), 20, netharness.ProbeOptions{})
	if s := aff.Servers(); len(s) != 1 || aff.Count(netharness.Reached) != 20 {
		t.Errorf("session affinity: %v", aff)
	}
	if aff.Seen()[netip.MustParseAddr("10.0.0.101")] != 20 {
		t.Errorf("unmasqueraded service: pods saw %v", aff.Seen())
	}
	rej := topo.Probe(ctx, "client-a", "tcp", netip.MustParseAddrPort("10.96.0.3:80"), netharness.ProbeOptions{})
	if rej.Outcome != netharness.Refused {
		t.Errorf("no endpoints: %v, want refused", rej)
	}
	if tx := Diff(mustRead(t, k), rs, nil); !tx.Empty() {
		t.Errorf("read-back differs (dynamic sets must not count):\n%s", tx)
	}
}
