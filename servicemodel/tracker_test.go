package servicemodel

import (
	"errors"
	"net/netip"
	"slices"
	"strings"
	"testing"

	"k8s.io/apimachinery/pkg/types"
)

var web = types.NamespacedName{Namespace: "default", Name: "web"}

func webService() *Service {
	return &Service{Name: web, Type: TypeClusterIP, ClusterIPs: []netip.Addr{netip.MustParseAddr("10.96.0.10")},
		Ports: []ServicePort{
			{Name: "http", Protocol: TCP, Port: 80, TargetPort: TargetPort{Name: "http"}},
			{Name: "dns", Protocol: UDP, Port: 53, TargetPort: TargetPort{Number: 53}},
		}}
}

func slice(name string, port int32, addrs ...string) *EndpointSlice {
	es := &EndpointSlice{Service: web, Name: name, Family: IPv4,
		Ports: []EndpointPort{{Name: "http", Protocol: TCP, Port: port}}}
	for _, a := range addrs {
		es.Endpoints = append(es.Endpoints, Endpoint{Addr: netip.MustParseAddr(a)})
	}
	return es
}

func names(ns []ServicePortName) string {
	var s []string
	for _, n := range ns {
		s = append(s, n.String())
	}
	return strings.Join(s, " ")
}

func TestTrackerChangedNames(t *testing.T) {
	tr := NewTracker()
	if err := tr.SetService(webService()); err != nil {
		t.Fatal(err)
	}
	snap1, changed := tr.Snapshot()
	if got := names(changed); got != "default/web:dns/UDP default/web:http" {
		t.Fatalf("changed after add: %q", got)
	}
	// An endpoint change touches only the port whose endpoints changed.
	if err := tr.SetSlice(slice("web-1", 8080, "10.244.1.5")); err != nil {
		t.Fatal(err)
	}
	snap2, changed := tr.Snapshot()
	if got := names(changed); got != "default/web:http" {
		t.Fatalf("changed after slice: %q", got)
	}
	if n := len(snap1.Endpoints(ServicePortName{web, "http", TCP}, IPv4)); n != 0 {
		t.Fatalf("old snapshot changed: %d endpoints", n)
	}
	eps := snap2.Endpoints(ServicePortName{web, "http", TCP}, IPv4)
	if len(eps) != 1 || eps[0].AddrPort().String() != "10.244.1.5:8080" || !eps[0].Ready {
		t.Fatalf("endpoints: %+v", eps)
	}
	// No events: nothing changed.
	if _, changed := tr.Snapshot(); len(changed) != 0 {
		t.Fatalf("changed without events: %v", changed)
	}
	tr.DeleteService(web)
	snap3, changed := tr.Snapshot()
	if got := names(changed); got != "default/web:dns/UDP default/web:http" || snap3.Len() != 0 {
		t.Fatalf("after delete: %q, %d services", got, snap3.Len())
	}
}

func TestTrackerInvalidServiceSkipped(t *testing.T) {
	tr := NewTracker()
	bad := webService()
	bad.Name.Name = "bad"
	bad.Ports[1].Port = 70000
	err := tr.SetService(bad)
	var ve *ValidationError
	if !errors.As(err, &ve) {
		t.Fatalf("want *ValidationError, got %v", err)
	}
	if want := "default/bad: spec.ports[1].port: Invalid value: 70000: must be between 1 and 65535, inclusive"; ve.Error() != want {
		t.Errorf("error text:\n got %s\nwant %s", ve.Error(), want)
	}
	if err := tr.SetService(webService()); err != nil {
		t.Fatal(err)
	}
	snap, _ := tr.Snapshot()
	if snap.Len() != 1 {
		t.Fatalf("good service not kept: %v", snap.ServiceNames())
	}
}

func TestDuplicateAddressAcrossSlices(t *testing.T) {
	notReady := slice("a-slice", 8080, "10.244.1.5")
	notReady.Endpoints[0].Ready = Bool(false)
	ready := slice("b-slice", 8080, "10.244.1.5", "10.244.1.4")
	for _, order := range [][]*EndpointSlice{{notReady, ready}, {ready, notReady}} {
		snap, err := NewSnapshot([]*Service{webService()}, order)
		if err != nil {
			t.Fatal(err)
		}
		eps := snap.Endpoints(ServicePortName{web, "http", TCP}, IPv4)
		if len(eps) != 2 || eps[0].Addr.String() != "10.244.1.4" || !eps[1].Ready {
			t.Fatalf("merged endpoints: %+v", eps)
		}
	}
}

func TestConditionsNilSemantics(t *testing.T) {
	e := Endpoint{}
	if !e.IsReady() || !e.IsServing() || e.IsTerminating() {
		t.Fatal("nil conditions must read ready, serving, not terminating")
	}
	e = Endpoint{Ready: Bool(false), Serving: Bool(true), Terminating: Bool(true)}
	if e.IsReady() || !e.IsServing() || !e.IsTerminating() {
		t.Fatal("explicit conditions misread")
	}
}

func TestValidateReportsEveryProblem(t *testing.T) {
	s := webService()
	s.ClusterIPs = append(s.ClusterIPs, netip.MustParseAddr("10.96.0.11"))
	s.Ports[0].Name = "HTTP_"
	s.Ports[1].NodePort = 30000
	s.ExternalTrafficPolicy = "Global"
	s.Scheduler = "fastest"
	errs := Validate(s)
	var paths []string
	for _, e := range errs {
		paths = append(paths, e.Field)
	}
	want := []string{"spec.clusterIPs[1]", "spec.ports[0].name", "spec.ports[1].nodePort", "spec.externalTrafficPolicy", "metadata.annotations[proxykit.io/scheduler]"}
	for _, w := range want {
		if !slices.Contains(paths, w) {
			t.Errorf("missing %s in %v", w, paths)
		}
	}
}

func TestCOWMapSharesUnchangedShards(t *testing.T) {
	m := NewCOWMap[int, int](func(k int) uint32 { return uint32(k) })
	e := m.Edit()
	for i := 0; i < 1000; i++ {
		e.Set(i, i)
	}
	m1 := e.Done()
	e = m1.Edit()
	e.Set(1, 100)
	e.Delete(2)
	m2 := e.Done()
	if v, _ := m1.Get(1); v != 1 {
		t.Fatal("old version modified")
	}
	if v, _ := m2.Get(1); v != 100 || m2.Len() != 999 || m1.Len() != 1000 {
		t.Fatalf("new version: %d, len %d", v, m2.Len())
	}
	if &m1.shards[7] == &m2.shards[7] || m1.shards[7] == nil {
		t.Fatal("shard table not copied")
	}
	shared := 0
	for i := range m1.shards {
		if len(m1.shards[i]) > 0 && len(m2.shards[i]) > 0 && sameMap(m1.shards[i], m2.shards[i]) {
			shared++
		}
	}
	if shared != cowShards-2 {
		t.Fatalf("%d shards shared, want %d", shared, cowShards-2)
	}
}

func sameMap(a, b map[int]int) bool {
	// Maps are reference types: writing through one shows in the other.
	a[-1] = 1
	_, same := b[-1]
	delete(a, -1)
	return same
}

func TestTrackerEqualServiceIsNoChange(t *testing.T) {
	tr := NewTracker()
	_ = tr.SetService(webService())
	tr.Snapshot()
	_ = tr.SetService(webService()) // an informer resync: equal, newly built
	if _, changed := tr.Snapshot(); len(changed) != 0 {
		t.Fatalf("an equal service reported changes: %v", changed)
	}
}

func TestValidateRejectsMappedAndUnmasked(t *testing.T) {
	s := webService()
	s.ExternalIPs = []netip.Addr{netip.MustParseAddr("::ffff:10.0.0.1")}
	s.LoadBalancerSourceRanges = []netip.Prefix{netip.MustParsePrefix("10.1.2.3/8")}
	var fields []string
	for _, e := range Validate(s) {
		fields = append(fields, e.Field)
	}
	if !slices.Contains(fields, "spec.externalIPs[0]") || !slices.Contains(fields, "spec.loadBalancerSourceRanges[0]") {
		t.Fatalf("got %v", fields)
	}
}
