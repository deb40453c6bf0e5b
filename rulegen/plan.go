package rulegen

import (
	"fmt"
	"net/netip"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/proxykit/proxykit/nat"
	"github.com/proxykit/proxykit/servicemodel"
)

// Plan is the compiled policy for one node: per service port and family, a
// PortPlan. It is immutable and safe for concurrent use.
type Plan struct {
	Node   Node
	Config Config

	entries servicemodel.COWMap[servicemodel.ServicePortName, *ServicePlan]
	once    sync.Once
	names   []servicemodel.ServicePortName
	plans   []*ServicePlan // in the order of names
	ready   atomic.Bool    // names and plans are set

	// An updated plan whose base had its names sorted derives its own
	// from them and changed (see Names); both are dropped then.
	base    *Plan
	changed []servicemodel.ServicePortName
}

// ServicePlan holds the per-family plans of one service port.
type ServicePlan struct {
	Name servicemodel.ServicePortName
	// V4 and V6 are nil for a family the service does not serve.
	V4, V6 *PortPlan
}

// Family returns the plan of one family, or nil.
func (s *ServicePlan) Family(f servicemodel.IPFamily) *PortPlan {
	if f == servicemodel.IPv4 {
		return s.V4
	}
	return s.V6
}

// Len returns the number of service ports in the plan.
func (p *Plan) Len() int { return p.entries.Len() }

// Get returns the plan of one service port.
func (p *Plan) Get(name servicemodel.ServicePortName) (*ServicePlan, bool) {
	return p.entries.Get(name)
}

// Names returns every planned service port's name, sorted. The slice is
// shared: do not modify it. A plan made by Update from a plan whose names
// were already asked for derives them in one pass over those (and the
// changed names), instead of sorting them all again.
func (p *Plan) Names() []servicemodel.ServicePortName {
	p.sortOnce()
	return p.names
}

// ServicePlans returns every service port's plan in the order of Names,
// without a lookup per name: what a renderer walks. The slice is shared:
// do not modify it.
func (p *Plan) ServicePlans() []*ServicePlan {
	p.sortOnce()
	return p.plans
}

func (p *Plan) sortOnce() {
	p.once.Do(func() {
		if p.base != nil {
			p.mergeSorted(p.base, p.changed)
		} else {
			p.sortAll()
		}
		p.base, p.changed = nil, nil
		p.ready.Store(true)
	})
}

func (p *Plan) sortAll() {
	plans := make([]*ServicePlan, 0, p.entries.Len())
	p.entries.Range(func(_ servicemodel.ServicePortName, sp *ServicePlan) bool {
		plans = append(plans, sp)
		return true
	})
	slices.SortFunc(plans, func(a, b *ServicePlan) int { return a.Name.Compare(b.Name) })
	p.plans, p.names = plans, make([]servicemodel.ServicePortName, len(plans))
	for i, sp := range plans {
		p.names[i] = sp.Name
	}
}

// mergeSorted derives p's sorted names and plans from its base's and the
// names that changed since: a base entry that did not change stays (its
// plan is shared); a changed name is in when p plans it.
func (p *Plan) mergeSorted(base *Plan, changed []servicemodel.ServicePortName) {
	slices.SortFunc(changed, servicemodel.ServicePortName.Compare)
	changed = slices.Compact(changed)
	n := p.entries.Len()
	names, plans := make([]servicemodel.ServicePortName, 0, n), make([]*ServicePlan, 0, n)
	i := 0
	for _, c := range changed {
		at, found := slices.BinarySearchFunc(base.names[i:], c, servicemodel.ServicePortName.Compare)
		names, plans = append(names, base.names[i:i+at]...), append(plans, base.plans[i:i+at]...)
		if i += at; found {
			i++
		}
		if sp, ok := p.entries.Get(c); ok {
			names, plans = append(names, c), append(plans, sp)
		}
	}
	p.names, p.plans = append(names, base.names[i:]...), append(plans, base.plans[i:]...)
}

// Ports returns the plans of one family in name order.
func (p *Plan) Ports(f servicemodel.IPFamily) []*PortPlan {
	var out []*PortPlan
	for _, sp := range p.ServicePlans() {
		if pp := sp.Family(f); pp != nil {
			out = append(out, pp)
		}
	}
	return out
}

// FrontendKind says how traffic reaches a frontend.
type FrontendKind uint8

// The frontend kinds.
const (
	ClusterIP FrontendKind = iota
	ExternalIP
	LoadBalancer
	NodePort
)

// String names the kind.
func (k FrontendKind) String() string {
	return [...]string{"ClusterIP", "ExternalIP", "LoadBalancer", "NodePort", "?"}[min(int(k), 4)]
}

// Frontend is one address and port that captures traffic for a service port.
type Frontend struct {
	Kind FrontendKind
	// Addr is the destination address. For a NodePort it is invalid when the
	// NodePort answers on every local address of the node.
	Addr netip.Addr
	Port int32
	// Loopback marks a NodePort that also answers on 127.0.0.0/8 (IPv4
	// localhost NodePorts); such traffic is always masqueraded.
	Loopback bool
	// SourceRanges, for a LoadBalancer frontend, are the only sources
	// allowed; others are dropped. Empty allows all.
	SourceRanges []netip.Prefix
}

// External reports whether the frontend carries external traffic, which the
// external traffic policy governs.
func (f Frontend) External() bool { return f.Kind != ClusterIP }

// String prints "kind addr:port", with "*" for every local address.
func (f Frontend) String() string {
	dst := fmt.Sprintf("*:%d", f.Port)
	if f.Addr.IsValid() {
		dst = netip.AddrPortFrom(f.Addr, uint16(f.Port)).String()
	}
	s := f.Kind.String() + " " + dst
	if f.Loopback {
		s += " +localhost"
	}
	if len(f.SourceRanges) > 0 {
		s += fmt.Sprintf(" from %v", f.SourceRanges)
	}
	return s
}

// Endpoint is one endpoint of a PortPlan.
type Endpoint struct {
	Addr netip.Addr
	Port int32
	// Local is true when the endpoint runs on this node.
	Local       bool
	Ready       bool
	Serving     bool
	Terminating bool
}

// AddrPort returns the endpoint's address and port.
func (e Endpoint) AddrPort() netip.AddrPort { return netip.AddrPortFrom(e.Addr, uint16(e.Port)) }

// Action is what happens to traffic for a frontend.
type Action uint8

// The actions.
const (
	// Forward sends the traffic to an endpoint of the chosen set.
	Forward Action = iota
	// Reject answers with an ICMP unreachable or a TCP reset: the service
	// has no usable endpoints at all.
	Reject
	// Drop discards the traffic silently: the service has endpoints, but
	// none that this traffic's policy may use (Local policy, none local), or
	// the source is outside the LoadBalancer source ranges.
	Drop
)

// String names the action.
func (a Action) String() string { return [...]string{"forward", "reject", "drop", "?"}[min(int(a), 3)] }

// PortPlan is the policy for one service port in one IP family.
type PortPlan struct {
	Name      servicemodel.ServicePortName
	Family    servicemodel.IPFamily
	Protocol  servicemodel.Protocol
	ClusterIP netip.Addr
	Port      int32
	Frontends []Frontend

	// ClusterEndpoints is the set cluster-policy traffic uses, after topology
	// hints and the terminating fallback; LocalEndpoints the set
	// local-policy traffic uses (this node's endpoints only).
	ClusterEndpoints []Endpoint
	LocalEndpoints   []Endpoint
	// HasEndpoints is false when no usable endpoint exists anywhere: every
	// frontend then rejects.
	HasEndpoints bool
	// InternalLocal: ClusterIP traffic uses LocalEndpoints (ITP=Local).
	InternalLocal bool
	// ExternalLocal: external traffic uses LocalEndpoints (ETP=Local), except
	// traffic from local pods and from the node itself, which is treated as
	// ClusterIP traffic (InternalSet), the node's own masqueraded.
	ExternalLocal bool

	// ClusterIPMasquerade is the condition for traffic to the ClusterIP.
	// External traffic to a cluster-policy set is always masqueraded;
	// hairpin traffic (a source that is the chosen endpoint) always is.
	ClusterIPMasquerade nat.Condition

	// Affinity is the ClientIP session-affinity timeout; zero for none.
	Affinity time.Duration
	// Scheduler is the service's scheduler hint, "" for the backend default.
	Scheduler string
	// HealthCheckNodePort is the service's health-check NodePort, 0 for none.
	HealthCheckNodePort int32
}

// InternalSet returns the endpoints ClusterIP traffic uses and the action.
func (pp *PortPlan) InternalSet() ([]Endpoint, Action) {
	return pp.set(pp.InternalLocal)
}

// ExternalSet returns the endpoints that external traffic uses, and the
// action. Under ExternalLocal, traffic from local pods and from the node is
// short-circuited to InternalSet instead.
func (pp *PortPlan) ExternalSet() ([]Endpoint, Action) {
	return pp.set(pp.ExternalLocal)
}

func (pp *PortPlan) set(local bool) ([]Endpoint, Action) {
	if !pp.HasEndpoints {
		return nil, Reject
	}
	eps := pp.ClusterEndpoints
	if local {
		eps = pp.LocalEndpoints
	}
	if len(eps) == 0 {
		return nil, Drop
	}
	return eps, Forward
}
