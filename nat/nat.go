// Package nat is the vocabulary that policy (rulegen) and every backend share
// about source NAT: the masquerade mark, the local-traffic detector and the
// conditions under which traffic is masqueraded. It is pure: the kernel side
// (stale conntrack cleanup) lives in nat/conntrack.
package nat

import (
	"fmt"
	"net/netip"
	"strings"
)

// Mark is the packet mark that flags a connection for masquerading, as
// value/mask. kube-proxy's is 0x4000/0x4000.
type Mark struct {
	Value uint32
	Mask  uint32
}

// DefaultMark is kube-proxy's masquerade mark.
var DefaultMark = Mark{Value: 0x4000, Mask: 0x4000}

// String prints "0x4000/0x4000".
func (m Mark) String() string { return fmt.Sprintf("%#x/%#x", m.Value, m.Mask) }

// Validate reports a mark with no bits, or value bits outside the mask.
func (m Mark) Validate() error {
	if m.Mask == 0 || m.Value == 0 || m.Value&^m.Mask != 0 {
		return fmt.Errorf("masquerade mark %s: value must be non-zero and inside the mask", m)
	}
	return nil
}

// Condition says when traffic through a frontend is masqueraded. The Plan
// states conditions; each backend spells them in its own rules.
type Condition uint8

const (
	// Never: the source address is preserved.
	Never Condition = iota
	// Always: the source is rewritten to the node's address.
	Always
	// IfNotLocal: masquerade unless the LocalDetector says the source is local
	// (a pod of this cluster or node); without a detector this is Never.
	IfNotLocal
)

// String names the condition.
func (c Condition) String() string {
	switch c {
	case Never:
		return "never"
	case Always:
		return "always"
	case IfNotLocal:
		return "if-not-local"
	}
	return fmt.Sprintf("Condition(%d)", uint8(c))
}

// DetectMode is how the LocalDetector recognises traffic from local pods.
type DetectMode uint8

// The detection modes, as kube-proxy's --detect-local-mode.
const (
	DetectNone DetectMode = iota
	DetectClusterCIDR
	DetectNodeCIDR
	DetectBridgeInterface
	DetectInterfaceNamePrefix
)

// String names the mode like kube-proxy's flag values.
func (m DetectMode) String() string {
	return [...]string{"None", "ClusterCIDR", "NodeCIDR", "BridgeInterface", "InterfaceNamePrefix", "?"}[min(int(m), 5)]
}

// LocalDetector tells whether a packet comes from a pod (local traffic),
// which decides IfNotLocal masquerading and the ETP=Local short-circuit. It
// is a value: backends spell it as a source match or an input-interface match.
type LocalDetector struct {
	Mode DetectMode
	// CIDRs are the cluster CIDRs (DetectClusterCIDR) or the node's pod CIDRs
	// (DetectNodeCIDR), at most one per family.
	CIDRs []netip.Prefix
	// Interface is the bridge (DetectBridgeInterface) or the name prefix
	// (DetectInterfaceNamePrefix).
	Interface string
}

// ByCIDR returns a detector of the given mode (DetectClusterCIDR or DetectNodeCIDR).
func ByCIDR(mode DetectMode, cidrs ...netip.Prefix) LocalDetector {
	return LocalDetector{Mode: mode, CIDRs: cidrs}
}

// Implemented reports whether the detector can tell anything apart.
func (d LocalDetector) Implemented() bool { return d.Mode != DetectNone }

// CIDR returns the detector's CIDR for an address family (4 or 6).
func (d LocalDetector) CIDR(is4 bool) (netip.Prefix, bool) {
	for _, p := range d.CIDRs {
		if p.Addr().Is4() == is4 {
			return p, true
		}
	}
	return netip.Prefix{}, false
}

// IsLocal reports whether a packet with this source address, arriving on the
// named interface ("" when it was generated on the node), is local traffic.
func (d LocalDetector) IsLocal(src netip.Addr, inIface string) bool {
	switch d.Mode {
	case DetectClusterCIDR, DetectNodeCIDR:
		p, ok := d.CIDR(src.Is4())
		return ok && p.Contains(src)
	case DetectBridgeInterface:
		return inIface == d.Interface
	case DetectInterfaceNamePrefix:
		return inIface != "" && strings.HasPrefix(inIface, d.Interface)
	}
	return false
}

// Validate checks the detector's fields against its mode.
func (d LocalDetector) Validate() error {
	switch d.Mode {
	case DetectNone:
		return nil
	case DetectClusterCIDR, DetectNodeCIDR:
		if len(d.CIDRs) == 0 {
			return fmt.Errorf("local detector %s: needs at least one CIDR", d.Mode)
		}
		seen := map[bool]bool{}
		for _, p := range d.CIDRs {
			if !p.IsValid() || p != p.Masked() {
				return fmt.Errorf("local detector %s: %q is not a canonical CIDR", d.Mode, p)
			}
			if seen[p.Addr().Is4()] {
				return fmt.Errorf("local detector %s: more than one CIDR for a family", d.Mode)
			}
			seen[p.Addr().Is4()] = true
		}
	case DetectBridgeInterface, DetectInterfaceNamePrefix:
		if d.Interface == "" || len(d.Interface) > 15 {
			return fmt.Errorf("local detector %s: interface name %q must have 1 to 15 characters", d.Mode, d.Interface)
		}
	default:
		return fmt.Errorf("local detector: unknown mode %d", d.Mode)
	}
	return nil
}

// String describes the detector, e.g. "ClusterCIDR 10.244.0.0/16".
func (d LocalDetector) String() string {
	switch d.Mode {
	case DetectClusterCIDR, DetectNodeCIDR:
		parts := make([]string, len(d.CIDRs))
		for i, p := range d.CIDRs {
			parts[i] = p.String()
		}
		return d.Mode.String() + " " + strings.Join(parts, ",")
	case DetectBridgeInterface, DetectInterfaceNamePrefix:
		return d.Mode.String() + " " + d.Interface
	}
	return d.Mode.String()
}
