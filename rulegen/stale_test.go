package rulegen_test

import (
	"fmt"
	"slices"
	"testing"

	"github.com/proxykit/proxykit/internal/sample"
	"github.com/proxykit/proxykit/rulegen"
	"github.com/proxykit/proxykit/servicemodel"
)

// dnsPlan compiles the sample with the UDP dns service's endpoints set to pods.
func dnsPlan(t *testing.T, pods ...string) (*rulegen.Plan, []servicemodel.ServicePortName) {
	t.Helper()
	slices_ := sample.Slices()
	for _, es := range slices_ {
		if es.Service.Name == "dns" && es.Ports[0].Protocol == servicemodel.UDP {
			es.Endpoints = nil
			for _, p := range pods {
				pod, _ := sample.PodByName(p)
				addr := pod.V4
				if es.Family == servicemodel.IPv6 {
					addr = pod.V6
				}
				es.Endpoints = append(es.Endpoints, servicemodel.Endpoint{Addr: addr, NodeName: pod.Node})
			}
		}
	}
	snap, err := servicemodel.NewSnapshot(sample.Services(), slices_)
	if err != nil {
		t.Fatal(err)
	}
	plan, err := rulegen.Compile(snap, sample.Node(), sample.Config())
	if err != nil {
		t.Fatal(err)
	}
	var changed []servicemodel.ServicePortName
	for _, n := range plan.Names() {
		if n.Name == "dns" {
			changed = append(changed, n)
		}
	}
	return plan, changed
}

func TestStaleFlows(t *testing.T) {
	before, changed := dnsPlan(t, "pod-a2", "pod-b1")
	after, _ := dnsPlan(t, "pod-b1", "pod-a3")
	var got []string
	for _, f := range rulegen.StaleFlows(before, after, changed) {
		got = append(got, f.String())
	}
	want := []string{"udp 10.96.0.53:53 -> 10.244.1.12", "udp [fd00:10:96::53]:53 -> fd00:10:244:1::12"}
	if !slices.Equal(got, want) {
		t.Fatalf("removed endpoint:\n got %q\nwant %q", got, want)
	}
	empty, _ := dnsPlan(t)
	got = nil
	for _, f := range rulegen.StaleFlows(empty, after, nil) {
		got = append(got, f.String())
	}
	want = []string{"udp 10.96.0.53:53 -> *", "udp [fd00:10:96::53]:53 -> *"}
	if !slices.Equal(got, want) {
		t.Fatalf("first endpoint:\n got %q\nwant %q", got, want)
	}
	if fs := rulegen.StaleFlows(after, after, nil); len(fs) != 0 {
		t.Fatalf("no change gave %v", fs)
	}
	if fs := rulegen.StaleFlows(nil, after, nil); fs != nil {
		t.Fatal("a first sync has nothing stale")
	}
}

func ExampleStaleFlows() {
	old, _ := sample.Plan(sample.Config())
	cfg := sample.Config()
	cfg.Families = []servicemodel.IPFamily{servicemodel.IPv4}
	next, _ := sample.Plan(cfg) // the IPv6 side is gone
	for _, f := range rulegen.StaleFlows(old, next, nil) {
		fmt.Println(f)
	}
	// Output:
	// udp [fd00:10:96::53]:53 -> fd00:10:244:1::12
}
