package iptables

import (
	"github.com/proxykit/proxykit/nat"
	"github.com/proxykit/proxykit/rulegen"
)

// DefaultConfig returns the rulegen configuration that reproduces
// kube-proxy's iptables mode: localhost NodePorts on (IPv4), NodePorts on
// every local address, masquerade mark 0x4000. Set LocalDetector to your
// cluster's (kube-proxy detects local traffic by cluster CIDR by default).
func DefaultConfig() rulegen.Config {
	return rulegen.Config{
		MasqueradeMark:     nat.DefaultMark,
		LocalhostNodePorts: true,
	}
}
