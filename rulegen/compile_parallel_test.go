package rulegen

import (
	"net/netip"
	"reflect"
	"slices"
	"testing"

	"github.com/proxykit/proxykit/servicemodel"
)

// TestParallelCompileEqualsSequential: a snapshot large enough to be
// compiled on several goroutines gives the same plans as one goroutine.
func TestParallelCompileEqualsSequential(t *testing.T) {
	tr := servicemodel.NewTracker()
	for i := range 3 * parallelMin {
		svc := &servicemodel.Service{Name: svcName(i), Type: servicemodel.TypeClusterIP,
			ClusterIPs: []netip.Addr{netip.AddrFrom4([4]byte{10, 96, byte(i >> 8), byte(i)})},
			Ports:      []servicemodel.ServicePort{{Name: "p", Protocol: servicemodel.TCP, Port: 80, TargetPort: servicemodel.TargetPort{Number: 8080}}}}
		if err := tr.SetService(svc); err != nil {
			t.Fatal(err)
		}
	}
	snap, _ := tr.Snapshot()
	p := &Plan{Config: Config{}}
	byName := func(a, b *ServicePlan) int { return a.Name.Compare(b.Name) }
	par := p.compileAll(snap)
	var svcs []*servicemodel.Service
	snap.RangeServices(func(s *servicemodel.Service) bool { svcs = append(svcs, s); return true })
	seq := p.compileServices(snap, svcs)
	slices.SortFunc(par, byName)
	slices.SortFunc(seq, byName)
	if len(par) != 3*parallelMin || !reflect.DeepEqual(par, seq) {
		t.Fatalf("parallel compile differs: %d vs %d plans", len(par), len(seq))
	}
}
