package nftables

import (
	"testing"

	"github.com/proxykit/proxykit/internal/flowkernel"
	"github.com/proxykit/proxykit/internal/kerneltest"
	"github.com/proxykit/proxykit/internal/netharness"
	"github.com/proxykit/proxykit/nat"
	"github.com/proxykit/proxykit/rulegen"
)

// TestStaleUDPFlowsKernel: with a conntrack cleaner, a UDP flow follows an
// endpoint change at once; without one it sticks to the removed endpoint.
func TestStaleUDPFlowsKernel(t *testing.T) {
	kerneltest.Need(t)
	flowkernel.CheckStaleUDP(t, func(t *testing.T, topo *netharness.Topology, cleaner nat.ConntrackCleaner) rulegen.Backend {
		opts := RenderOptions{Families: []Family{FamilyIPv4}}
		k, err := NewNetlink(NetlinkConfig{NetNSFd: int(topo.NodeNS()), Owner: opts.Ownership()})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { k.Close() })
		b, err := NewBackend(BackendOptions{Kernel: k, Render: opts, Conntrack: cleaner,
			Sysctl: func(key, val string) error { return topo.SetSysctl(netharness.NodeName, key, val) }})
		if err != nil {
			t.Fatal(err)
		}
		return b
	})
}
