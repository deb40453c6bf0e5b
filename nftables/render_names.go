package nftables

import (
	"hash/fnv"
	"net/netip"
	"strconv"
	"strings"

	"github.com/proxykit/proxykit/rulegen"
	"github.com/proxykit/proxykit/servicemodel"
)

// Names of the objects every rendered table holds.
const (
	mapServiceIPs       = "service-ips"
	mapServiceNodePorts = "service-nodeports"

	chainNatPrerouting  = "nat-prerouting"
	chainNatOutput      = "nat-output"
	chainNatPostrouting = "nat-postrouting"
	chainServices       = "services"
	chainMasquerading   = "masquerading"
	chainReject         = "reject-chain"
)

// sharedMap is a map every service port adds elements to.
type sharedMap uint8

const (
	smServiceIPs sharedMap = iota
	smNodePorts
	numSharedMaps
)

func (m sharedMap) name() string {
	return [...]string{mapServiceIPs, mapServiceNodePorts}[m]
}

// portNames are the names of one service port's chains and sets: a kind
// prefix, then namespace/name/protocol/port (kube-proxy's style), so the
// ruleset reads like the model. They are cut from one string.
type portNames struct {
	id                        string // ns/name/tcp/80
	service, local, ext, fw   string // chains
	endpoints, endpointsLocal string // numgen maps
}

var portNameKinds = [...]string{"service-", "local-", "external-", "firewall-", "endpoints-", "endpoints-local-"}

func newPortNames(pp *rulegen.PortPlan) portNames { return portNamesIn(nil, pp) }

// portNamesIn cuts the names of pp from one string, taken from a's text
// block (or allocated when a is nil).
func portNamesIn(a *arena, pp *rulegen.PortPlan) portNames {
	var tmp [512]byte
	buf := append(tmp[:0], pp.Name.Namespace...)
	buf = append(append(buf, '/'), pp.Name.Name...)
	buf = append(append(buf, '/'), lowerProto(pp.Protocol)...)
	buf = strconv.AppendInt(append(buf, '/'), int64(pp.Port), 10)
	idLen := len(buf)
	ends := [len(portNameKinds)]int{}
	for i, k := range portNameKinds {
		buf = append(append(buf, k...), buf[:idLen]...)
		ends[i] = len(buf)
	}
	var all string
	if a == nil {
		all = string(buf)
	} else {
		all = a.name(buf)
	}
	cut := func(i int) string { return all[ends[i]-len(portNameKinds[i])-idLen : ends[i]] }
	return portNames{id: all[:idLen], service: cut(0), local: cut(1), ext: cut(2), fw: cut(3),
		endpoints: cut(4), endpointsLocal: cut(5)}
}

// lowerProto spells a protocol in lower case, as nft names it, without
// allocating for the usual ones.
func lowerProto(p servicemodel.Protocol) string {
	if n, ok := protoNumbers[string(p)]; ok {
		return ProtoName(n)
	}
	return strings.ToLower(string(p))
}

// appendEndpoint appends the suffix naming one endpoint of the port: its
// address (':' spelled '.', which nft does not take in a bare name) and
// port.
func (n portNames) appendEndpoint(b []byte, ep netip.AddrPort) []byte {
	b = append(append(b, n.id...), "__"...)
	start := len(b)
	b = ep.Addr().AppendTo(b)
	if ep.Addr().Is6() {
		for i := start; i < len(b); i++ {
			if b[i] == ':' {
				b[i] = '.'
			}
		}
	}
	return strconv.AppendInt(append(b, '/'), int64(ep.Port()), 10)
}

// shardOf picks a service's shard: a stable hash of namespace/name, so every
// port of a service, in both families, lives in the same shard.
func shardOf(name servicemodel.ServicePortName, shards int) int {
	if shards <= 1 {
		return 0
	}
	h := fnv.New32a()
	_, _ = h.Write([]byte(name.Namespace))
	_, _ = h.Write([]byte{'/'})
	_, _ = h.Write([]byte(name.Name))
	// FNV's low bits follow the parity of the input bytes ("ns-1/svc-1"
	// cancels out), so mix the hash (murmur3's finaliser) before reducing.
	x := h.Sum32()
	x ^= x >> 16
	x *= 0x85ebca6b
	x ^= x >> 13
	x *= 0xc2b2ae35
	x ^= x >> 16
	return int(x % uint32(shards))
}
