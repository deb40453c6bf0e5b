package ipvs

import (
	"context"
	"net/netip"
	"testing"

	"k8s.io/apimachinery/pkg/types"

	"github.com/proxykit/proxykit/internal/fixture"
	"github.com/proxykit/proxykit/rulegen"
	"github.com/proxykit/proxykit/servicemodel"
)

// contested is a model where two services ask for the same NodePort (which
// the API server forbids, but a model may hold).
type contested struct {
	t    *testing.T
	tr   *servicemodel.Tracker
	plan *rulegen.Plan
}

func (m *contested) service(name string, last byte) {
	m.t.Helper()
	svc := &servicemodel.Service{
		Name: types.NamespacedName{Namespace: "ns", Name: name}, Type: servicemodel.TypeNodePort,
		ClusterIPs: []netip.Addr{netip.AddrFrom4([4]byte{172, 30, 0, last})},
		Ports: []servicemodel.ServicePort{{Name: "p", Protocol: servicemodel.TCP, Port: 80, NodePort: 30000,
			TargetPort: servicemodel.TargetPort{Number: 8080}}},
	}
	if err := m.tr.SetService(svc); err != nil {
		m.t.Fatal(err)
	}
	m.endpoints(name, last, 1)
}

func (m *contested) endpoints(name string, last, first byte) {
	m.t.Helper()
	es := &servicemodel.EndpointSlice{Service: types.NamespacedName{Namespace: "ns", Name: name}, Name: name, Family: servicemodel.IPv4,
		Ports: []servicemodel.EndpointPort{{Name: "p", Protocol: servicemodel.TCP, Port: 8080}}}
	for i := range byte(2) {
		es.Endpoints = append(es.Endpoints, servicemodel.Endpoint{Addr: netip.AddrFrom4([4]byte{10, 128, last, first + i}), NodeName: "node-1"})
	}
	if err := m.tr.SetSlice(es); err != nil {
		m.t.Fatal(err)
	}
}

// sync brings the plan up to date and syncs what changed (everything the
// first time).
func (m *contested) sync(fb fakeBackend) int {
	m.t.Helper()
	snap, changed := m.tr.Snapshot()
	req := rulegen.SyncRequest{Changed: changed}
	if m.plan == nil {
		m.plan, _ = rulegen.Compile(snap, fixture.Node(), fixture.Config())
		req.Full = true
	} else {
		m.plan, _ = m.plan.Update(snap, changed)
	}
	req.Plan = m.plan
	res, err := fb.Sync(context.Background(), req)
	if err != nil {
		m.t.Fatal(err)
	}
	return res.Writes
}

// TestBackendContestedVirtualServer: a virtual server two service ports
// claim goes to the same one as in Render whatever the order of changes,
// is not rewritten when the other changes, and passes to the other when
// its holder goes.
func TestBackendContestedVirtualServer(t *testing.T) {
	m := &contested{t: t, tr: servicemodel.NewTracker()}
	fb := newFakeBackend(t)
	m.service("a", 1)
	m.service("b", 2)
	m.sync(fb)
	fb.checkRender(t, m.plan)
	np := VSKey{Protocol: TCP, Addr: fixture.Node().IPs[0], Port: 30000}
	holder := func() byte { return fb.ours(t).Services[np].Reals[0].Addr.As4()[2] }
	if holder() != 2 {
		t.Fatalf("the NodePort went to service a, not to the last in name order")
	}
	m.endpoints("a", 1, 2)       // one endpoint replaced
	if n := m.sync(fb); n != 4 { // the ClusterIP's two real servers, two hairpin entries
		t.Errorf("a change of the service without the NodePort: %d writes, want 4", n)
	}
	fb.checkRender(t, m.plan)
	m.endpoints("b", 2, 2)
	m.sync(fb)
	fb.checkRender(t, m.plan)
	m.tr.DeleteService(types.NamespacedName{Namespace: "ns", Name: "b"})
	m.sync(fb)
	fb.checkRender(t, m.plan)
	if holder() != 1 {
		t.Fatalf("the NodePort did not pass to service a when b went")
	}
	m.service("b", 2)
	m.sync(fb)
	fb.checkRender(t, m.plan)
	m.tr.DeleteService(types.NamespacedName{Namespace: "ns", Name: "a"})
	m.sync(fb)
	fb.checkRender(t, m.plan)
}

// TestBackendSharedExternalIP: a port that asks twice for one virtual
// server (its LoadBalancer ingress is also one of its external IPs), while
// another port wants it too, keeps the Backend in step with Render through
// changes and the other's removal.
func TestBackendSharedExternalIP(t *testing.T) {
	m := &contested{t: t, tr: servicemodel.NewTracker()}
	fb := newFakeBackend(t)
	x := netip.MustParseAddr("192.0.2.10")
	set := func(name string, last byte, lb bool) {
		t.Helper()
		svc := &servicemodel.Service{
			Name: types.NamespacedName{Namespace: "ns", Name: name}, Type: servicemodel.TypeClusterIP,
			ClusterIPs:  []netip.Addr{netip.AddrFrom4([4]byte{172, 30, 0, last})},
			ExternalIPs: []netip.Addr{x},
			Ports: []servicemodel.ServicePort{{Name: "p", Protocol: servicemodel.TCP, Port: 80,
				TargetPort: servicemodel.TargetPort{Number: 8080}}},
		}
		if lb {
			svc.Type, svc.Ports[0].NodePort = servicemodel.TypeLoadBalancer, 30080
			svc.LoadBalancerIngress = []servicemodel.LoadBalancerIngress{{IP: x}}
		}
		if err := m.tr.SetService(svc); err != nil {
			t.Fatal(err)
		}
	}
	set("a", 1, true)
	m.endpoints("a", 1, 1)
	set("b", 2, false)
	m.endpoints("b", 2, 1)
	m.sync(fb)
	fb.checkRender(t, m.plan)
	steps := []func(){
		func() { m.endpoints("a", 1, 3) },
		func() { m.tr.DeleteService(types.NamespacedName{Namespace: "ns", Name: "b"}) },
		func() { m.endpoints("a", 1, 5) },
	}
	for _, step := range steps {
		step()
		m.sync(fb)
		fb.checkRender(t, m.plan)
	}
}
