package sysctl

import (
	"fmt"
	"testing"
)

func TestPath(t *testing.T) {
	for _, bad := range []string{"", "net/ipv4", "net..ipv4", "../../etc/passwd"} {
		if _, err := Path(bad); err == nil {
			t.Errorf("%q accepted", bad)
		}
	}
}

func ExamplePath() {
	p, _ := Path("net.ipv4.conf.all.route_localnet")
	fmt.Println(p)
	// Output: /proc/sys/net/ipv4/conf/all/route_localnet
}
