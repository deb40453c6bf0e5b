package nftables

import (
	"hash/fnv"
	"strconv"
	"strings"

	"github.com/proxykit/proxykit/rulegen"
	"github.com/proxykit/proxykit/servicemodel"
)

// Names of the objects every rendered table holds.
const (
	mapServiceIPs       = "service-ips"
	mapServiceNodePorts = "service-nodeports"
	mapNoEPServices     = "no-endpoint-services"
	mapNoEPNodePorts    = "no-endpoint-nodeports"

	chainNatPrerouting  = "nat-prerouting"
	chainNatOutput      = "nat-output"
	chainNatPostrouting = "nat-postrouting"
	chainServices       = "services"
	chainMarkMasq       = "mark-for-masquerade"
	chainMasquerading   = "masquerading"
	chainFilterInput    = "filter-input"
	chainFilterForward  = "filter-forward"
	chainFilterOutput   = "filter-output"
	chainEndpointsCheck = "endpoints-check"
	chainReject         = "reject-chain"
)

// sharedMap is a map every service port adds elements to.
type sharedMap uint8

const (
	smServiceIPs sharedMap = iota
	smNodePorts
	smNoEPServices
	smNoEPNodePorts
	numSharedMaps
)

func (m sharedMap) name() string {
	return [...]string{mapServiceIPs, mapServiceNodePorts, mapNoEPServices, mapNoEPNodePorts}[m]
}

// portNames are the names of one service port's chains and sets: a kind
// prefix, then namespace/name/protocol/port (kube-proxy's style), so the
// ruleset reads like the model.
type portNames struct {
	id                        string // ns/name/tcp/80
	service, local, ext, fw   string // chains (fw is also the source-range set)
	endpoints, endpointsLocal string // numgen maps
}

func newPortNames(pp *rulegen.PortPlan) portNames {
	var b strings.Builder
	b.Grow(len(pp.Name.Namespace) + len(pp.Name.Name) + 16)
	b.WriteString(pp.Name.Namespace)
	b.WriteByte('/')
	b.WriteString(pp.Name.Name)
	b.WriteByte('/')
	b.WriteString(strings.ToLower(string(pp.Protocol)))
	b.WriteByte('/')
	b.WriteString(strconv.Itoa(int(pp.Port)))
	id := b.String()
	return portNames{id: id, service: "service-" + id, local: "local-" + id, ext: "external-" + id,
		fw: "firewall-" + id, endpoints: "endpoints-" + id, endpointsLocal: "endpoints-local-" + id}
}

// endpoint returns the suffix naming one endpoint of the port: its address
// (':' spelled '.', which nft does not take in a bare name) and port.
func (n portNames) endpoint(ep rulegen.Endpoint) string {
	a := ep.Addr.String()
	if ep.Addr.Is6() {
		a = strings.ReplaceAll(a, ":", ".")
	}
	return n.id + "__" + a + "/" + strconv.Itoa(int(ep.Port))
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
