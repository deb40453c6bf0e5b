package conntrack

import (
	"context"
	"errors"
	"fmt"
	"net/netip"
	"testing"

	"github.com/vishvananda/netns"

	"github.com/proxykit/proxykit/nat"
)

func TestToFilterRejectsBadFlows(t *testing.T) {
	v4, v6 := netip.MustParseAddr("10.96.0.53"), netip.MustParseAddr("fd00::53")
	bad := []nat.StaleFlow{
		{Port: 53, Dst: v4},                      // no protocol
		{Proto: nat.ProtoUDP, Dst: v4},           // no port
		{Proto: nat.ProtoUDP, Port: 53, Dst: v6}, // v6 address in a v4 flow
		{Proto: nat.ProtoUDP, Port: 53, Endpoint: v4, IPv6: true},
	}
	for _, f := range bad {
		if _, err := toFilter(f); !errors.Is(err, ErrBadFlow) {
			t.Errorf("%+v: got %v", f, err)
		}
	}
	good := []nat.StaleFlow{
		{Proto: nat.ProtoUDP, Port: 53, Dst: v4, Endpoint: netip.MustParseAddr("10.244.1.5")},
		{Proto: nat.ProtoSCTP, Port: 30000}, // a NodePort on every address
		{Proto: nat.ProtoUDP, Port: 53, Dst: v6, IPv6: true},
	}
	for _, f := range good {
		if _, err := toFilter(f); err != nil {
			t.Errorf("%+v: %v", f, err)
		}
	}
}

func ExampleCleaner_Delete() {
	c, err := New(netns.None(), nil)
	if err != nil {
		fmt.Println(err)
		return
	}
	defer c.Close()
	n, err := c.Delete(context.Background(), nil) // nothing stale: nothing read or deleted
	fmt.Println(n, err)
	// Output: 0 <nil>
}
