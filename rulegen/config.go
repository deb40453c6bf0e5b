package rulegen

import (
	"errors"
	"fmt"
	"net/netip"

	"github.com/proxykit/proxykit/nat"
	"github.com/proxykit/proxykit/servicemodel"
)

// Node describes the node the Plan is for.
type Node struct {
	Name string
	// IPs are the node's addresses; the first of each family is its primary.
	IPs  []netip.Addr
	Zone string
}

// PrimaryIP returns the node's first address of a family.
func (n Node) PrimaryIP(f servicemodel.IPFamily) (netip.Addr, bool) {
	for _, ip := range n.IPs {
		if servicemodel.FamilyOf(ip) == f {
			return ip, true
		}
	}
	return netip.Addr{}, false
}

// NodePortAddresses selects the node addresses NodePorts listen on. The zero
// value means every local address (kube-proxy's iptables default).
type NodePortAddresses struct {
	// Primary limits NodePorts to the node's primary IP of each family
	// (kube-proxy's nftables default, `--nodeport-addresses primary`).
	Primary bool
	// CIDRs limits NodePorts to the node IPs inside these ranges; a range
	// holding 127.0.0.1 also enables localhost NodePorts if allowed.
	CIDRs []netip.Prefix
}

// AllLocal reports whether NodePorts answer on every local address.
func (n NodePortAddresses) AllLocal() bool { return !n.Primary && len(n.CIDRs) == 0 }

// Config holds the node-wide policy options.
type Config struct {
	// LocalDetector recognises traffic from local pods.
	LocalDetector nat.LocalDetector
	// MasqueradeMark is the mark backends use to flag masquerading; zero
	// means nat.DefaultMark.
	MasqueradeMark nat.Mark
	// MasqueradeAll masquerades all traffic to cluster IPs.
	MasqueradeAll     bool
	NodePortAddresses NodePortAddresses
	// LocalhostNodePorts accepts IPv4 NodePort traffic to 127.0.0.0/8 from
	// the node itself (kube-proxy's iptables default is true).
	LocalhostNodePorts bool
	// Families limits the Plan to these families; empty means both.
	Families []servicemodel.IPFamily
}

// Mark returns the masquerade mark, defaulted.
func (c Config) Mark() nat.Mark {
	if c.MasqueradeMark == (nat.Mark{}) {
		return nat.DefaultMark
	}
	return c.MasqueradeMark
}

// HasFamily reports whether the Plan serves a family.
func (c Config) HasFamily(f servicemodel.IPFamily) bool {
	if len(c.Families) == 0 {
		return true
	}
	for _, g := range c.Families {
		if g == f {
			return true
		}
	}
	return false
}

// ErrInvalidConfig is wrapped by every error Compile returns for a bad Node or Config.
var ErrInvalidConfig = errors.New("invalid rulegen configuration")

func (c Config) validate(node Node) error {
	var errs []error
	if err := c.LocalDetector.Validate(); err != nil {
		errs = append(errs, err)
	}
	if err := c.Mark().Validate(); err != nil {
		errs = append(errs, err)
	}
	for _, p := range c.NodePortAddresses.CIDRs {
		if !p.IsValid() {
			errs = append(errs, fmt.Errorf("nodePortAddresses: %q is not a CIDR", p))
		}
	}
	for _, f := range c.Families {
		if f != servicemodel.IPv4 && f != servicemodel.IPv6 {
			errs = append(errs, fmt.Errorf("families: unknown family %q", f))
		}
	}
	for _, ip := range node.IPs {
		if !ip.IsValid() || ip.IsUnspecified() {
			errs = append(errs, fmt.Errorf("node IP %q is not a usable address", ip))
		}
	}
	if len(errs) == 0 {
		return nil
	}
	return fmt.Errorf("%w: %w", ErrInvalidConfig, errors.Join(errs...))
}
