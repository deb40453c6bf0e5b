package iptables

import (
	"crypto/sha256"
	"encoding/base32"
	"fmt"
	"net/netip"
	"strings"

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

// appendHashedChain appends prefix+kind+hash, where hash is kube-proxy's:
// the first 16 characters of the base32 SHA-256 of the service port name
// (its String), the protocol and, for endpoint chains, the endpoint
// "addr:port" (as netip.AddrPort prints it). With the default prefix the
// names equal kube-proxy's.
func appendHashedChain(out []byte, prefix, kind, spn, proto, ep string) []byte {
	var in [256]byte
	b := append(in[:0], spn...)
	b = append(b, proto...)
	b = append(b, ep...)
	sum := sha256.Sum256(b)
	var enc [16]byte
	base32.StdEncoding.Encode(enc[:], sum[:10]) // 10 bytes are the first 16 characters
	out = append(out, prefix...)
	out = append(out, kind...)
	return append(out, enc[:16]...)
}

// name writes a hashed chain name into the arena's side page and returns it.
func (a *arena) name(prefix, kind, spn, proto, ep string) string {
	start := len(a.side)
	a.side = appendHashedChain(a.side, prefix, kind, spn, proto, ep)
	return a.sideView(start)
}

// kindName returns the name of another kind with the same hash as name
// (of kind from), written into the arena's side page.
func (a *arena) kindName(prefix, kind, name, from string) string {
	start := len(a.side)
	a.side = append(a.side, prefix...)
	a.side = append(a.side, kind...)
	a.side = append(a.side, name[len(prefix)+len(from):]...)
	return a.sideView(start)
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
	spn               string // "ns/name:port"
	protoArg          string // "-p tcp"
	dportArg          string // "-m tcp --dport"
	dnatArg           string // "-m tcp -j DNAT --to-destination"
	svc, svl, ext, fw string
	prefix, protoUp   string
}

// newPortNames writes the port's chain names into a's text.
func newPortNames(a *arena, prefix, spn string, proto servicemodel.Protocol) portNames {
	n := portNames{spn: spn, prefix: prefix, protoUp: string(proto)}
	n.protoArg, n.dportArg, n.dnatArg = protocolArgs(proto)
	n.svc = a.name(prefix, kindSVC, spn, n.protoUp, "")
	n.svl = a.kindName(prefix, kindSVL, n.svc, kindSVC)
	n.ext = a.kindName(prefix, kindEXT, n.svc, kindSVC)
	n.fw = a.kindName(prefix, kindFW, n.svc, kindSVC)
	return n
}

// protocolArgs returns "-p P", "-m P --dport" and the DNAT rule's
// "-m P -j DNAT --to-destination" for a protocol (lower case, as iptables
// takes it).
func protocolArgs(p servicemodel.Protocol) (pArg, dportArg, dnatArg string) {
	switch p {
	case servicemodel.TCP:
		return "-p tcp", "-m tcp --dport", "-m tcp -j DNAT --to-destination"
	case servicemodel.UDP:
		return "-p udp", "-m udp --dport", "-m udp -j DNAT --to-destination"
	case servicemodel.SCTP:
		return "-p sctp", "-m sctp --dport", "-m sctp -j DNAT --to-destination"
	}
	proto := strings.ToLower(string(p))
	return "-p " + proto, "-m " + proto + " --dport", "-m " + proto + " -j DNAT --to-destination"
}

// sep returns the SEP chain name of an endpoint ("addr:port"), written
// into a's text.
func (n portNames) sep(a *arena, ep string) string {
	return a.name(n.prefix, kindSEP, n.spn, n.protoUp, ep)
}

// epText is an endpoint as rules spell it, written into the arena's text.
type epText struct {
	addrPort string // "10.0.0.1:80", "[fd00::1]:80"
	addr     string // "10.0.0.1", "fd00::1"
}

// endpointText writes an endpoint's text into a's side page.
func (a *arena) endpointText(ap netip.AddrPort) epText {
	start := len(a.side)
	a.side = ap.AppendTo(a.side)
	t := epText{addrPort: a.sideView(start)}
	if ip := ap.Addr(); ip.Is4() {
		t.addr = t.addrPort[:strings.LastIndexByte(t.addrPort, ':')]
	} else {
		start = len(a.side)
		a.side = ip.AppendTo(a.side)
		t.addr = a.sideView(start)
	}
	return t
}

func hostPrefix(a netip.Addr) string { return netip.PrefixFrom(a, a.BitLen()).String() }
