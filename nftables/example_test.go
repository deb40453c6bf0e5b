package nftables_test

import (
	"context"
	"fmt"
	"net/netip"

	"github.com/proxykit/proxykit/nftables"
)

// Build a table, diff it against an empty kernel, apply it to the strict
// Fake, then change one endpoint and see the small transaction that results.
func Example() {
	build := func(endpoint string) *nftables.Ruleset {
		t := nftables.NewTable(nftables.FamilyIPv4, "proxykit")
		ep := netip.MustParseAddr(endpoint)
		epChain := "endpoint-" + endpoint
		_ = t.AddSet(&nftables.Set{Name: "services", Verdict: true,
			Key: []nftables.DataType{nftables.TypeIPv4Addr, nftables.TypeInetProto, nftables.TypeInetService},
			Elements: []nftables.Element{{
				Key:     []nftables.Value{nftables.IP(netip.MustParseAddr("10.96.0.10")), nftables.Proto(6), nftables.Port(80)},
				Verdict: &nftables.Verdict{Kind: nftables.VerdictGoto, Chain: epChain},
			}}})
		_ = t.AddChain(&nftables.Chain{Name: "nat-prerouting",
			Hook: &nftables.Hook{Type: "nat", Hook: "prerouting", Priority: -100},
			Rules: []nftables.Rule{{Stmts: []nftables.Stmt{nftables.VMap{
				Keys: []nftables.Field{nftables.IPDAddr, nftables.L4Proto, nftables.THDPort}, Map: "services"}}}}})
		_ = t.AddChain(&nftables.Chain{Name: epChain, Rules: []nftables.Rule{{Stmts: []nftables.Stmt{
			nftables.MatchProto{Proto: 6}, nftables.DNAT{Addr: ep, Port: 8080}}}}})
		return &nftables.Ruleset{Tables: []*nftables.Table{t}}
	}
	ctx := context.Background()
	kernel := nftables.NewFake()

	first := build("10.244.1.2")
	if err := kernel.Apply(ctx, nftables.Diff(nil, first, nil)); err != nil {
		fmt.Println(err)
	}
	fmt.Print(first.Tables[0])

	current, _ := kernel.Read(ctx)
	fmt.Print(nftables.Diff(current, build("10.244.1.3"), nil))
	// Output:
	// table ip proxykit {
	// 	map services {
	// 		type ipv4_addr . inet_proto . inet_service : verdict
	// 		elements = { 10.96.0.10 . tcp . 80 : goto endpoint-10.244.1.2 }
	// 	}
	//
	// 	chain nat-prerouting {
	// 		type nat hook prerouting priority dstnat; policy accept;
	// 		ip daddr . meta l4proto . th dport vmap @services
	// 	}
	//
	// 	chain endpoint-10.244.1.2 {
	// 		meta l4proto tcp dnat to 10.244.1.2:8080
	// 	}
	// }
	// add chain ip proxykit endpoint-10.244.1.3
	// delete element ip proxykit services { 10.96.0.10 . tcp . 80 }
	// add rule ip proxykit endpoint-10.244.1.3 meta l4proto tcp dnat to 10.244.1.3:8080
	// add element ip proxykit services { 10.96.0.10 . tcp . 80 : goto endpoint-10.244.1.3 }
	// flush chain ip proxykit endpoint-10.244.1.2
	// delete chain ip proxykit endpoint-10.244.1.2
}
