package ipvs

import (
	"net/netip"

	"github.com/proxykit/proxykit/rulegen"
	"github.com/proxykit/proxykit/servicemodel"
)

// setRef is one entry of one companion set.
type setRef struct {
	entry SetEntry
	set   setKey
}

// shortcut is an external frontend of a Local-policy service that traffic
// from local pods and the node reaches through the ClusterIP instead.
type shortcut struct {
	proto    Protocol
	frontend netip.AddrPort
	cluster  netip.AddrPort
}

// portContrib is what one service port in one family adds to the desired
// state: the Backend adds and removes these as services change. (Render
// sums many ports into one.)
type portContrib struct {
	name      servicemodel.ServicePortName // of a single port
	services  []*VirtualServer
	addrs     []netip.Addr
	entries   []setRef
	shortcuts []shortcut
	arena     *vsArena // where render allocates; nil: object by object
	// sets, when set, takes the entries by set instead of entries.
	sets *[numSetKeys][]SetEntry
}

// entry records an entry of a companion set.
func (c *portContrib) entry(e SetEntry, k setKey) {
	if c.sets != nil {
		c.sets[k] = append(c.sets[k], e)
		return
	}
	c.entries = append(c.entries, setRef{e, k})
}

// portRenderer renders service ports for one plan's node and options.
type portRenderer struct {
	opts  RenderOptions
	def   schedChoice
	nodes []netip.Addr       // the node's addresses, for "every local address" NodePorts
	sets  [numSetKeys]*IPSet // the companion sets
}

func protocolOf(p servicemodel.Protocol) (Protocol, bool) {
	switch p {
	case servicemodel.TCP:
		return TCP, true
	case servicemodel.UDP:
		return UDP, true
	case servicemodel.SCTP:
		return SCTP, true
	}
	return 0, false
}

// render returns one service port's contribution.
func (r *portRenderer) render(pp *rulegen.PortPlan) *portContrib {
	c := &portContrib{
		name:     pp.Name,
		services: make([]*VirtualServer, 0, len(pp.Frontends)+len(r.nodes)),
		entries:  make([]setRef, 0, len(pp.ClusterEndpoints)+3*(len(pp.Frontends)+len(r.nodes))),
	}
	r.renderInto(c, pp)
	return c
}

// portCtx is what the frontends of one service port share.
type portCtx struct {
	pp                   *rulegen.PortPlan
	proto                Protocol
	v6                   bool
	sched                schedChoice
	internal, external   []rulegen.Endpoint
	intAction, extAction rulegen.Action
}

// renderInto adds one service port's virtual servers, addresses, set
// entries and shortcuts to c.
func (r *portRenderer) renderInto(c *portContrib, pp *rulegen.PortPlan) {
	proto, ok := protocolOf(pp.Protocol)
	if !ok {
		return
	}
	p := portCtx{pp: pp, proto: proto, v6: pp.Family == servicemodel.IPv6, sched: r.opts.scheduler(pp.Scheduler, r.def)}
	p.internal, p.intAction = pp.InternalSet()
	p.external, p.extAction = pp.ExternalSet()
	for _, fe := range pp.Frontends {
		if fe.Addr.IsValid() {
			r.frontend(c, &p, fe, fe.Addr)
			continue
		}
		if fe.Kind != rulegen.NodePort {
			continue
		}
		// A NodePort on every local address: the node's addresses of the
		// family. Localhost NodePorts are not served (IPVS cannot balance
		// traffic from 127.0.0.0/8 to other hosts).
		for _, a := range r.nodes {
			if servicemodel.FamilyOf(a) == pp.Family && !a.IsLoopback() {
				r.frontend(c, &p, fe, a)
			}
		}
	}
	loop := keyOf(p.v6, idLoopback)
	for _, ep := range pp.ClusterEndpoints {
		c.entry(PortIPEntry(ep.Addr, proto, uint16(ep.Port), ep.Addr), loop)
	}
}

// frontend adds the virtual server of one frontend address.
func (r *portRenderer) frontend(c *portContrib, p *portCtx, fe rulegen.Frontend, addr netip.Addr) {
	eps, action := p.external, p.extAction
	if fe.Kind == rulegen.ClusterIP {
		eps, action = p.internal, p.intAction
	}
	vs := c.arena.newVS()
	*vs = VirtualServer{VSKey: VSKey{Protocol: p.proto, Addr: addr, Port: uint16(fe.Port)}, Scheduler: p.sched.name, Flags: p.sched.flags}
	if p.pp.Affinity > 0 {
		vs.Timeout = uint32(max(1, p.pp.Affinity.Seconds()))
	}
	fwd := r.opts.Forwarding[fe.Kind]
	vs.Reals = c.arena.newReals(len(eps))
	for _, ep := range eps {
		vs.Reals = append(vs.Reals, RealServer{Addr: ep.Addr, Port: uint16(ep.Port), Weight: 1, Forward: fwd})
	}
	c.services = append(c.services, vs)
	entry := PortEntry(addr, p.proto, uint16(fe.Port))
	switch action {
	case rulegen.Reject:
		c.entry(entry, keyOf(p.v6, idNoEndpoints))
	case rulegen.Drop:
		c.entry(entry, keyOf(p.v6, idNoLocalEndpoints))
	}
	r.frontendSets(c, p, fe, entry)
	if fe.Kind != rulegen.NodePort {
		c.addrs = append(c.addrs, addr)
	}
	if fe.External() && p.pp.ExternalLocal && p.pp.ClusterIP.IsValid() {
		c.shortcuts = append(c.shortcuts, shortcut{p.proto,
			netip.AddrPortFrom(addr, uint16(fe.Port)), netip.AddrPortFrom(p.pp.ClusterIP, uint16(p.pp.Port))})
	}
}

// frontendSets records a frontend in the sets the companion rules match.
func (r *portRenderer) frontendSets(c *portContrib, p *portCtx, fe rulegen.Frontend, entry SetEntry) {
	add := func(id setID) { c.entry(entry, keyOf(p.v6, id)) }
	if fe.External() && p.pp.ExternalLocal {
		add(idExternalLocal)
	}
	fwd := r.opts.Forwarding[fe.Kind]
	switch {
	case fe.Kind == rulegen.ClusterIP:
		add(idClusterIP)
	case p.pp.ExternalLocal, fwd == Direct, fwd == Tunnel: // not masqueraded
	case fe.Kind == rulegen.ExternalIP:
		add(idExternalIP)
	case fe.Kind == rulegen.LoadBalancer:
		add(idLoadBalancer)
	case fe.Kind == rulegen.NodePort:
		add(idNodePort)
	}
	if fe.Kind == rulegen.LoadBalancer && len(fe.SourceRanges) > 0 {
		add(idFirewall)
		for _, src := range fe.SourceRanges {
			c.entry(entry.WithAddr2(src), keyOf(p.v6, idSourceRanges))
		}
	}
}
