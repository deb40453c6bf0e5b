package netharness

import (
	"context"
	"errors"
	"net/netip"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/proxykit/proxykit/internal/kerneltest"
)

// testRules is a small nftables ruleset for the node namespace of
// StandardSpec: services 10.96.0.x / fd00:10:96::x DNAT to the pods, rejects,
// drops, masquerade and hairpin SNAT.
const testRules = `
table inet pkt {
	chain pre { type nat hook prerouting priority dstnat; policy accept; jump svc; }
	chain out { type nat hook output priority -100; policy accept; jump svc; }
	chain svc {
		ip daddr 10.96.0.1 tcp dport 80 dnat ip to 10.244.1.2:8080
		ip daddr 10.96.0.1 udp dport 53 dnat ip to 10.244.1.3:8080
		ip daddr 10.96.0.5 tcp dport 80 dnat ip to 10.244.2.2:8080
		ip daddr 10.96.0.9 tcp dport 80 dnat ip to 10.244.1.2:8080
		ip daddr 10.96.0.6 tcp dport 80 numgen inc mod 2 vmap { 0 : jump ep-a, 1 : jump ep-b }
		ip6 daddr fd00:10:96::1 tcp dport 80 dnat ip6 to [fd00:10:244:1::2]:8080
		ip6 daddr fd00:10:96::1 udp dport 53 dnat ip6 to [fd00:10:244:1::3]:8080
	}
	chain ep-a { meta l4proto tcp dnat ip to 10.244.1.2:8080; }
	chain ep-b { meta l4proto tcp dnat ip to 10.244.1.3:8080; }
	chain post {
		type nat hook postrouting priority srcnat; policy accept;
		ip saddr 10.244.1.2 ip daddr 10.244.1.2 masquerade
		ip6 saddr fd00:10:244:1::2 ip6 daddr fd00:10:244:1::2 masquerade
		ct original ip daddr 10.96.0.9 masquerade
	}
	chain filter-forward { type filter hook forward priority filter; policy accept; jump blocked; }
	chain filter-output { type filter hook output priority filter; policy accept; jump blocked; }
	chain blocked {
		ip daddr 10.96.0.2 tcp dport 80 reject with tcp reset
		ip daddr 10.96.0.2 udp dport 53 reject
		ip daddr 10.96.0.3 reject with icmp type admin-prohibited
		ip daddr 10.96.0.4 drop
		ip6 daddr fd00:10:96::2 reject
		ip6 daddr fd00:10:96::3 reject with icmpv6 type admin-prohibited
		ip6 daddr fd00:10:96::4 drop
	}
}
`

func buildWithRules(t *testing.T, tool string, rules string, args ...string) *Topology {
	t.Helper()
	kerneltest.Need(t, tool)
	topo := BuildT(t, StandardSpec())
	if _, err := topo.ExecInput(context.Background(), NodeName, strings.NewReader(rules), tool, args...); err != nil {
		t.Fatal(err)
	}
	return topo
}

func TestThroughNftRules(t *testing.T) {
	topo := buildWithRules(t, "nft", testRules, "-f", "-")
	cases := []struct{ name, from, proto, dst, server, seen string }{
		{"dnat", "client-a", "tcp", "10.96.0.1:80", "pod-a", "10.0.0.100"},
		{"dnat udp", "client-b", "udp", "10.96.0.1:53", "pod-b", "10.0.0.101"},
		{"dnat to remote pod", "client-b", "tcp", "10.96.0.5:80", "pod-remote", "10.0.0.101"},
		{"dnat v6", "client-a", "tcp", "[fd00:10:96::1]:80", "pod-a", "fd00::100"},
		{"dnat v6 udp", "client-b", "udp", "[fd00:10:96::1]:53", "pod-b", "fd00::101"},
		{"node output", NodeName, "tcp", "10.96.0.1:80", "pod-a", "10.244.1.1"},
		{"node output udp v6", NodeName, "udp", "[fd00:10:96::1]:53", "pod-b", "fd00:10:244:1::1"},
		{"masquerade", "client-a", "tcp", "10.96.0.9:80", "pod-a", "10.244.1.1"},
		{"hairpin", "pod-a", "tcp", "10.96.0.1:80", "pod-a", "10.244.1.1"},
		{"hairpin v6", "pod-a", "tcp", "[fd00:10:96::1]:80", "pod-a", "fd00:10:244:1::1"},
		{"pod to pod via service", "pod-b", "tcp", "10.96.0.1:80", "pod-a", "10.244.1.3"},
		{"remote pod via service", "pod-remote", "udp", "10.96.0.1:53", "pod-b", "10.244.2.2"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			expectReach(t, topo, c.from, c.proto, c.dst, c.server, c.seen, ProbeOptions{})
		})
	}
}

func TestRejectAndDrop(t *testing.T) {
	topo := buildWithRules(t, "nft", testRules, "-f", "-")
	drop := ProbeOptions{Timeout: 300 * time.Millisecond}
	cases := []struct {
		from, proto, dst string
		want             Outcome
		errno            syscall.Errno // 0: any
	}{
		{"client-a", "tcp", "10.96.0.2:80", Refused, syscall.ECONNREFUSED},
		{"client-a", "udp", "10.96.0.2:53", Refused, syscall.ECONNREFUSED},
		{"client-b", "tcp", "10.96.0.3:80", Refused, syscall.EHOSTUNREACH},
		{"client-b", "udp", "10.96.0.3:53", Refused, syscall.EHOSTUNREACH},
		{"client-a", "tcp", "[fd00:10:96::2]:80", Refused, syscall.ECONNREFUSED},
		{"client-a", "udp", "[fd00:10:96::3]:53", Refused, syscall.EACCES},
		{NodeName, "tcp", "10.96.0.2:80", Refused, syscall.ECONNREFUSED},
		{"pod-a", "tcp", "10.96.0.3:80", Refused, syscall.EHOSTUNREACH},
		{"client-a", "tcp", "10.96.0.4:80", Timeout, 0},
		{"client-a", "udp", "10.96.0.4:53", Timeout, 0},
		{"client-b", "tcp", "[fd00:10:96::4]:80", Timeout, 0},
		{NodeName, "tcp", "10.96.0.4:80", Timeout, 0},
		{NodeName, "udp", "[fd00:10:96::4]:53", Timeout, syscall.EPERM},
	}
	for _, c := range cases {
		r := topo.Probe(context.Background(), c.from, c.proto, ap(c.dst), drop)
		if r.Outcome != c.want || (c.errno != 0 && !errors.Is(r.Err, c.errno)) {
			t.Errorf("%s %s -> %s: got %v, want %v (%v)", c.from, c.proto, c.dst, r, c.want, c.errno)
		}
	}
}

func TestProbeNDistribution(t *testing.T) {
	topo := buildWithRules(t, "nft", testRules, "-f", "-")
	rs := topo.ProbeN(context.Background(), "client-a", "tcp", ap("10.96.0.6:80"), 20, ProbeOptions{})
	servers := rs.Servers()
	if rs.Count(Reached) != 20 || servers["pod-a"] != 10 || servers["pod-b"] != 10 {
		t.Fatalf("numgen inc over two endpoints: %v, want 10 each", rs)
	}
	if seen := rs.Seen(); seen[netip.MustParseAddr("10.0.0.100")] != 20 {
		t.Errorf("sources seen %v, want only 10.0.0.100", seen)
	}
	locals := map[netip.AddrPort]bool{}
	for _, r := range rs {
		locals[r.Local] = true
	}
	if len(locals) != 20 {
		t.Errorf("%d distinct local ports over 20 probes, want a new socket each", len(locals))
	}
}

func TestFixedSourcePort(t *testing.T) {
	topo := buildWithRules(t, "nft", testRules, "-f", "-")
	opts := ProbeOptions{SourcePort: 40000}
	for _, c := range []struct{ proto, dst, via string }{
		{"udp", "10.96.0.1:53", "service"}, {"tcp", "10.244.1.2:8080", "direct"}, {"udp", "[fd00:10:96::1]:53", "service"},
	} {
		rs := topo.ProbeN(context.Background(), "client-a", c.proto, ap(c.dst), 3, opts)
		for _, r := range rs {
			if r.Outcome != Reached || r.Local.Port() != 40000 {
				t.Errorf("%s %s (%s) from port 40000: %v (local %v)", c.proto, c.dst, c.via, r, r.Local)
			}
		}
	}
}

const iptablesRules = `*nat
:PREROUTING ACCEPT [0:0]
:OUTPUT ACCEPT [0:0]
:POSTROUTING ACCEPT [0:0]
:PKT-SVC - [0:0]
-A PREROUTING -j PKT-SVC
-A OUTPUT -j PKT-SVC
-A PKT-SVC -d 10.96.0.1/32 -p tcp -m tcp --dport 80 -j DNAT --to-destination 10.244.2.2:8080
-A POSTROUTING -d 10.244.2.2/32 -p tcp -m tcp --dport 8080 -j MASQUERADE
COMMIT
*filter
:INPUT ACCEPT [0:0]
:FORWARD ACCEPT [0:0]
:OUTPUT ACCEPT [0:0]
-A FORWARD -d 10.96.0.2/32 -p tcp -j REJECT --reject-with tcp-reset
COMMIT
`

func TestThroughIptablesRestore(t *testing.T) {
	for _, variant := range []string{"iptables-legacy-restore", "iptables-nft-restore"} {
		t.Run(variant, func(t *testing.T) {
			topo := buildWithRules(t, variant, iptablesRules, "-w")
			expectReach(t, topo, "client-a", "tcp", "10.96.0.1:80", "pod-remote", "10.244.1.1", ProbeOptions{})
			expectReach(t, topo, NodeName, "tcp", "10.96.0.1:80", "pod-remote", "10.244.1.1", ProbeOptions{})
			if r := topo.Probe(context.Background(), "client-b", "tcp", ap("10.96.0.2:80"), ProbeOptions{}); r.Outcome != Refused {
				t.Errorf("REJECT: got %v, want refused", r)
			}
		})
	}
}

// Build's readiness probes run before any rule asks for conntrack (its hooks
// register on demand), so tests start from an empty table.
func TestConntrackStartsEmpty(t *testing.T) {
	kerneltest.Need(t, "conntrack")
	topo := buildWithRules(t, "nft", testRules, "-f", "-")
	count := func() string {
		out, err := topo.Exec(context.Background(), NodeName, "conntrack", "-C")
		if err != nil {
			t.Fatal(err)
		}
		return strings.TrimSpace(string(out))
	}
	if n := count(); n != "0" {
		t.Fatalf("conntrack entries after Build: %s, want 0", n)
	}
	expectReach(t, topo, "client-a", "tcp", "10.96.0.1:80", "pod-a", "10.0.0.100", ProbeOptions{})
	if n := count(); n != "1" {
		t.Errorf("conntrack entries after one probe: %s, want 1", n)
	}
}
