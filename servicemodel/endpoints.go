package servicemodel

import (
	"net/netip"

	"k8s.io/apimachinery/pkg/types"
)

// EndpointSlice is the proxy-relevant part of a discovery/v1 EndpointSlice.
type EndpointSlice struct {
	Service   types.NamespacedName // from the kubernetes.io/service-name label
	Name      string               // the slice's own name, unique in its namespace
	Family    IPFamily             // addressType; FQDN slices are ignored
	Ports     []EndpointPort
	Endpoints []Endpoint
}

// EndpointPort is one port of an EndpointSlice. Name matches a ServicePort's
// name; that is how a named targetPort is resolved.
type EndpointPort struct {
	Name     string
	Protocol Protocol
	Port     int32
}

// Endpoint is one endpoint of a slice. Conditions use Kubernetes' nil
// semantics: a nil Ready or Serving means true, a nil Terminating false.
type Endpoint struct {
	Addr        netip.Addr
	Ready       *bool
	Serving     *bool
	Terminating *bool
	NodeName    string
	Zone        string
	ForZones    []string
	ForNodes    []string
}

// IsReady applies Kubernetes' nil semantics to the ready condition.
func (e *Endpoint) IsReady() bool { return e.Ready == nil || *e.Ready }

// IsServing applies Kubernetes' nil semantics to the serving condition.
func (e *Endpoint) IsServing() bool { return e.Serving == nil || *e.Serving }

// IsTerminating applies Kubernetes' nil semantics to the terminating condition.
func (e *Endpoint) IsTerminating() bool { return e.Terminating != nil && *e.Terminating }

// Bool returns a pointer to b, for building Endpoint conditions.
func Bool(b bool) *bool { return &b }

// PortEndpoint is an endpoint resolved for one ServicePort: an address, the
// port number from the slice, and the conditions.
type PortEndpoint struct {
	Addr        netip.Addr
	Port        int32
	Ready       bool
	Serving     bool
	Terminating bool
	NodeName    string
	Zone        string
	ForZones    []string
	ForNodes    []string
}

// AddrPort returns the endpoint's address and port.
func (e PortEndpoint) AddrPort() netip.AddrPort { return netip.AddrPortFrom(e.Addr, uint16(e.Port)) }
