package ipvs

import (
	"flag"
	"net/netip"
	"os"
	"path/filepath"
	"testing"
)

var update = flag.Bool("update", false, "rewrite golden files under testdata/")

// golden compares got with testdata/name, rewriting it under -update.
func golden(t *testing.T, name, got string) {
	t.Helper()
	path := filepath.Join("testdata", name)
	if *update {
		if err := os.WriteFile(path, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run with -update to create)", err)
	}
	if got != string(want) {
		t.Errorf("%s differs:\n--- got\n%s--- want\n%s", name, got, want)
	}
}

func ip(s string) netip.Addr { return netip.MustParseAddr(s) }

func tcp(addr string, port uint16) VSKey { return VSKey{Protocol: TCP, Addr: ip(addr), Port: port} }

func rs(addr string, port uint16, weight int) RealServer {
	return RealServer{Addr: ip(addr), Port: port, Weight: weight}
}

// testOptions own firewall marks below 0x1000.
var testOptions = Options{FWMarkMask: 0xfffff000, FWMarkValue: 0}

// sampleState has every feature of the model once.
func sampleState() *State {
	st := NewState()
	st.AddService(&VirtualServer{VSKey: tcp("10.96.0.1", 443), Scheduler: "rr", Timeout: 10800,
		Reals: []RealServer{rs("10.244.2.3", 6443, 1), rs("10.244.1.2", 6443, 1)}})
	st.AddService(&VirtualServer{VSKey: VSKey{Protocol: UDP, Addr: ip("10.96.0.10"), Port: 53}, Scheduler: "rr",
		Flags: OnePacket, Reals: []RealServer{rs("10.244.1.5", 53, 1)}})
	st.AddService(&VirtualServer{VSKey: tcp("10.0.0.10", 30080), Scheduler: "wrr",
		Reals: []RealServer{rs("10.244.1.7", 8080, 2), rs("10.244.2.7", 8080, 3)}})
	st.AddService(&VirtualServer{VSKey: tcp("fd00:10:96::1", 80), Scheduler: "sh", Flags: Sched1 | Sched2,
		Timeout: 60, PersistBits: 64, Reals: []RealServer{rs("fd00:10:244:1::2", 8080, 1)}})
	st.AddService(&VirtualServer{VSKey: tcp("10.96.0.30", 80), Scheduler: "lc", Timeout: 60, PersistBits: 24,
		Reals: []RealServer{{Addr: ip("10.244.1.9"), Port: 80, Weight: 5, UThreshold: 100, LThreshold: 10}}})
	st.AddService(&VirtualServer{VSKey: FWMarkKey(7, false), Scheduler: "rr",
		Reals: []RealServer{{Addr: ip("10.0.0.20"), Weight: 1, Forward: Direct}}})
	st.AddService(&VirtualServer{VSKey: VSKey{Protocol: SCTP, Addr: ip("10.96.0.20"), Port: 9999}, Scheduler: "mh",
		Flags: Sched1 | Sched2, Reals: []RealServer{{Addr: ip("10.244.1.8"), Port: 9999, Weight: 1, Forward: Tunnel}}})
	st.AddAddress(ip("10.96.0.1"), ip("10.96.0.10"), ip("10.96.0.20"), ip("10.96.0.30"), ip("fd00:10:96::1"))
	sampleSets(st)
	return st
}

func sampleSets(st *State) {
	st.AddSet(NewIPSet("KUBE-CLUSTER-IP", HashIPPort, false)).Add(
		PortEntry(ip("10.96.0.1"), TCP, 443), PortEntry(ip("10.96.0.10"), UDP, 53), PortEntry(ip("10.96.0.20"), SCTP, 9999))
	st.AddSet(NewIPSet("KUBE-LOOP-BACK", HashIPPortIP, false)).Add(
		PortIPEntry(ip("10.244.1.2"), TCP, 6443, ip("10.244.1.2")))
	st.AddSet(NewIPSet("KUBE-LB-SRC", HashIPPortNet, false)).Add(
		PortNetEntry(ip("10.0.0.50"), TCP, 80, netip.MustParsePrefix("192.168.0.0/16")))
	st.AddSet(NewIPSet("KUBE-6-CLUSTER-IP", HashIPPort, true)).Add(PortEntry(ip("fd00:10:96::1"), TCP, 80))
	st.AddSet(NewIPSet("KUBE-NETS", HashNet, false)).Add(
		NetEntry(netip.MustParsePrefix("10.244.0.0/16")), NetEntry(netip.MustParsePrefix("10.0.0.5/32")))
	st.AddSet(NewIPSet("KUBE-HOSTS", HashIP, false)).Add(HostEntry(ip("10.0.0.10")))
}
