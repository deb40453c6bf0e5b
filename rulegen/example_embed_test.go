package rulegen_test

import (
	"context"
	"fmt"
	"net/netip"
	"time"

	"k8s.io/apimachinery/pkg/types"

	"github.com/proxykit/proxykit/nat"
	"github.com/proxykit/proxykit/rulegen"
	"github.com/proxykit/proxykit/servicemodel"
)

// printBackend stands in for a real backend (iptables, nftables, ipvs, lb).
type printBackend struct{}

func (printBackend) Sync(_ context.Context, req rulegen.SyncRequest) (rulegen.SyncResult, error) {
	for _, pp := range req.Plan.Ports(servicemodel.IPv4) {
		eps, action := pp.InternalSet()
		fmt.Println(pp.Name, pp.ClusterIP, action, len(eps), "endpoint(s)")
	}
	return rulegen.SyncResult{}, nil
}

func (printBackend) Cleanup(context.Context) error { return nil }

// Example_embedding is the README's embedding example.
func Example_embedding() {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	web := types.NamespacedName{Namespace: "default", Name: "web"}
	svc := &servicemodel.Service{Name: web, Type: servicemodel.TypeClusterIP,
		ClusterIPs: []netip.Addr{netip.MustParseAddr("10.96.0.10")},
		Ports:      []servicemodel.ServicePort{{Name: "http", Protocol: servicemodel.TCP, Port: 80, TargetPort: servicemodel.TargetPort{Number: 8080}}}}
	slice := &servicemodel.EndpointSlice{Service: web, Name: "web-1", Family: servicemodel.IPv4,
		Ports:     []servicemodel.EndpointPort{{Name: "http", Protocol: servicemodel.TCP, Port: 8080}},
		Endpoints: []servicemodel.Endpoint{{Addr: netip.MustParseAddr("10.244.1.5")}}}
	nodeIP := netip.MustParseAddr("10.0.0.10")
	clusterCIDR := netip.MustParsePrefix("10.244.0.0/16")
	var backend rulegen.Backend = printBackend{}
	synced := make(chan struct{})

	tracker := servicemodel.NewTracker()
	_ = tracker.SetService(svc)
	_ = tracker.SetSlice(slice)

	syncer, err := rulegen.NewSyncer(backend, rulegen.SyncerOptions{
		Node:        rulegen.Node{Name: "node-a", IPs: []netip.Addr{nodeIP}},
		Config:      rulegen.Config{LocalDetector: nat.ByCIDR(nat.DetectClusterCIDR, clusterCIDR)},
		MinInterval: time.Millisecond,
		Observer: func(r rulegen.SyncReport) {
			fmt.Println("full:", r.Full, "error:", r.Err)
			close(synced) // this example syncs once
		},
	})
	if err != nil {
		fmt.Println(err)
		return
	}
	go func() { _ = syncer.Run(ctx) }()
	syncer.Update(tracker.Snapshot())
	<-synced
	// Output:
	// default/web:http 10.96.0.10 forward 1 endpoint(s)
	// full: true error: <nil>
}
