package main

import (
	"strings"
	"testing"
)

func TestUserspaceMode(t *testing.T) {
	out := renderOK(t, "-mode", "userspace")
	wantLines(t, out,
		"TCP 10.96.0.10:80  demo/web:http  ClusterIP 10.96.0.10:80  rr [10.244.1.11:8080 10.244.2.21:8080]",
		"TCP 0.0.0.0:30080  demo/shop:http  NodePort *:30080 +localhost  mh [",
		"UDP 10.96.0.53:53  demo/dns:dns/UDP",
		"TCP 10.96.0.70:80  demo/empty:http  ClusterIP 10.96.0.70:80  reject",
		"affinity 3h0m0s",
		"TCP [fd00:10:96::10]:80",
	)
	// The drop frontend (ETP=Local without a local endpoint) is not served.
	if strings.Contains(out, ":30082") {
		t.Error("a Drop frontend got a listener")
	}
	_, out4, _ := runRender("-mode", "userspace", "-family", "4")
	if strings.Contains(out4, "fd00:") {
		t.Errorf("-family 4 printed IPv6:\n%s", out4)
	}
}
