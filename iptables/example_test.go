package iptables_test

import (
	"context"
	"fmt"

	"github.com/proxykit/proxykit/iptables"
)

// Read the kernel's state, diff it against the desired rules, look at what
// would change, apply it. The Fake stands in for the kernel here; use
// NewExec for the real one.
func Example() {
	ctx := context.Background()
	kernel := iptables.NewFake()

	// Someone else's rules are already there.
	foreign, _ := iptables.ParsePayload(iptables.IPv4, []byte(
		"*nat\n:DOCKER - [0:0]\n-A PREROUTING -m addrtype --dst-type LOCAL -j DOCKER\nCOMMIT\n"))
	_ = kernel.Apply(ctx, foreign)

	desired, err := iptables.ParseString(iptables.IPv4, `*nat
:PREROUTING ACCEPT [0:0]
:KUBE-SERVICES - [0:0]
:KUBE-SVC-WEB - [0:0]
-A PREROUTING -m comment --comment "kubernetes service portals" -j KUBE-SERVICES
-A KUBE-SERVICES -d 10.96.0.10/32 -p tcp -m comment --comment "default/web:http cluster IP" -m tcp --dport 80 -j KUBE-SVC-WEB
-A KUBE-SVC-WEB -j DNAT --to-destination 10.244.1.5:8080
COMMIT
`)
	if err != nil {
		fmt.Println(err)
		return
	}
	current, _ := kernel.Read(ctx, iptables.IPv4, iptables.TableNat)
	payload, err := iptables.Diff(current, desired, iptables.OwnPrefix("KUBE-"))
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Print(payload)
	fmt.Println("---")
	fmt.Print(string(payload.Bytes()))
	if err := kernel.Apply(ctx, payload); err != nil {
		fmt.Println(err)
	}
	after, _ := kernel.Read(ctx, iptables.IPv4, iptables.TableNat)
	fmt.Println("---")
	fmt.Println(after.Table(iptables.TableNat).Chain("PREROUTING").Rules()[1])
	// Output:
	// nat: + chain KUBE-SERVICES (1 rule)
	// nat: + chain KUBE-SVC-WEB (1 rule)
	// nat: + rule PREROUTING: -m comment --comment "kubernetes service portals" -j KUBE-SERVICES
	// ---
	// *nat
	// :KUBE-SERVICES - [0:0]
	// :KUBE-SVC-WEB - [0:0]
	// -I PREROUTING 1 -m comment --comment "kubernetes service portals" -j KUBE-SERVICES
	// -A KUBE-SERVICES -d 10.96.0.10/32 -p tcp -m comment --comment "default/web:http cluster IP" -m tcp --dport 80 -j KUBE-SVC-WEB
	// -A KUBE-SVC-WEB -j DNAT --to-destination 10.244.1.5:8080
	// COMMIT
	// ---
	// -A PREROUTING -m addrtype --dst-type LOCAL -j DOCKER
}

// NewRule quotes arguments the way iptables-save prints them, so that a
// rendered rule equals the rule read back from the kernel.
func ExampleNewRule() {
	r, _ := iptables.NewRule("KUBE-SVC-WEB", "-m", "comment", "--comment", "default/web:http -> 10.244.1.5:8080",
		"-m", "statistic", "--mode", "random", "--probability", iptables.StatisticProbability(1.0/3), "-j", "KUBE-SEP-A")
	fmt.Println(r)
	fmt.Println(r.Comment, "|", r.Target)
	// Output:
	// -A KUBE-SVC-WEB -m comment --comment "default/web:http -> 10.244.1.5:8080" -m statistic --mode random --probability 0.33333333349 -j KUBE-SEP-A
	// default/web:http -> 10.244.1.5:8080 | KUBE-SEP-A
}
