package iptables

import (
	"crypto/sha256"
	"encoding/base32"
	"fmt"
	"net/netip"
	"strconv"
)

// Chain kinds, as kube-proxy names them after the prefix.
const (
	kindSVC = "SVC-" // cluster-policy endpoint choice
	kindSVL = "SVL-" // local-policy endpoint choice
	kindEXT = "EXT-" // external traffic: masquerade and policy
	kindFW  = "FW-"  // load-balancer source ranges (nat side)
	kindSEP = "SEP-" // one endpoint: hairpin masquerade and DNAT
)

// hashedChain returns prefix+kind+hash, where hash is kube-proxy's: the first
// 16 characters of the base32 SHA-256 of the service port name (its
// String), the protocol and, for endpoint chains, the endpoint "addr:port".
// With the default prefix the names equal kube-proxy's.
func hashedChain(prefix, kind, spn, proto string, ep netip.AddrPort) string {
	var in [256]byte
	b := append(in[:0], spn...)
	b = append(b, proto...)
	if ep.IsValid() {
		b = ep.AppendTo(b)
	}
	sum := sha256.Sum256(b)
	var enc [56]byte
	base32.StdEncoding.Encode(enc[:], sum[:])
	out := make([]byte, 0, len(prefix)+len(kind)+16)
	out = append(out, prefix...)
	out = append(out, kind...)
	out = append(out, enc[:16]...)
	return string(out)
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

// portNames holds the strings of one service port that many rules repeat.
type portNames struct {
	spn                     string // "ns/name:port"
	proto                   string // "tcp"
	svc, svl, ext, fw       string
	cip                     string // "-d" value of the cluster IP
	port                    string
	prefix, protoUpperCased string
}

func newPortNames(prefix, spn, protoUpper, proto string, port int32) portNames {
	n := portNames{spn: spn, proto: proto, prefix: prefix, protoUpperCased: protoUpper, port: strconv.Itoa(int(port))}
	n.svc = hashedChain(prefix, kindSVC, spn, protoUpper, netip.AddrPort{})
	n.svl = prefix + kindSVL + n.svc[len(prefix)+len(kindSVC):]
	n.ext = prefix + kindEXT + n.svc[len(prefix)+len(kindSVC):]
	n.fw = prefix + kindFW + n.svc[len(prefix)+len(kindSVC):]
	return n
}

func (n portNames) sep(ep netip.AddrPort) string {
	return hashedChain(n.prefix, kindSEP, n.spn, n.protoUpperCased, ep)
}

func hostPrefix(a netip.Addr) string { return netip.PrefixFrom(a, a.BitLen()).String() }
