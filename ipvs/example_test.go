package ipvs_test

import (
	"context"
	"fmt"
	"net/netip"

	"github.com/proxykit/proxykit/ipvs"
)

// A desired state is diffed against what the kernel holds and applied; the
// Fake stands in for the kernel.
func Example() {
	ctx := context.Background()
	vip := netip.MustParseAddr("10.96.0.1")
	desired := ipvs.NewState()
	desired.AddAddress(vip)
	desired.AddService(&ipvs.VirtualServer{
		VSKey:     ipvs.VSKey{Protocol: ipvs.TCP, Addr: vip, Port: 443},
		Scheduler: "rr",
		Timeout:   10800,
		Reals: []ipvs.RealServer{
			{Addr: netip.MustParseAddr("10.244.1.2"), Port: 6443, Weight: 1},
		},
	})
	fmt.Print(desired.SaveIPVS())

	k := ipvs.NewFake(ipvs.Options{})
	current, _ := k.Read(ctx)
	ops := ipvs.Diff(current, desired, ipvs.DiffOptions{})
	fmt.Print(ops)
	if _, err := k.Apply(ctx, ops); err != nil {
		fmt.Println(err)
	}
	now, _ := k.Read(ctx)
	fmt.Println("in sync:", now.Equal(desired))
	// Output:
	// -A -t 10.96.0.1:443 -s rr -p 10800
	// -a -t 10.96.0.1:443 -r 10.244.1.2:6443 -m -w 1
	// ip addr add 10.96.0.1 dev <dummy>
	// -A -t 10.96.0.1:443 -s rr -p 10800
	// -a -t 10.96.0.1:443 -r 10.244.1.2:6443 -m -w 1
	// in sync: true
}
