package iptables

import (
	"crypto/sha256"
	"encoding/base32"
	"fmt"

	"github.com/proxykit/proxykit/servicemodel"
)

// Chain kinds, as kube-proxy names them after the prefix.
const (
	kindSVC = "SVC-" // cluster-policy endpoint choice
	kindSVL = "SVL-" // local-policy endpoint choice
	kindEXT = "EXT-" // external traffic: masquerade and policy
	kindFW  = "FW-"  // load-balancer source ranges (nat side)
	kindSEP = "SEP-" // one endpoint: hairpin masquerade and DNAT
)

// hashName returns kube-proxy's chain-name hash: the first 16 characters of
// the base32 SHA-256 of the service port name, protocol and, for endpoint
// chains, the endpoint. With the default prefix the names equal kube-proxy's.
func hashName(spn servicemodel.ServicePortName, endpoint string) string {
	h := sha256.Sum256([]byte(spn.String() + string(spn.Protocol) + endpoint))
	return base32.StdEncoding.EncodeToString(h[:])[:16]
}

// MaxPrefixLen bounds the chain prefix so that every chain name fits the
// kernel's 28 characters (prefix + "SVC-" + 16 hash characters).
const MaxPrefixLen = 8

func checkPrefix(p string) error {
	if p == "" || len(p) > MaxPrefixLen {
		return fmt.Errorf("iptables: chain prefix %q must have 1 to %d characters", p, MaxPrefixLen)
	}
	for i := 0; i < len(p); i++ {
		c := p[i]
		if !(c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-' || c == '_') {
			return fmt.Errorf("iptables: chain prefix %q may hold only A-Z, 0-9, '-' and '_'", p)
		}
	}
	return nil
}

// names derives the chain names of one service port.
type names struct {
	prefix string
	hash   string
}

func (n names) chain(kind string) string { return n.prefix + kind + n.hash }

// sep returns the endpoint chain of ep (an "addr:port" string).
func (n names) sep(spn servicemodel.ServicePortName, ep string) string {
	return n.prefix + kindSEP + hashName(spn, ep)
}
