package servicemodel_test

import (
	"fmt"
	"net/netip"

	"k8s.io/apimachinery/pkg/types"

	"github.com/proxykit/proxykit/servicemodel"
)

func ExampleTracker() {
	tr := servicemodel.NewTracker()
	web := types.NamespacedName{Namespace: "default", Name: "web"}
	_ = tr.SetService(&servicemodel.Service{Name: web, Type: servicemodel.TypeClusterIP,
		ClusterIPs: []netip.Addr{netip.MustParseAddr("10.96.0.10")},
		Ports:      []servicemodel.ServicePort{{Name: "http", Protocol: servicemodel.TCP, Port: 80, TargetPort: servicemodel.TargetPort{Number: 8080}}}})
	_ = tr.SetSlice(&servicemodel.EndpointSlice{Service: web, Name: "web-abc", Family: servicemodel.IPv4,
		Ports:     []servicemodel.EndpointPort{{Name: "http", Protocol: servicemodel.TCP, Port: 8080}},
		Endpoints: []servicemodel.Endpoint{{Addr: netip.MustParseAddr("10.244.1.5")}}})
	snap, changed := tr.Snapshot()
	fmt.Println(changed)
	fmt.Println(snap.Endpoints(changed[0], servicemodel.IPv4)[0].AddrPort())
	// Output:
	// [default/web:http]
	// 10.244.1.5:8080
}
