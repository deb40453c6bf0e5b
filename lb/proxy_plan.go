package lb

import (
	"errors"
	"fmt"
	"net/netip"
	"slices"
	"time"

	"github.com/proxykit/proxykit/rulegen"
	"github.com/proxykit/proxykit/servicemodel"
)

// ListenerSpec is one socket the proxy serves: a frontend of a service port
// mapped to the address it listens on, with the endpoints its traffic goes
// to. PlanListeners computes them from a Plan; it is pure.
type ListenerSpec struct {
	Service  servicemodel.ServicePortName
	Family   servicemodel.IPFamily
	Protocol servicemodel.Protocol // TCP or UDP
	Frontend rulegen.Frontend
	// Addr is where the proxy listens (port 0 lets the kernel choose).
	Addr netip.AddrPort
	// Action is Forward or Reject (Drop frontends get no listener).
	Action rulegen.Action
	// Scheduler is the resolved scheduler name: the service's hint, else
	// the proxy's default.
	Scheduler string
	// Affinity is the ClientIP session-affinity timeout, 0 for none.
	Affinity time.Duration
	// Endpoints are where connections go: the internal set for a ClusterIP
	// frontend, the external set otherwise.
	Endpoints []netip.AddrPort
	// LocalClients, for an external frontend of an ExternalLocal service,
	// is the internal set that clients on the node or in local pods use
	// instead (kube-proxy's short-circuit). Nil otherwise.
	LocalClients []netip.AddrPort
	// SourceRanges, for a LoadBalancer frontend, are the only clients
	// served; others are closed at once (TCP) or ignored (UDP).
	SourceRanges []netip.Prefix
}

// Key identifies a listener: protocol and address. With port 0 (the
// kernel chooses) the service and frontend are part of it, so that many
// frontends can map to one address with port 0.
func (s ListenerSpec) Key() string {
	k := string(s.Protocol) + " " + s.Addr.String()
	if s.Addr.Port() == 0 {
		k += " " + s.Service.String() + " " + string(s.Family) + " " + s.Frontend.String()
	}
	return k
}

// String prints the spec on one line.
func (s ListenerSpec) String() string {
	str := fmt.Sprintf("%s %s  %s  %s", s.Protocol, s.Addr, s.Service, s.Frontend)
	if s.Action != rulegen.Forward {
		return str + "  " + s.Action.String()
	}
	str += fmt.Sprintf("  %s %v", s.Scheduler, s.Endpoints)
	if s.Affinity > 0 {
		str += fmt.Sprintf(" affinity %s", s.Affinity)
	}
	if s.LocalClients != nil {
		str += fmt.Sprintf(" node/pod clients %v", s.LocalClients)
	}
	return str
}

// ListenConflictError reports a frontend that maps to an address another
// frontend already listens on; the proxy serves the first (in Plan order).
type ListenConflictError struct {
	Key      string
	Service  servicemodel.ServicePortName
	Frontend rulegen.Frontend
	Winner   servicemodel.ServicePortName
}

func (e *ListenConflictError) Error() string {
	return fmt.Sprintf("lb: %s %s: %s already serves %s", e.Service, e.Frontend, e.Winner, e.Key)
}

// planConfig is what PlanListeners needs from ProxyOptions, resolved.
type planConfig struct {
	listen    func(rulegen.Frontend, *rulegen.PortPlan) (netip.AddrPort, bool)
	scheduler string
}

// PlanListeners returns the listeners a proxy with these options serves for
// plan, in Plan order, and a *ListenConflictError (joined) for every
// frontend it skipped because its address was taken. SCTP ports and Drop
// frontends are not served. It reads the node's interface addresses when
// opts.IsLocal and opts.Listen are nil.
func PlanListeners(plan *rulegen.Plan, opts ProxyOptions) ([]ListenerSpec, error) {
	isLocal, err := opts.isLocal()
	if err != nil {
		return nil, err
	}
	specs, conflicts := opts.planConfig(isLocal).plan(plan)
	return specs, joinConflicts(conflicts)
}

func (c planConfig) plan(plan *rulegen.Plan) ([]ListenerSpec, []*ListenConflictError) {
	var specs []ListenerSpec
	var conflicts []*ListenConflictError
	owner := map[string]servicemodel.ServicePortName{}
	for _, f := range []servicemodel.IPFamily{servicemodel.IPv4, servicemodel.IPv6} {
		for _, pp := range plan.Ports(f) {
			if pp.Protocol != servicemodel.TCP && pp.Protocol != servicemodel.UDP {
				continue
			}
			for _, fe := range pp.Frontends {
				spec, ok := c.spec(pp, fe)
				if !ok {
					continue
				}
				if w, taken := owner[spec.Key()]; taken {
					conflicts = append(conflicts, &ListenConflictError{Key: spec.Key(), Service: pp.Name, Frontend: fe, Winner: w})
					continue
				}
				owner[spec.Key()] = pp.Name
				specs = append(specs, spec)
			}
		}
	}
	return specs, conflicts
}

func (c planConfig) spec(pp *rulegen.PortPlan, fe rulegen.Frontend) (ListenerSpec, bool) {
	addr, ok := c.listen(fe, pp)
	if !ok {
		return ListenerSpec{}, false
	}
	eps, action := pp.InternalSet()
	if fe.External() {
		eps, action = pp.ExternalSet()
	}
	if action == rulegen.Drop {
		return ListenerSpec{}, false
	}
	spec := ListenerSpec{
		Service: pp.Name, Family: pp.Family, Protocol: pp.Protocol, Frontend: fe, Addr: addr,
		Action: action, Scheduler: c.scheduler, Affinity: pp.Affinity,
		Endpoints: addrPorts(eps), SourceRanges: fe.SourceRanges,
	}
	if pp.Scheduler != "" {
		spec.Scheduler = pp.Scheduler
	}
	if fe.External() && pp.ExternalLocal && action == rulegen.Forward {
		if in, a := pp.InternalSet(); a == rulegen.Forward {
			spec.LocalClients = addrPorts(in)
		}
	}
	return spec, true
}

// addrPorts returns the endpoints' addresses, deduplicated, in order.
func addrPorts(eps []rulegen.Endpoint) []netip.AddrPort {
	out := make([]netip.AddrPort, 0, len(eps))
	for _, ep := range eps {
		ap := ep.AddrPort()
		if ap.IsValid() && ap.Port() != 0 && !slices.Contains(out, ap) {
			out = append(out, ap)
		}
	}
	return out
}

func joinConflicts(cs []*ListenConflictError) error {
	if len(cs) == 0 {
		return nil
	}
	errs := make([]error, len(cs))
	for i, c := range cs {
		errs[i] = c
	}
	return errors.Join(errs...)
}
