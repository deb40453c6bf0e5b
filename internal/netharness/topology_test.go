package netharness

import (
	"context"
	"net/netip"
	"strings"
	"testing"

	"github.com/proxykit/proxykit/internal/kerneltest"
)

func ap(s string) netip.AddrPort { return netip.MustParseAddrPort(s) }

// expectReach probes once and fails t unless server answered and saw seen.
func expectReach(t *testing.T, topo *Topology, from, proto, dst, server, seen string, opts ProbeOptions) {
	t.Helper()
	r := topo.Probe(context.Background(), from, proto, ap(dst), opts)
	if r.Outcome != Reached || r.Server != server || r.Seen != netip.MustParseAddr(seen) {
		t.Errorf("%s %s -> %s: got %v, want reached %s (saw %s)", from, proto, dst, r, server, seen)
	}
}

func TestDirectRouting(t *testing.T) {
	kerneltest.Need(t)
	topo := BuildT(t, StandardSpec())
	cases := []struct{ from, proto, dst, server, seen string }{
		{"client-a", "tcp", "10.244.1.2:8080", "pod-a", "10.0.0.100"},
		{"client-a", "udp", "10.244.1.3:8080", "pod-b", "10.0.0.100"},
		{"client-b", "tcp", "10.244.2.2:8080", "pod-remote", "10.0.0.101"},
		{"client-a", "tcp", "[fd00:10:244:1::2]:8080", "pod-a", "fd00::100"},
		{"client-b", "udp", "[fd00:10:244:2::2]:8080", "pod-remote", "fd00::101"},
		{"pod-a", "tcp", "10.244.1.3:8080", "pod-b", "10.244.1.2"},
		{"pod-remote", "udp", "10.244.1.2:8080", "pod-a", "10.244.2.2"},
		{"pod-a", "tcp", "[fd00:10:244:2::2]:8080", "pod-remote", "fd00:10:244:1::2"},
		{NodeName, "tcp", "10.244.1.2:8080", "pod-a", "10.244.1.1"},
		{NodeName, "udp", "[fd00:10:244:1::3]:8080", "pod-b", "fd00:10:244:1::1"},
	}
	for _, c := range cases {
		expectReach(t, topo, c.from, c.proto, c.dst, c.server, c.seen, ProbeOptions{})
	}
	// source selection: client-b's second address
	expectReach(t, topo, "client-b", "tcp", "10.244.1.2:8080", "pod-a", "10.0.0.102", ProbeOptions{Source: netip.MustParseAddr("10.0.0.102")})
	expectReach(t, topo, "client-b", "udp", "10.244.1.2:8080", "pod-a", "10.0.0.102", ProbeOptions{Source: netip.MustParseAddr("10.0.0.102")})
	// nothing listens on 9999: the pod's kernel refuses at once
	for _, proto := range []string{"tcp", "udp"} {
		if r := topo.Probe(context.Background(), "client-a", proto, ap("10.244.1.2:9999"), ProbeOptions{}); r.Outcome != Refused {
			t.Errorf("%s to a closed port: got %v, want refused", proto, r)
		}
	}
}

func TestSysctlsAndExec(t *testing.T) {
	kerneltest.Need(t, "readlink")
	topo := BuildT(t, StandardSpec())
	for key, want := range map[string]string{
		"net.ipv4.ip_forward":                 "1",
		"net.ipv6.conf.all.forwarding":        "1",
		"net.bridge.bridge-nf-call-iptables":  "1",
		"net.bridge.bridge-nf-call-ip6tables": "1",
	} {
		if got, err := topo.Sysctl(NodeName, key); err != nil || got != want {
			t.Errorf("node %s = %q, %v; want %q", key, got, err, want)
		}
	}
	if got, err := topo.Sysctl("pod-a", "net.ipv4.ip_forward"); err != nil || got != "0" {
		t.Errorf("pod-a ip_forward = %q, %v; want 0 (sysctls must be per namespace)", got, err)
	}
	for _, name := range []string{NodeName, "pod-a", "client-b"} {
		ns, err := topo.NS(name)
		if err != nil {
			t.Fatal(err)
		}
		out, err := topo.Exec(context.Background(), name, "readlink", "/proc/self/ns/net")
		if err != nil {
			t.Fatal(err)
		}
		if !strings.Contains(ns.UniqueId(), ":"+strings.Trim(strings.TrimSpace(string(out)), "net:[]")+")") {
			t.Errorf("%s: a command started there runs in %s, want %s", name, out, ns.UniqueId())
		}
	}
}
