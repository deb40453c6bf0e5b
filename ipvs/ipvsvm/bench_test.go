package ipvsvm

import (
	"context"
	"net/netip"
	"testing"
	"time"

	"github.com/proxykit/proxykit/ipvs"
	"github.com/proxykit/proxykit/ipvs/ipvstest"
)

// synth returns n virtual servers with eps real servers each, their
// addresses on the dummy interface.
func synth(n, eps int) *ipvs.State {
	st := ipvs.NewState()
	for i := range n {
		vip := netip.AddrFrom4([4]byte{10, 96, byte(i >> 8), byte(i)})
		v := &ipvs.VirtualServer{VSKey: ipvs.VSKey{Protocol: ipvs.TCP, Addr: vip, Port: 80}, Scheduler: "rr"}
		for j := range eps {
			v.Reals = append(v.Reals, ipvs.RealServer{Addr: netip.AddrFrom4([4]byte{10, 244, byte(i >> 8), byte(i)}),
				Port: uint16(8000 + j), Weight: 1})
		}
		st.AddService(v)
		st.AddAddress(vip)
	}
	return st
}

// BenchmarkProgram1kx10 programs 1000 virtual servers x 10 real servers into
// an empty namespace: over netlink (the addresses already bound, as
// ipvsadm does not bind any), over netlink with the addresses, and with
// `ipvsadm -R`. Compare ns/op side by side (same VM run); ops/s counts
// kernel requests.
func BenchmarkProgram1kx10(b *testing.B) {
	st := synth(1000, 10)
	addrsOnly := &ipvs.State{Addresses: st.Addresses}
	text := st.SaveIPVS()
	ipvsOps := len(ipvs.Diff(addrsOnly, st, ipvs.DiffOptions{}))
	b.Run("netlink", func(b *testing.B) {
		benchPerNS(b, ipvsOps, func(ns *testNS) func() {
			k := ns.open(b, ipvstest.Options)
			ipvstest.Sync(b, k, addrsOnly)
			ops := ipvs.Diff(addrsOnly, st, ipvs.DiffOptions{})
			return func() {
				if _, err := k.Apply(context.Background(), ops); err != nil {
					b.Fatal(err)
				}
			}
		})
	})
	b.Run("netlink-with-addresses", func(b *testing.B) {
		ops := ipvs.Diff(nil, st, ipvs.DiffOptions{})
		benchPerNS(b, len(ops), func(ns *testNS) func() {
			k := ns.open(b, ipvstest.Options)
			return func() {
				if _, err := k.Apply(context.Background(), ops); err != nil {
					b.Fatal(err)
				}
			}
		})
	})
	b.Run("ipvsadm-R", func(b *testing.B) {
		benchPerNS(b, ipvsOps, func(ns *testNS) func() {
			return func() { ns.run(b, text, "ipvsadm", "-R") }
		})
	})
}

// benchPerNS times run() once per iteration, each in a fresh namespace
// prepared (untimed) by setup.
func benchPerNS(b *testing.B, opsPerRun int, setup func(ns *testNS) func()) {
	var spent time.Duration
	for b.Loop() {
		b.StopTimer()
		ns := newNS(b)
		run := setup(ns)
		b.StartTimer()
		start := time.Now()
		run()
		spent += time.Since(start)
	}
	b.ReportMetric(float64(opsPerRun)*float64(b.N)/spent.Seconds(), "ops/s")
}

// BenchmarkOneRealServerChange times Diff (scoped to the change) + Apply of
// one weight change with 1k and 10k virtual servers programmed: the cost
// must not follow the number of services.
func BenchmarkOneRealServerChange(b *testing.B) {
	for _, n := range []int{1000, 10000} {
		b.Run(map[int]string{1000: "1k", 10000: "10k"}[n], func(b *testing.B) {
			ns := newNS(b)
			k := ns.open(b, ipvstest.Options)
			cur := synth(n, 10)
			ipvstest.Sync(b, k, cur)
			key := ipvs.VSKey{Protocol: ipvs.TCP, Addr: netip.AddrFrom4([4]byte{10, 96, 0, 7}), Port: 80}
			des := &ipvs.State{Services: map[ipvs.VSKey]*ipvs.VirtualServer{}, Addresses: cur.Addresses}
			for k, v := range cur.Services {
				des.Services[k] = v
			}
			writes := 0
			for i := 0; b.Loop(); i++ {
				v := cur.Services[key].Clone()
				v.Reals[0].Weight = 2 - i%2
				des.Services[key] = v
				ops := ipvs.Diff(cur, des, ipvs.DiffOptions{Changed: &ipvs.Changed{Services: []ipvs.VSKey{key}}})
				res, err := k.Apply(context.Background(), ops)
				if err != nil {
					b.Fatal(err)
				}
				writes += res.Writes
				cur.Services[key] = v
			}
			b.ReportMetric(float64(writes)/float64(b.N), "writes/op")
		})
	}
}
