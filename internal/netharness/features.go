package netharness

import (
	"errors"
	"fmt"
	"net/netip"
	"os"
)

// ErrUnsupported is wrapped by Build's error when the kernel lacks a feature
// the spec needs.
var ErrUnsupported = errors.New("netharness: kernel feature unavailable")

func exists(path string) bool {
	_, err := os.Stat(path)
	return err == nil
}

// HaveIPv6 reports whether the kernel has IPv6 enabled.
func HaveIPv6() bool { return exists("/proc/sys/net/ipv6/conf/all/forwarding") }

// HaveBridgeNF reports whether br_netfilter is present (built in or loaded),
// which Build needs unless Spec.Node.NoBridgeNF is set.
func HaveBridgeNF() bool { return exists("/proc/sys/net/bridge/bridge-nf-call-iptables") }

// HaveSCTP reports whether the kernel has SCTP loaded. The harness does not
// serve SCTP; tests can use this to skip their SCTP cases.
func HaveSCTP() bool { return exists("/proc/sys/net/sctp") }

// checkFeatures reports the first feature spec needs that is missing.
func checkFeatures(spec Spec) error {
	if !spec.Node.NoBridgeNF && !HaveBridgeNF() {
		return fmt.Errorf("%w: br_netfilter (modprobe br_netfilter, or set Spec.Node.NoBridgeNF)", ErrUnsupported)
	}
	if usesIPv6(spec) && !HaveIPv6() {
		return fmt.Errorf("%w: IPv6", ErrUnsupported)
	}
	return nil
}

func usesIPv6(spec Spec) bool {
	lists := [][]netip.Prefix{spec.Node.BridgeAddrs, spec.Node.ExtAddrs}
	for _, p := range spec.Pods {
		lists = append(lists, p.Addrs)
	}
	for _, c := range spec.Clients {
		lists = append(lists, c.Addrs)
	}
	for _, ps := range lists {
		if hasFamily(ps, false) {
			return true
		}
	}
	return false
}
