package rulegen

import (
	"net/netip"
	"runtime"
	"slices"
	"sync"

	"github.com/proxykit/proxykit/nat"
	"github.com/proxykit/proxykit/servicemodel"
)

var families = [2]servicemodel.IPFamily{servicemodel.IPv4, servicemodel.IPv6}

// Compile builds the Plan for a node from a snapshot. It is pure and
// deterministic, and its cost is linear in the snapshot's size.
func Compile(snap *servicemodel.Snapshot, node Node, cfg Config) (*Plan, error) {
	if err := cfg.validate(node); err != nil {
		return nil, err
	}
	p := &Plan{Node: node, Config: cfg,
		entries: servicemodel.NewCOWMap[servicemodel.ServicePortName, *ServicePlan](servicemodel.HashPortName)}
	edit := p.entries.Edit()
	edit.Reserve(snap.Len() * 5 / 4)
	// Insertion order does not matter: the plan's content is a function of
	// the snapshot, and Names sorts.
	for _, sp := range p.compileAll(snap) {
		edit.Set(sp.Name, sp)
	}
	p.entries = edit.Done()
	return p, nil
}

// parallelMin is the number of services from which Compile spreads the
// work over the CPUs.
const parallelMin = 2048

// compileAll compiles every port of every service, in parallel for large
// snapshots (compiling a port reads only the snapshot and the plan's
// settings).
func (p *Plan) compileAll(snap *servicemodel.Snapshot) []*ServicePlan {
	svcs := make([]*servicemodel.Service, 0, snap.Len())
	snap.RangeServices(func(svc *servicemodel.Service) bool {
		svcs = append(svcs, svc)
		return true
	})
	workers := min(runtime.GOMAXPROCS(0), len(svcs)/parallelMin)
	if workers <= 1 {
		return p.compileServices(snap, svcs)
	}
	parts := make([][]*ServicePlan, workers)
	var wg sync.WaitGroup
	for w := range workers {
		lo, hi := w*len(svcs)/workers, (w+1)*len(svcs)/workers
		wg.Go(func() { parts[w] = p.compileServices(snap, svcs[lo:hi]) })
	}
	wg.Wait()
	var out []*ServicePlan
	for _, part := range parts {
		out = append(out, part...)
	}
	return out
}

func (p *Plan) compileServices(snap *servicemodel.Snapshot, svcs []*servicemodel.Service) []*ServicePlan {
	out := make([]*ServicePlan, 0, len(svcs))
	for _, svc := range svcs {
		for _, port := range svc.Ports {
			if sp := p.compilePort(snap, svc, port); sp != nil {
				out = append(out, sp)
			}
		}
	}
	return out
}

// Update returns a new Plan in which the named service ports are recompiled
// from snap (and removed when gone); every other entry is shared with p. A
// nil changed list recompiles everything.
func (p *Plan) Update(snap *servicemodel.Snapshot, changed []servicemodel.ServicePortName) (*Plan, error) {
	if changed == nil {
		return Compile(snap, p.Node, p.Config)
	}
	next := &Plan{Node: p.Node, Config: p.Config}
	edit := p.entries.Edit()
	for _, name := range changed {
		edit.Delete(name)
		svc, ok := snap.Service(name.NamespacedName)
		if !ok {
			continue
		}
		for _, port := range svc.Ports {
			if svc.PortName(port) == name {
				if sp := p.compilePort(snap, svc, port); sp != nil {
					edit.Set(name, sp)
				}
			}
		}
	}
	next.entries = edit.Done()
	if p.ready.Load() {
		next.base, next.changed = p, slices.Clone(changed)
	}
	return next, nil
}

func (p *Plan) compilePort(snap *servicemodel.Snapshot, svc *servicemodel.Service, port servicemodel.ServicePort) *ServicePlan {
	if svc.Headless {
		return nil
	}
	// One allocation holds the service plan and, for the usual
	// single-family ClusterIP-only port, its family plan and frontend.
	a := &portAlloc{sp: ServicePlan{Name: svc.PortName(port)}}
	sp := &a.sp
	for _, f := range families {
		if !p.Config.HasFamily(f) {
			continue
		}
		clusterIP, ok := svc.ClusterIP(f)
		if !ok {
			continue
		}
		pp := p.compileFamily(a, svc, port, f, clusterIP, snap.Endpoints(sp.Name, f))
		if f == servicemodel.IPv4 {
			sp.V4 = pp
		} else {
			sp.V6 = pp
		}
	}
	if sp.V4 == nil && sp.V6 == nil {
		return nil
	}
	return sp
}

// portAlloc backs one service port's plan objects with one allocation.
type portAlloc struct {
	sp     ServicePlan
	pp     PortPlan
	fe     [1]Frontend
	ppUsed bool
}

// portPlan returns the embedded PortPlan the first time, a new one after.
func (a *portAlloc) portPlan() *PortPlan {
	if a.ppUsed {
		return new(PortPlan)
	}
	a.ppUsed = true
	return &a.pp
}

func (p *Plan) compileFamily(a *portAlloc, svc *servicemodel.Service, port servicemodel.ServicePort, f servicemodel.IPFamily,
	clusterIP netip.Addr, eps []servicemodel.PortEndpoint) *PortPlan {
	pp := a.portPlan()
	*pp = PortPlan{
		Name: svc.PortName(port), Family: f, Protocol: port.Protocol,
		ClusterIP: clusterIP, Port: port.Port,
		InternalLocal:       svc.InternalTrafficPolicy == servicemodel.PolicyLocal,
		ExternalLocal:       svc.ExternallyAccessible() && svc.ExternalTrafficPolicy == servicemodel.PolicyLocal,
		ClusterIPMasquerade: p.clusterIPMasquerade(),
		Affinity:            svc.AffinityTimeout,
		Scheduler:           svc.Scheduler,
	}
	if pp.ExternalLocal {
		pp.HealthCheckNodePort = svc.HealthCheckNodePort
	}
	var dst []Frontend
	if pp == &a.pp {
		dst = a.fe[:0:1] // the ClusterIP frontend, the only one of most ports
	}
	pp.Frontends = p.frontends(dst, svc, port, f, clusterIP)
	categorize(pp, eps, endpointView{node: p.Node, publishNotReady: svc.PublishNotReadyAddresses})
	return pp
}

func (p *Plan) clusterIPMasquerade() nat.Condition {
	switch {
	case p.Config.MasqueradeAll:
		return nat.Always
	case p.Config.LocalDetector.Implemented():
		return nat.IfNotLocal
	}
	return nat.Never
}

// frontends appends a port's frontends in one family to dst: the ClusterIP,
// the external IPs, the load-balancer ingresses and the NodePorts.
func (p *Plan) frontends(dst []Frontend, svc *servicemodel.Service, port servicemodel.ServicePort, f servicemodel.IPFamily, clusterIP netip.Addr) []Frontend {
	fes := append(dst, Frontend{Kind: ClusterIP, Addr: clusterIP, Port: port.Port})
	for _, ip := range svc.ExternalIPs {
		if servicemodel.FamilyOf(ip) == f {
			fes = append(fes, Frontend{Kind: ExternalIP, Addr: ip, Port: port.Port})
		}
	}
	if svc.Type == servicemodel.TypeLoadBalancer {
		for _, in := range svc.LoadBalancerIngress {
			if servicemodel.FamilyOf(in.IP) == f && in.IPMode != servicemodel.IPModeProxy {
				fes = append(fes, Frontend{Kind: LoadBalancer, Addr: in.IP, Port: port.Port,
					SourceRanges: familyPrefixes(svc.LoadBalancerSourceRanges, f)})
			}
		}
	}
	if port.NodePort != 0 {
		fes = append(fes, p.nodePortFrontends(port.NodePort, f)...)
	}
	return fes
}

func familyPrefixes(ps []netip.Prefix, f servicemodel.IPFamily) []netip.Prefix {
	var out []netip.Prefix
	for _, pr := range ps {
		if servicemodel.FamilyOf(pr.Addr()) == f {
			out = append(out, pr)
		}
	}
	return out
}

// NodePortAddrs returns the addresses NodePorts answer on in a family, or
// allLocal when they answer on every local address of the node (then
// localhost reports whether 127.0.0.0/8 is included too).
func (p *Plan) NodePortAddrs(f servicemodel.IPFamily) (addrs []netip.Addr, allLocal, localhost bool) {
	npa := p.Config.NodePortAddresses
	localhostOK := f == servicemodel.IPv4 && p.Config.LocalhostNodePorts
	switch {
	case npa.AllLocal():
		return nil, true, localhostOK
	case npa.Primary:
		if ip, ok := p.Node.PrimaryIP(f); ok {
			addrs = append(addrs, ip)
		}
		return addrs, false, false
	}
	for _, ip := range p.Node.IPs {
		if servicemodel.FamilyOf(ip) == f && containsAddr(npa.CIDRs, ip) {
			addrs = append(addrs, ip)
		}
	}
	if lo := netip.MustParseAddr("127.0.0.1"); localhostOK && containsAddr(npa.CIDRs, lo) {
		addrs = append(addrs, lo)
		localhost = true
	}
	return addrs, false, localhost
}

// nodePortFrontends spells the NodePort scope: every local address, the
// primary IP, or the node IPs inside the configured CIDRs.
func (p *Plan) nodePortFrontends(nodePort int32, f servicemodel.IPFamily) []Frontend {
	addrs, allLocal, localhost := p.NodePortAddrs(f)
	if allLocal {
		return []Frontend{{Kind: NodePort, Port: nodePort, Loopback: localhost}}
	}
	fes := make([]Frontend, 0, len(addrs))
	for _, ip := range addrs {
		fes = append(fes, Frontend{Kind: NodePort, Addr: ip, Port: nodePort, Loopback: ip.IsLoopback()})
	}
	return fes
}

func containsAddr(ps []netip.Prefix, ip netip.Addr) bool {
	for _, pr := range ps {
		if pr.Contains(ip) {
			return true
		}
	}
	return false
}
