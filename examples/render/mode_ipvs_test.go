package main

import (
	"strings"
	"testing"
)

func TestModeIPVS(t *testing.T) {
	out := renderOK(t, "-mode", "ipvs", "-family", "4")
	wantLines(t, out,
		"# ---- ipvsadm-save (ipvsadm -R) ----\n-A -t 10.0.0.10:30080 -s mh",
		"# ---- addresses on kube-ipvs0 ----\n# 10.96.0.10\n",
		"# ---- ipset save (ipset restore) ----\ncreate KUBE-6-CLUSTER-IP hash:ip,port family inet6",
		"add KUBE-CLUSTER-IP 10.96.0.10,tcp:80\n",
		"# ---- iptables-save (companion rules) ----\n*nat\n",
		"-A KUBE-SERVICES ! -s 10.244.0.0/16 -m set --match-set KUBE-CLUSTER-IP dst,dst -j KUBE-MARK-MASQ\n",
	)
	if strings.Contains(out, "ip6tables-save") {
		t.Error("-family 4 printed IPv6 rules")
	}
}
