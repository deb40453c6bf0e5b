package ipvs

import (
	"fmt"
	"net/netip"
	"testing"
)

// synth returns a kube-proxy-shaped state: n ClusterIP services with eps
// endpoints each, their addresses on the dummy and a KUBE-CLUSTER-IP entry.
func synth(n, eps int) *State {
	st := NewState()
	set := st.AddSet(NewIPSet("KUBE-CLUSTER-IP", HashIPPort, false))
	for i := range n {
		vip := netip.AddrFrom4([4]byte{10, 96, byte(i >> 8), byte(i)})
		v := &VirtualServer{VSKey: VSKey{Protocol: TCP, Addr: vip, Port: 80}, Scheduler: "rr"}
		for j := range eps {
			ep := netip.AddrFrom4([4]byte{10, 244, byte(i >> 8), byte(i)})
			v.Reals = append(v.Reals, RealServer{Addr: ep, Port: uint16(8000 + j), Weight: 1})
		}
		st.AddService(v)
		st.AddAddress(vip)
		set.Add(PortEntry(vip, TCP, 80))
	}
	return st
}

// oneChange returns a copy of st (sharing all but one virtual server) where
// the first service's first endpoint has another weight.
func oneChange(st *State) (*State, VSKey) {
	c := &State{Services: make(map[VSKey]*VirtualServer, len(st.Services)), Addresses: st.Addresses, Sets: st.Sets}
	for k, v := range st.Services {
		c.Services[k] = v
	}
	k := VSKey{Protocol: TCP, Addr: netip.AddrFrom4([4]byte{10, 96, 0, 0}), Port: 80}
	v := c.Services[k].Clone()
	v.Reals[0].Weight = 2
	c.Services[k] = v
	return c, k
}

func TestSynthOneChange(t *testing.T) {
	cur := synth(100, 10)
	des, k := oneChange(cur)
	for _, opts := range []DiffOptions{{}, {Changed: &Changed{Services: []VSKey{k}}}} {
		if ops := Diff(cur, des, opts); len(ops) != 1 || ops[0].Kind != OpUpdateReal {
			t.Fatalf("one weight change gave %v", ops)
		}
	}
}

// BenchmarkDiff measures Diff at 10k services x 10 endpoints with one
// change: comparing everything, and only what changed.
func BenchmarkDiff(b *testing.B) {
	cur := synth(10000, 10)
	des, k := oneChange(cur)
	for _, bc := range []struct {
		name string
		opts DiffOptions
	}{
		{"full", DiffOptions{}},
		{"changed", DiffOptions{Changed: &Changed{Services: []VSKey{k}}}},
		{"full-graceful", DiffOptions{Terminating: &Terminating{}}},
		{"full-read-back", DiffOptions{}},
	} {
		cur := cur
		if bc.name == "full-read-back" {
			cur = cur.Clone() // no shared objects, as after Kernel.Read
		}
		b.Run(fmt.Sprintf("10kx10/%s", bc.name), func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if ops := Diff(cur, des, bc.opts); len(ops) != 1 {
					b.Fatalf("%d ops", len(ops))
				}
			}
		})
	}
}

// BenchmarkFakeApplyFromEmpty measures programming 1k x 10 into the Fake
// (the engine's own cost, without the kernel's).
func BenchmarkFakeApplyFromEmpty(b *testing.B) {
	st := synth(1000, 10)
	ops := Diff(nil, st, DiffOptions{})
	b.ReportAllocs()
	for b.Loop() {
		f := NewFake(Options{})
		if _, err := f.Apply(b.Context(), ops); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(len(ops)), "ops")
}
