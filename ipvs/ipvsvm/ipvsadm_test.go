package ipvsvm

import (
	"testing"

	"github.com/proxykit/proxykit/ipvs"
	"github.com/proxykit/proxykit/ipvs/ipvstest"
)

// servicesOf returns st's virtual servers alone; without thresholds when
// asked, since `ipvsadm -S` and `-L` do not print them.
func servicesOf(st *ipvs.State, thresholds bool) *ipvs.State {
	out := ipvs.NewState()
	for _, v := range st.Services {
		v = v.Clone()
		for i := range v.Reals {
			if !thresholds {
				v.Reals[i].UThreshold, v.Reals[i].LThreshold = 0, 0
			}
		}
		out.AddService(v)
	}
	return out
}

// parseIpvsadm runs ipvsadm with args in ns and parses its output.
func parseIpvsadm(t *testing.T, ns *testNS, args ...string) *ipvs.State {
	t.Helper()
	text := ns.run(t, "", "ipvsadm", args...)
	st, err := ipvs.ParseIPVSADM(text)
	if err != nil {
		t.Fatalf("ipvsadm %v: %v\n%s", args, err, text)
	}
	return st
}

// TestIpvsadmRestoreAcceptsSave feeds SaveIPVS to `ipvsadm -R` and reads the
// kernel back with ipvsadm in both formats and over netlink.
func TestIpvsadmRestoreAcceptsSave(t *testing.T) {
	ns := newNS(t)
	sample := ipvstest.Sample()
	// Our addresses and sets first, so that the restored virtual servers are
	// ours and Read returns them.
	k := ns.open(t, ipvstest.Options)
	ipvstest.Sync(t, k, &ipvs.State{Addresses: sample.Addresses, Sets: sample.Sets})
	// The NodePort virtual server is ours through its ownership record,
	// which only Apply writes; leave it out of the ipvsadm text.
	nodePort := ipvs.VSKey{Protocol: ipvs.TCP, Addr: netipAddr("10.0.0.10"), Port: 30080}
	delete(sample.Services, nodePort)
	ns.run(t, servicesOf(sample, true).SaveIPVS(), "ipvsadm", "-R")
	ipvstest.MustEqual(t, "read over netlink after ipvsadm -R", ipvstest.Read(t, k), sample)
	for _, args := range [][]string{{"-S", "-n"}, {"-L", "-n"}} {
		ipvstest.MustEqual(t, "ipvsadm "+args[0], parseIpvsadm(t, ns, args...), servicesOf(sample, false))
	}
}

// TestIpvsadmReadsNetlink programs over netlink and checks that ipvsadm
// sees the same virtual servers (flags, netmasks, forwarding methods).
func TestIpvsadmReadsNetlink(t *testing.T) {
	ns := newNS(t)
	k := ns.open(t, ipvstest.Options)
	ipvstest.Sync(t, k, ipvstest.Sample())
	want := servicesOf(ipvstest.Sample(), false)
	ipvstest.MustEqual(t, "ipvsadm -S -n", parseIpvsadm(t, ns, "-S", "-n"), want)
	ipvstest.MustEqual(t, "ipvsadm -L -n", parseIpvsadm(t, ns, "-L", "-n"), want)
	t.Logf("ipvsadm -L -n:\n%s", ns.run(t, "", "ipvsadm", "-L", "-n"))
}
