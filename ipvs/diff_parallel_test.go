package ipvs

import (
	"net/netip"
	"runtime"
	"slices"
	"testing"
)

// TestDiffSplitsServices: a large Diff split over goroutines gives the
// operations of one goroutine, and they turn current into desired.
func TestDiffSplitsServices(t *testing.T) {
	cur := synth(3000, 3)
	des := cur.Clone()
	for i := range 200 {
		k := VSKey{Protocol: TCP, Addr: netip.AddrFrom4([4]byte{10, 96, byte(i * 7 >> 8), byte(i * 7)}), Port: 80}
		switch i % 4 {
		case 0:
			delete(des.Services, k)
		case 1:
			des.Services[k].Reals[0].Weight = 3
		case 2:
			des.Services[k].Scheduler = "wrr"
		default:
			k.Port = 81
			des.AddService(&VirtualServer{VSKey: k, Scheduler: "rr", Reals: []RealServer{{Addr: k.Addr, Port: 1, Weight: 1}}})
		}
	}
	defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(1))
	serial := Diff(cur, des, DiffOptions{})
	runtime.GOMAXPROCS(4)
	split := Diff(cur, des, DiffOptions{})
	if !slices.EqualFunc(serial, split, func(a, b Op) bool { return a.String() == b.String() }) {
		t.Fatalf("split Diff gave %d ops, one goroutine %d", len(split), len(serial))
	}
	got := cur.Clone()
	applyToState(got, split)
	if !got.Equal(des) {
		t.Fatalf("the ops do not reach desired:\n%s", Diff(got, des, DiffOptions{}))
	}
}
