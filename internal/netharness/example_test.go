package netharness_test

import (
	"fmt"
	"net/netip"

	"github.com/proxykit/proxykit/internal/netharness"
)

// A spec is a plain value: start from the shared addressing and adapt it.
// Building it (netharness.Build or BuildT) needs root; describing it does not.
func ExampleSpec() {
	spec := netharness.StandardSpec()
	spec.Pods = spec.Pods[:2]
	spec.Pods[1].UDP = []uint16{53}
	spec.Clients = spec.Clients[:1]
	spec.Node.Routes = append(spec.Node.Routes, netharness.Route{Dst: netip.MustParsePrefix("10.250.0.0/24"), Via: netip.MustParseAddr("10.244.1.3")})
	if err := spec.Validate(); err != nil {
		fmt.Println(err)
		return
	}
	fmt.Print(spec.Summary())
	// Output:
	// node: pkbr0 [10.244.1.1/24 fd00:10:244:1::1/64], pkext0 [10.0.0.10/24 fd00::10/64], route 10.96.0.0/16 dev pkbr0, route fd00:10:96::/112 dev pkbr0, route 10.250.0.0/24 dev pkbr0 via 10.244.1.3
	// pod pod-a: [10.244.1.2/24 fd00:10:244:1::2/64] tcp[8080] udp[8080]
	// pod pod-b: [10.244.1.3/24 fd00:10:244:1::3/64] tcp[8080] udp[53]
	// client client-a: [10.0.0.100/24 fd00::100/64]
}
