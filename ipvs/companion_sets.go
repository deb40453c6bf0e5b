package ipvs

// The companion ipsets, after the set prefix (and "6-" for IPv6). Every
// family always has all of them, empty or not, so that the companion rules,
// which reference them, never change with the services.
const (
	// SetClusterIP holds every ClusterIP,proto:port.
	SetClusterIP = "CLUSTER-IP"
	// SetExternalIP holds externalIP frontends of services with
	// externalTrafficPolicy Cluster (masqueraded).
	SetExternalIP = "EXTERNAL-IP"
	// SetLoadBalancer holds LoadBalancer frontends of Cluster-policy
	// services (masqueraded).
	SetLoadBalancer = "LOAD-BALANCER"
	// SetNodePort holds node address,proto:NodePort of Cluster-policy
	// services (masqueraded).
	SetNodePort = "NODE-PORT"
	// SetExternalLocal holds every external frontend (externalIP, LB,
	// NodePort) of services with externalTrafficPolicy Local: traffic from
	// local pods and the node to these is short-circuited to the ClusterIP.
	SetExternalLocal = "EXTERNAL-LOCAL"
	// SetFirewall holds LoadBalancer frontends with source ranges.
	SetFirewall = "LB-FW"
	// SetSourceRanges holds frontend,proto:port,allowed-source-range.
	SetSourceRanges = "LB-SOURCE-CIDR"
	// SetLoopback holds endpoint,proto:port,endpoint: hairpin traffic,
	// masqueraded.
	SetLoopback = "LOOP-BACK"
	// SetNoEndpoints holds frontends of services without any endpoint:
	// rejected.
	SetNoEndpoints = "NO-ENDPOINTS"
	// SetNoLocalEndpoints holds external frontends of Local-policy services
	// with no endpoint on this node: external traffic is dropped.
	SetNoLocalEndpoints = "NO-LOCAL-EP"
)

// maxSetPrefix keeps the longest set name ("6-" + "LB-SOURCE-CIDR") within
// the kernel's 31 bytes.
const maxSetPrefix = 31 - len("6-"+SetSourceRanges)

// setID is a companion set's index in companionSets.
type setID uint8

// The companion sets by index, in companionSets' order.
const (
	idClusterIP setID = iota
	idExternalIP
	idExternalLocal
	idFirewall
	idSourceRanges
	idLoadBalancer
	idLoopback
	idNoEndpoints
	idNoLocalEndpoints
	idNodePort
	numSets
)

// companionSets lists the sets with their types, in name order.
var companionSets = [numSets]struct {
	name string
	typ  SetType
}{
	idClusterIP:        {SetClusterIP, HashIPPort},
	idExternalIP:       {SetExternalIP, HashIPPort},
	idExternalLocal:    {SetExternalLocal, HashIPPort},
	idFirewall:         {SetFirewall, HashIPPort},
	idSourceRanges:     {SetSourceRanges, HashIPPortNet},
	idLoadBalancer:     {SetLoadBalancer, HashIPPort},
	idLoopback:         {SetLoopback, HashIPPortIP},
	idNoEndpoints:      {SetNoEndpoints, HashIPPort},
	idNoLocalEndpoints: {SetNoLocalEndpoints, HashIPPort},
	idNodePort:         {SetNodePort, HashIPPort},
}

// setKey is a companion set of one family: setID for IPv4, numSets+setID
// for IPv6.
type setKey uint8

const numSetKeys = 2 * numSets

func keyOf(v6 bool, id setID) setKey {
	if v6 {
		return setKey(numSets + id)
	}
	return setKey(id)
}

// SetName returns the full name of a companion set in a family.
func SetName(prefix, set string, ipv6 bool) string {
	if ipv6 {
		return prefix + "6-" + set
	}
	return prefix + set
}
