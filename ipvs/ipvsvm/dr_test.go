package ipvsvm

import (
	"fmt"
	"net"
	"regexp"
	"strconv"
	"testing"

	"github.com/proxykit/proxykit/internal/vmtest"
	"github.com/proxykit/proxykit/iptables"
	"github.com/proxykit/proxykit/ipvs"
	"github.com/proxykit/proxykit/rulegen"
)

// The DR ingress topology: one L2 segment (a bridge in a "switch"
// namespace) joins the client, the director and two nodes; each node has a
// pod behind it. The client routes the VIP via the director.
const (
	drVIP      = "203.0.113.50"
	drDirector = "10.1.0.2"
	drClient   = "10.1.0.100"
)

var drNodes = [2]string{"10.1.0.11", "10.1.0.12"}

// drIngress: the director holds the VIP and balances it in DR mode over
// the nodes (its Backend renders externalIP virtual servers with
// Forwarding Direct); the nodes do not hold the VIP, they run the iptables
// backend for a Service whose externalIPs carry it (ETP=Local), and their
// pods answer. Replies go from the nodes straight to the client: the
// director never sees a packet from the VIP.
func TestDirectRoutingIngress(t *testing.T) {
	vmtest.Need(t, "iptables-legacy-restore", "iptables-legacy-save", "ipset", "sysctl")
	sw, client, director := newNS(t), newNS(t), newNS(t)
	nodes, pods := [2]*testNS{newNS(t), newNS(t)}, [2]*testNS{newNS(t), newNS(t)}
	veth(t, client, "eth0", sw, "c0")
	veth(t, director, "eth0", sw, "d0")
	for i := range nodes {
		veth(t, nodes[i], "eth0", sw, fmt.Sprintf("n%d", i))
		veth(t, nodes[i], "pod0", pods[i], "eth0")
	}
	bridge(t, sw, "lan", "c0", "d0", "n0", "n1")
	addr(t, client, "eth0", drClient+"/24")
	route(t, client, drVIP+"/32", drDirector)
	addr(t, director, "eth0", drDirector+"/24")

	svc := svcSpec{name: "ingress", clusterIP: "10.96.0.80", externalIPs: []string{drVIP}, port: 80, target: 8080,
		endpoints: []string{"10.244.1.10", "10.244.2.10"}, nodes: []string{"node-0", "node-1"}, etpLocal: true}
	for i, n := range nodes {
		addr(t, n, "eth0", drNodes[i]+"/24")
		gw := fmt.Sprintf("10.244.%d.1", i+1)
		addr(t, n, "pod0", gw+"/24")
		addr(t, pods[i], "eth0", svc.endpoints[i]+"/24")
		route(t, pods[i], "0.0.0.0/0", gw)
		n.run(t, "", "sysctl", "-q", "-w", "net.ipv4.ip_forward=1")
		var ln net.Listener
		var err error
		pods[i].do(t, func() { ln, err = net.Listen("tcp", svc.endpoints[i]+":8080") })
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { ln.Close() })
		go serveLines(ln, fmt.Sprintf("pod-%d", i))
		programNode(t, n, planFor(t, fmt.Sprintf("node-%d", i), []string{drNodes[i]}, svc))
	}

	// The director: a Service whose externalIP is the VIP and whose
	// endpoints are the nodes, on port 80, in DR mode.
	db, _ := nsBackend(t, director, ipvs.BackendOptions{Render: ipvs.RenderOptions{
		Forwarding: map[rulegen.FrontendKind]ipvs.Forward{rulegen.ExternalIP: ipvs.Direct}}})
	dsvc := svcSpec{name: "ingress", clusterIP: "10.96.0.80", externalIPs: []string{drVIP}, port: 80, target: 80,
		endpoints: drNodes[:], nodes: []string{"director", "director"}}
	syncPlan(t, db, planFor(t, "director", []string{drDirector}, dsvc), nil)
	director.run(t, "", "iptables-legacy", "-w", "-t", "raw", "-A", "PREROUTING", "-s", drVIP+"/32", "-j", "ACCEPT")
	director.run(t, "", "iptables-legacy", "-w", "-t", "raw", "-A", "PREROUTING", "-d", drVIP+"/32", "-j", "ACCEPT")

	seen := map[string]int{}
	for range 8 {
		c := dial(t, client, drVIP+":80")
		seen[c.ask(t)]++
		c.c.Close()
	}
	if seen["pod-0"] == 0 || seen["pod-1"] == 0 {
		t.Errorf("both nodes' pods should answer through the director: %v", seen)
	}
	fromVIP, toVIP := rawCounter(t, director, "-s "+drVIP), rawCounter(t, director, "-d "+drVIP)
	if toVIP == 0 || fromVIP != 0 {
		t.Errorf("director saw %d packets to the VIP (want > 0) and %d from it (want 0: replies bypass it)", toVIP, fromVIP)
	}
	t.Logf("answers %v; director saw %d packets to the VIP, %d from it", seen, toVIP, fromVIP)
	t.Log(director.run(t, "", "ipvsadm", "-L", "-n", "-c"))
}

// programNode runs the iptables backend on a node for plan.
func programNode(t *testing.T, ns *testNS, plan *rulegen.Plan) {
	t.Helper()
	exec, err := iptables.NewExec(t.Context(), iptables.ExecOptions{Variant: iptables.Legacy, Run: iptables.NetNSRunner(ns.h)})
	if err != nil {
		t.Fatal(err)
	}
	b, err := iptables.NewBackend(iptables.BackendOptions{Kernel: exec, Families: []iptables.Family{iptables.IPv4},
		Sysctl: func(key, val string) error { ns.run(t, "", "sysctl", "-q", "-w", key+"="+val); return nil }})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := b.Sync(t.Context(), rulegen.SyncRequest{Plan: plan, Full: true}); err != nil {
		t.Fatal(err)
	}
}

// rawCounter returns the packet counter of the director's raw PREROUTING
// rule with the given match.
func rawCounter(t *testing.T, ns *testNS, match string) int {
	t.Helper()
	out := ns.run(t, "", "iptables-legacy-save", "-c", "-t", "raw")
	m := regexp.MustCompile(`\[(\d+):\d+\] -A PREROUTING ` + regexp.QuoteMeta(match) + `/32 -j ACCEPT`).FindStringSubmatch(out)
	if m == nil {
		t.Fatalf("no counter for %q in:\n%s", match, out)
	}
	n, _ := strconv.Atoi(m[1])
	return n
}
