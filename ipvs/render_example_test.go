package ipvs_test

import (
	"fmt"
	"net/netip"
	"strings"

	"github.com/proxykit/proxykit/ipvs"
	"github.com/proxykit/proxykit/rulegen"
	"github.com/proxykit/proxykit/servicemodel"
	"k8s.io/apimachinery/pkg/types"
)

// ExampleRender renders one Service with a ClusterIP and an externalIP
// balanced in direct-routing mode.
func ExampleRender() {
	name := types.NamespacedName{Namespace: "demo", Name: "web"}
	svc := &servicemodel.Service{Name: name, Type: servicemodel.TypeClusterIP,
		ClusterIPs:  []netip.Addr{netip.MustParseAddr("10.96.0.10")},
		ExternalIPs: []netip.Addr{netip.MustParseAddr("203.0.113.20")},
		Ports:       []servicemodel.ServicePort{{Name: "http", Protocol: servicemodel.TCP, Port: 80, TargetPort: servicemodel.TargetPort{Number: 80}}}}
	slice := &servicemodel.EndpointSlice{Service: name, Name: "web-1", Family: servicemodel.IPv4,
		Ports:     []servicemodel.EndpointPort{{Name: "http", Protocol: servicemodel.TCP, Port: 80}},
		Endpoints: []servicemodel.Endpoint{{Addr: netip.MustParseAddr("10.244.1.5"), NodeName: "node-a"}}}
	snap, _ := servicemodel.NewSnapshot([]*servicemodel.Service{svc}, []*servicemodel.EndpointSlice{slice})
	plan, _ := rulegen.Compile(snap, rulegen.Node{Name: "node-a"}, rulegen.Config{Families: []servicemodel.IPFamily{servicemodel.IPv4}})

	r, err := ipvs.Render(plan, ipvs.RenderOptions{Scheduler: "mh:mh-fallback,mh-port",
		Forwarding: map[rulegen.FrontendKind]ipvs.Forward{rulegen.ExternalIP: ipvs.Direct}})
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Print(r.IPVS.SaveIPVS())
	fmt.Println(r.IPVS.SortedAddresses())
	for _, line := range strings.Split(r.IPVS.SaveIPSets(), "\n") {
		if strings.HasPrefix(line, "add ") {
			fmt.Println(line)
		}
	}
	// Output:
	// -A -t 10.96.0.10:80 -s mh -b mh-fallback,mh-port
	// -a -t 10.96.0.10:80 -r 10.244.1.5:80 -m -w 1
	// -A -t 203.0.113.20:80 -s mh -b mh-fallback,mh-port
	// -a -t 203.0.113.20:80 -r 10.244.1.5:80 -g -w 1
	// [10.96.0.10 203.0.113.20]
	// add KUBE-CLUSTER-IP 10.96.0.10,tcp:80
	// add KUBE-LOOP-BACK 10.244.1.5,tcp:80,10.244.1.5
}
