package ipvstest

import (
	"net/netip"

	"github.com/proxykit/proxykit/ipvs"
)

// Options are the kernel options the suite uses for "our" handle: the
// default dummy interface and set prefix, firewall marks below 0x1000.
var Options = ipvs.Options{FWMarkMask: 0xfffff000, FWMarkValue: 0}

// ForeignOptions are those of "another program" on the same kernel.
var ForeignOptions = ipvs.Options{Dummy: "foreign0", SetPrefix: "FOREIGN-", FWMarkMask: 0xfffff000, FWMarkValue: 0x2000}

func addr(s string) netip.Addr { return netip.MustParseAddr(s) }

func rsv(a string, port uint16, weight int) ipvs.RealServer {
	return ipvs.RealServer{Addr: addr(a), Port: port, Weight: weight}
}

// Sample returns a state with every feature of the model once, in the
// project's test addressing: ClusterIPs on the dummy interface, a NodePort
// virtual server on the node address 10.0.0.10 (not on the dummy, so owned
// through the ownership set), persistence with a netmask, scheduler flags,
// one-packet scheduling, DR and tunnel real servers, firewall marks (IPv4 and
// IPv6), IPv6,
// SCTP, and one set of each supported type.
func Sample() *ipvs.State {
	st := ipvs.NewState()
	tcp := func(a string, port uint16) ipvs.VSKey {
		return ipvs.VSKey{Protocol: ipvs.TCP, Addr: addr(a), Port: port}
	}
	st.AddService(&ipvs.VirtualServer{VSKey: tcp("10.96.0.1", 443), Scheduler: "rr", Timeout: 10800,
		Reals: []ipvs.RealServer{rsv("10.244.1.2", 6443, 1), rsv("10.244.2.3", 6443, 1)}})
	st.AddService(&ipvs.VirtualServer{VSKey: ipvs.VSKey{Protocol: ipvs.UDP, Addr: addr("10.96.0.10"), Port: 53},
		Scheduler: "rr", Flags: ipvs.OnePacket, Reals: []ipvs.RealServer{rsv("10.244.1.5", 53, 1)}})
	st.AddService(&ipvs.VirtualServer{VSKey: tcp("10.0.0.10", 30080), Scheduler: "wrr",
		Reals: []ipvs.RealServer{rsv("10.244.1.7", 8080, 2), rsv("10.244.2.7", 8080, 3)}})
	st.AddService(&ipvs.VirtualServer{VSKey: tcp("fd00:10:96::1", 80), Scheduler: "sh",
		Flags: ipvs.Sched1 | ipvs.Sched2, Timeout: 60, PersistBits: 64,
		Reals: []ipvs.RealServer{rsv("fd00:10:244:1::2", 8080, 1)}})
	st.AddService(&ipvs.VirtualServer{VSKey: tcp("10.96.0.30", 80), Scheduler: "lc", Timeout: 60, PersistBits: 24,
		Reals: []ipvs.RealServer{{Addr: addr("10.244.1.9"), Port: 80, Weight: 5, UThreshold: 100, LThreshold: 10}}})
	st.AddService(&ipvs.VirtualServer{VSKey: ipvs.FWMarkKey(7, false), Scheduler: "rr",
		Reals: []ipvs.RealServer{{Addr: addr("10.0.0.20"), Weight: 1, Forward: ipvs.Direct}}})
	st.AddService(&ipvs.VirtualServer{VSKey: ipvs.FWMarkKey(8, true), Scheduler: "wlc",
		Reals: []ipvs.RealServer{{Addr: addr("fd00::20"), Weight: 2, Forward: ipvs.Direct}}})
	st.AddService(&ipvs.VirtualServer{VSKey: ipvs.VSKey{Protocol: ipvs.SCTP, Addr: addr("10.96.0.20"), Port: 9999},
		Scheduler: "mh", Flags: ipvs.Sched1 | ipvs.Sched2,
		Reals: []ipvs.RealServer{{Addr: addr("10.244.1.8"), Port: 9999, Weight: 1, Forward: ipvs.Tunnel}}})
	st.AddAddress(addr("10.96.0.1"), addr("10.96.0.10"), addr("10.96.0.20"), addr("10.96.0.30"), addr("fd00:10:96::1"))
	st.AddSet(ipvs.NewIPSet("KUBE-CLUSTER-IP", ipvs.HashIPPort, false)).Add(
		ipvs.PortEntry(addr("10.96.0.1"), ipvs.TCP, 443), ipvs.PortEntry(addr("10.96.0.10"), ipvs.UDP, 53))
	st.AddSet(ipvs.NewIPSet("KUBE-LOOP-BACK", ipvs.HashIPPortIP, false)).Add(
		ipvs.PortIPEntry(addr("10.244.1.2"), ipvs.TCP, 6443, addr("10.244.1.2")))
	st.AddSet(ipvs.NewIPSet("KUBE-LB-SRC", ipvs.HashIPPortNet, false)).Add(
		ipvs.PortNetEntry(addr("10.0.0.50"), ipvs.TCP, 80, netip.MustParsePrefix("192.168.0.0/16")))
	st.AddSet(ipvs.NewIPSet("KUBE-6-CLUSTER-IP", ipvs.HashIPPort, true)).Add(
		ipvs.PortEntry(addr("fd00:10:96::1"), ipvs.TCP, 80))
	st.AddSet(ipvs.NewIPSet("KUBE-NETS", ipvs.HashNet, false)).Add(ipvs.NetEntry(netip.MustParsePrefix("10.244.0.0/16")))
	st.AddSet(ipvs.NewIPSet("KUBE-HOSTS", ipvs.HashIP, false)).Add(ipvs.HostEntry(addr("10.0.0.10")))
	return st
}

// Changed returns Sample with a change of every kind: a virtual server
// removed (with its address and set entry), one added on a new address, a
// NodePort one added on the node address, a scheduler changed, a real server
// added, one removed, one re-weighted, a set destroyed, one created, entries
// added and removed.
func Changed() *ipvs.State {
	st := Sample()
	udp := ipvs.VSKey{Protocol: ipvs.UDP, Addr: addr("10.96.0.10"), Port: 53}
	delete(st.Services, udp)
	delete(st.Addresses, udp.Addr)
	st.Sets["KUBE-CLUSTER-IP"].Delete(ipvs.PortEntry(udp.Addr, ipvs.UDP, 53))
	st.AddAddress(addr("10.96.0.40"))
	st.AddService(&ipvs.VirtualServer{VSKey: ipvs.VSKey{Protocol: ipvs.TCP, Addr: addr("10.96.0.40"), Port: 8080},
		Scheduler: "wlc", Reals: []ipvs.RealServer{rsv("10.244.1.20", 80, 1), rsv("10.244.1.21", 80, 1)}})
	st.AddService(&ipvs.VirtualServer{VSKey: ipvs.VSKey{Protocol: ipvs.UDP, Addr: addr("10.0.0.10"), Port: 30053},
		Scheduler: "rr", Reals: []ipvs.RealServer{rsv("10.244.1.5", 53, 1)}})
	st.Sets["KUBE-CLUSTER-IP"].Add(ipvs.PortEntry(addr("10.96.0.40"), ipvs.TCP, 8080))
	https := st.Services[ipvs.VSKey{Protocol: ipvs.TCP, Addr: addr("10.96.0.1"), Port: 443}]
	https.Scheduler = "wrr"
	https.Reals = []ipvs.RealServer{rsv("10.244.1.2", 6443, 4), rsv("10.244.3.3", 6443, 1)}
	delete(st.Sets, "KUBE-HOSTS")
	st.AddSet(ipvs.NewIPSet("KUBE-NEW", ipvs.HashIP, false)).Add(ipvs.HostEntry(addr("10.0.0.11")))
	return st
}

// Foreign returns what another program holds: a virtual server on its own
// dummy address, one on the node address 10.0.0.10 (as a NodePort), and a
// firewall-mark one outside our marks.
func Foreign() *ipvs.State {
	st := ipvs.NewState()
	st.AddAddress(addr("10.99.0.1"))
	st.AddService(&ipvs.VirtualServer{VSKey: ipvs.VSKey{Protocol: ipvs.TCP, Addr: addr("10.99.0.1"), Port: 80},
		Scheduler: "rr", Reals: []ipvs.RealServer{rsv("10.244.9.1", 80, 1)}})
	st.AddService(&ipvs.VirtualServer{VSKey: ipvs.VSKey{Protocol: ipvs.TCP, Addr: addr("10.0.0.10"), Port: 31000},
		Scheduler: "rr", Reals: []ipvs.RealServer{rsv("10.244.9.2", 80, 1)}})
	st.AddService(&ipvs.VirtualServer{VSKey: ipvs.FWMarkKey(0x2001, false), Scheduler: "rr",
		Reals: []ipvs.RealServer{rsv("10.244.9.3", 0, 1)}})
	st.AddSet(ipvs.NewIPSet("FOREIGN-SET", ipvs.HashIP, false)).Add(ipvs.HostEntry(addr("10.99.0.1")))
	return st
}
