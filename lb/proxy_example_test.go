package lb_test

import (
	"bufio"
	"context"
	"fmt"
	"net"
	"net/netip"

	"k8s.io/apimachinery/pkg/types"

	"github.com/proxykit/proxykit/lb"
	"github.com/proxykit/proxykit/rulegen"
	"github.com/proxykit/proxykit/servicemodel"
)

// A userspace proxy serves a Service on loopback: its ClusterIP frontend is
// mapped to 127.0.0.1 (port 0: the kernel chooses), and connections go to
// the endpoint, a server on 127.0.0.1 too.
func ExampleProxy() {
	backend, _ := net.Listen("tcp4", "127.0.0.1:0")
	defer backend.Close()
	go func() {
		for {
			c, err := backend.Accept()
			if err != nil {
				return
			}
			fmt.Fprintln(c, "hello from the backend")
			c.Close()
		}
	}()
	ep := backend.Addr().(*net.TCPAddr).AddrPort()

	name := types.NamespacedName{Namespace: "demo", Name: "web"}
	svc := &servicemodel.Service{Name: name, Type: servicemodel.TypeClusterIP,
		ClusterIPs: []netip.Addr{netip.MustParseAddr("10.96.0.10")},
		Ports:      []servicemodel.ServicePort{{Name: "http", Protocol: servicemodel.TCP, Port: 80, TargetPort: servicemodel.TargetPort{Number: int32(ep.Port())}}}}
	slice := &servicemodel.EndpointSlice{Service: name, Name: "web-1", Family: servicemodel.IPv4,
		Ports:     []servicemodel.EndpointPort{{Name: "http", Protocol: servicemodel.TCP, Port: int32(ep.Port())}},
		Endpoints: []servicemodel.Endpoint{{Addr: ep.Addr(), NodeName: "node-a"}}}
	snap, err := servicemodel.NewSnapshot([]*servicemodel.Service{svc}, []*servicemodel.EndpointSlice{slice})
	if err != nil {
		fmt.Println(err)
		return
	}
	plan, err := rulegen.Compile(snap, rulegen.Node{Name: "node-a", IPs: []netip.Addr{netip.MustParseAddr("192.0.2.1")}}, rulegen.Config{})
	if err != nil {
		fmt.Println(err)
		return
	}

	p, err := lb.NewProxy(lb.ProxyOptions{
		Listen: func(rulegen.Frontend, *rulegen.PortPlan) (netip.AddrPort, bool) {
			return netip.MustParseAddrPort("127.0.0.1:0"), true
		},
	})
	if err != nil {
		fmt.Println(err)
		return
	}
	defer p.Close(context.Background())
	if _, err := p.Sync(context.Background(), rulegen.SyncRequest{Plan: plan}); err != nil {
		fmt.Println(err)
		return
	}
	l := p.Listeners()[0]
	fmt.Println(l.Service, l.Frontend, l.Scheduler)

	c, err := net.Dial("tcp4", l.Bound.String())
	if err != nil {
		fmt.Println(err)
		return
	}
	defer c.Close()
	line, _ := bufio.NewReader(c).ReadString('\n')
	fmt.Print(line)
	// Output:
	// demo/web:http ClusterIP 10.96.0.10:80 rr
	// hello from the backend
}
