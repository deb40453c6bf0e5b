package nat

import (
	"fmt"
	"net/netip"
	"testing"
)

func TestLocalDetector(t *testing.T) {
	cluster := ByCIDR(DetectClusterCIDR, netip.MustParsePrefix("10.244.0.0/16"), netip.MustParsePrefix("fd00:10:244::/48"))
	cases := []struct {
		d     LocalDetector
		src   string
		iface string
		want  bool
	}{
		{cluster, "10.244.2.5", "eth0", true},
		{cluster, "10.0.0.100", "eth0", false},
		{cluster, "fd00:10:244:1::5", "", true},
		{cluster, "fd00::100", "", false},
		{ByCIDR(DetectNodeCIDR, netip.MustParsePrefix("10.244.1.0/24")), "10.244.2.5", "", false},
		{LocalDetector{Mode: DetectBridgeInterface, Interface: "cni0"}, "1.2.3.4", "cni0", true},
		{LocalDetector{Mode: DetectBridgeInterface, Interface: "cni0"}, "1.2.3.4", "cni01", false},
		{LocalDetector{Mode: DetectInterfaceNamePrefix, Interface: "veth"}, "1.2.3.4", "veth12", true},
		{LocalDetector{Mode: DetectInterfaceNamePrefix, Interface: "veth"}, "1.2.3.4", "", false},
		{LocalDetector{}, "10.244.2.5", "cni0", false},
	}
	for _, c := range cases {
		if got := c.d.IsLocal(netip.MustParseAddr(c.src), c.iface); got != c.want {
			t.Errorf("%v IsLocal(%s, %q) = %v, want %v", c.d, c.src, c.iface, got, c.want)
		}
	}
}

func TestValidate(t *testing.T) {
	bad := []LocalDetector{
		{Mode: DetectClusterCIDR},
		{Mode: DetectNodeCIDR, CIDRs: []netip.Prefix{netip.MustParsePrefix("10.244.1.5/24")}},
		{Mode: DetectClusterCIDR, CIDRs: []netip.Prefix{netip.MustParsePrefix("10.0.0.0/8"), netip.MustParsePrefix("11.0.0.0/8")}},
		{Mode: DetectBridgeInterface},
		{Mode: DetectInterfaceNamePrefix, Interface: "a-very-long-interface-name"},
		{Mode: 42},
	}
	for _, d := range bad {
		if err := d.Validate(); err == nil {
			t.Errorf("%+v: no error", d)
		}
	}
	if err := (Mark{Value: 0x4000, Mask: 0x4000}).Validate(); err != nil {
		t.Error(err)
	}
	if err := (Mark{Value: 0x8000, Mask: 0x4000}).Validate(); err == nil {
		t.Error("mark outside mask accepted")
	}
}

func ExampleLocalDetector() {
	d := ByCIDR(DetectClusterCIDR, netip.MustParsePrefix("10.244.0.0/16"))
	fmt.Println(d, d.IsLocal(netip.MustParseAddr("10.244.1.7"), ""), d.IsLocal(netip.MustParseAddr("10.0.0.100"), ""))
	// Output: ClusterCIDR 10.244.0.0/16 true false
}
