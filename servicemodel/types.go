package servicemodel

import (
	"fmt"
	"net/netip"
	"time"

	"k8s.io/apimachinery/pkg/types"
)

// Protocol is a layer-4 protocol a ServicePort can carry.
type Protocol string

// The protocols a Service port may use.
const (
	TCP  Protocol = "TCP"
	UDP  Protocol = "UDP"
	SCTP Protocol = "SCTP"
)

// IPFamily is an IP address family.
type IPFamily string

// The two IP families.
const (
	IPv4 IPFamily = "IPv4"
	IPv6 IPFamily = "IPv6"
)

// FamilyOf returns the family of a valid address.
func FamilyOf(a netip.Addr) IPFamily {
	if a.Is4() || a.Is4In6() {
		return IPv4
	}
	return IPv6
}

// ServiceType is the Kubernetes Service type. ExternalName services are
// ignored by proxies and never appear in a Snapshot.
type ServiceType string

// The Service types a proxy serves.
const (
	TypeClusterIP    ServiceType = "ClusterIP"
	TypeNodePort     ServiceType = "NodePort"
	TypeLoadBalancer ServiceType = "LoadBalancer"
	TypeExternalName ServiceType = "ExternalName"
)

// TrafficPolicy is an internal or external traffic policy.
type TrafficPolicy string

// The traffic policies.
const (
	PolicyCluster TrafficPolicy = "Cluster"
	PolicyLocal   TrafficPolicy = "Local"
)

// IPMode is how a load balancer ingress IP delivers traffic (Kubernetes'
// status.loadBalancer.ingress[].ipMode).
type IPMode string

// The ingress IP modes. With Proxy the load balancer itself rewrites the
// destination, so the node must not capture traffic to that IP.
const (
	IPModeVIP   IPMode = "VIP"
	IPModeProxy IPMode = "Proxy"
)

// DefaultAffinityTimeout is Kubernetes' default ClientIP affinity timeout.
const DefaultAffinityTimeout = 10800 * time.Second

// SchedulerAnnotation names the per-service scheduler hint.
const SchedulerAnnotation = "proxykit.io/scheduler"

// ServicePortName identifies one port of one Service: the unit that proxies
// program and that change tracking reports.
type ServicePortName struct {
	types.NamespacedName
	Port     string // the ServicePort's name; "" for a single unnamed port
	Protocol Protocol
}

// String prints "namespace/name:port" (kube-proxy's form), with the protocol
// appended when it is not TCP.
func (n ServicePortName) String() string {
	s := n.Namespace + "/" + n.Name
	if n.Port != "" {
		s += ":" + n.Port
	}
	if n.Protocol != "" && n.Protocol != TCP {
		s += "/" + string(n.Protocol)
	}
	return s
}

// Compare orders ServicePortNames by namespace, name, port and protocol.
func (n ServicePortName) Compare(o ServicePortName) int {
	switch {
	case n.Namespace != o.Namespace:
		return cmpStr(n.Namespace, o.Namespace)
	case n.Name != o.Name:
		return cmpStr(n.Name, o.Name)
	case n.Port != o.Port:
		return cmpStr(n.Port, o.Port)
	default:
		return cmpStr(string(n.Protocol), string(o.Protocol))
	}
}

func cmpStr(a, b string) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

// Service is the part of a Kubernetes Service that a proxy acts on.
type Service struct {
	Name types.NamespacedName
	Type ServiceType

	// ClusterIPs holds one address per family, primary first. Empty with
	// Headless set means clusterIP "None": the service gets no rules.
	ClusterIPs []netip.Addr
	Headless   bool

	Ports []ServicePort

	ExternalIPs              []netip.Addr
	LoadBalancerIngress      []LoadBalancerIngress
	LoadBalancerSourceRanges []netip.Prefix

	// AffinityTimeout is zero without ClientIP session affinity.
	AffinityTimeout time.Duration

	ExternalTrafficPolicy TrafficPolicy
	InternalTrafficPolicy TrafficPolicy

	HealthCheckNodePort      int32
	TrafficDistribution      string
	PublishNotReadyAddresses bool

	// Scheduler is the proxykit.io/scheduler annotation: an IPVS scheduler
	// name, honoured by backends that choose endpoints themselves.
	Scheduler string
}

// ServicePort is one port of a Service.
type ServicePort struct {
	Name     string
	Protocol Protocol
	Port     int32
	// TargetPort is a number, or a name resolved through the EndpointSlice
	// ports (which carry the ServicePort's name).
	TargetPort TargetPort
	NodePort   int32
}

// TargetPort is a port number or a named container port.
type TargetPort struct {
	Number int32
	Name   string
}

// String prints the number or the name.
func (t TargetPort) String() string {
	if t.Name != "" {
		return t.Name
	}
	return fmt.Sprint(t.Number)
}

// LoadBalancerIngress is one IP from status.loadBalancer.ingress.
type LoadBalancerIngress struct {
	IP     netip.Addr
	IPMode IPMode // "" means VIP
}

// ClientIPAffinity reports whether the Service asks for ClientIP affinity.
func (s *Service) ClientIPAffinity() bool { return s.AffinityTimeout > 0 }

// ClusterIP returns the cluster IP of a family, if the Service has one.
func (s *Service) ClusterIP(f IPFamily) (netip.Addr, bool) {
	for _, ip := range s.ClusterIPs {
		if FamilyOf(ip) == f {
			return ip, true
		}
	}
	return netip.Addr{}, false
}

// ExternallyAccessible reports whether traffic from outside the cluster can
// reach the Service: through a NodePort, an external IP or a load balancer IP.
func (s *Service) ExternallyAccessible() bool {
	if len(s.ExternalIPs) > 0 || len(s.LoadBalancerIngress) > 0 {
		return true
	}
	for _, p := range s.Ports {
		if p.NodePort != 0 {
			return true
		}
	}
	return false
}

// PortName returns the ServicePortName of one of the Service's ports.
func (s *Service) PortName(p ServicePort) ServicePortName {
	return ServicePortName{NamespacedName: s.Name, Port: p.Name, Protocol: p.Protocol}
}
