package main

import (
	"strings"
	"testing"
)

func TestNFTablesMode(t *testing.T) {
	out := renderOK(t, "-mode", "nftables")
	wantLines(t, out,
		"table ip proxykit {",
		"table ip6 proxykit {",
		"ip daddr . meta l4proto . th dport vmap @service-ips",
		"10.96.0.10 . tcp . 80 : goto service-demo/web/tcp/80",
		"10.96.0.70 . tcp . 80 : goto reject-chain",
		"numgen random mod 2 vmap @endpoints-demo/web/tcp/80",
		"meta l4proto tcp dnat to 10.244.1.11:8080",
		"fd00:10:96::10 . tcp . 80 : goto service-demo/web/tcp/80",
	)
	_, out4, _ := runRender("-mode", "nftables", "-family", "4")
	if strings.Contains(out4, "table ip6") || !strings.Contains(out4, "table ip proxykit") {
		t.Errorf("-family 4 printed the wrong tables:\n%s", out4)
	}
}
