package iptables

import (
	"testing"

	"github.com/proxykit/proxykit/internal/flowkernel"
	"github.com/proxykit/proxykit/internal/netharness"
	"github.com/proxykit/proxykit/nat"
	"github.com/proxykit/proxykit/rulegen"
)

// TestStaleUDPFlowsKernel: with a conntrack cleaner, a UDP flow follows an
// endpoint change at once; without one it sticks to the removed endpoint.
func TestStaleUDPFlowsKernel(t *testing.T) {
	needVariant(t, NFT)
	flowkernel.CheckStaleUDP(t, func(t *testing.T, topo *netharness.Topology, cleaner nat.ConntrackCleaner) rulegen.Backend {
		exec, err := NewExec(t.Context(), ExecOptions{Variant: NFT, Run: NetNSRunner(topo.NodeNS())})
		if err != nil {
			t.Fatal(err)
		}
		b, err := NewBackend(BackendOptions{Kernel: exec, Families: []Family{IPv4}, Conntrack: cleaner,
			Sysctl: func(k, v string) error { return topo.SetSysctl(netharness.NodeName, k, v) }})
		if err != nil {
			t.Fatal(err)
		}
		return b
	})
}
