package ipvs

import (
	"net/netip"

	"github.com/proxykit/proxykit/rulegen"
	"github.com/proxykit/proxykit/servicemodel"
)

// setRef is one entry of one named set.
type setRef struct {
	set   *IPSet
	entry SetEntry
}

// shortcut is an external frontend of a Local-policy service that traffic
// from local pods and the node reaches through the ClusterIP instead.
type shortcut struct {
	proto    Protocol
	frontend netip.AddrPort
	cluster  netip.AddrPort
}

// portContrib is what one service port in one family adds to the desired
// state: the Backend adds and removes these as services change.
type portContrib struct {
	services  []*VirtualServer
	addrs     []netip.Addr
	entries   []setRef
	shortcuts []shortcut
}

// portRenderer renders service ports for one plan's node and options.
type portRenderer struct {
	opts  RenderOptions
	def   schedChoice
	nodes []netip.Addr         // the node's addresses, for "every local address" NodePorts
	sets  [2]map[string]*IPSet // the companion sets by short name: IPv4, IPv6
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
	proto, ok := protocolOf(pp.Protocol)
	if !ok {
		return &portContrib{}
	}
	c := &portContrib{
		services: make([]*VirtualServer, 0, len(pp.Frontends)+len(r.nodes)),
		entries:  make([]setRef, 0, len(pp.ClusterEndpoints)+3*(len(pp.Frontends)+len(r.nodes))),
	}
	sets := r.sets[0]
	if pp.Family == servicemodel.IPv6 {
		sets = r.sets[1]
	}
	name := func(set string) *IPSet { return sets[set] }
	sched := r.opts.scheduler(pp.Scheduler, r.def)
	internal, intAction := pp.InternalSet()
	external, extAction := pp.ExternalSet()
	for _, fe := range pp.Frontends {
		eps, action := external, extAction
		if fe.Kind == rulegen.ClusterIP {
			eps, action = internal, intAction
		}
		for _, addr := range r.frontendAddrs(pp, fe) {
			key := VSKey{Protocol: proto, Addr: addr, Port: uint16(fe.Port)}
			vs := &VirtualServer{VSKey: key, Scheduler: sched.name, Flags: sched.flags}
			if pp.Affinity > 0 {
				vs.Timeout = uint32(max(1, pp.Affinity.Seconds()))
			}
			fwd := r.opts.Forwarding[fe.Kind]
			vs.Reals = make([]RealServer, 0, len(eps))
			for _, ep := range eps {
				vs.Reals = append(vs.Reals, RealServer{Addr: ep.Addr, Port: uint16(ep.Port), Weight: 1, Forward: fwd})
			}
			c.services = append(c.services, vs)
			entry := PortEntry(addr, proto, uint16(fe.Port))
			switch action {
			case rulegen.Reject:
				c.entries = append(c.entries, setRef{name(SetNoEndpoints), entry})
			case rulegen.Drop:
				c.entries = append(c.entries, setRef{name(SetNoLocalEndpoints), entry})
			}
			r.frontendSets(c, pp, fe, entry, name)
			if fe.Kind != rulegen.NodePort {
				c.addrs = append(c.addrs, addr)
			}
			if fe.External() && pp.ExternalLocal && pp.ClusterIP.IsValid() {
				c.shortcuts = append(c.shortcuts, shortcut{proto,
					netip.AddrPortFrom(addr, uint16(fe.Port)), netip.AddrPortFrom(pp.ClusterIP, uint16(pp.Port))})
			}
		}
	}
	for _, ep := range pp.ClusterEndpoints {
		c.entries = append(c.entries, setRef{name(SetLoopback), PortIPEntry(ep.Addr, proto, uint16(ep.Port), ep.Addr)})
	}
	return c
}

// frontendSets records a frontend in the sets the companion rules match.
func (r *portRenderer) frontendSets(c *portContrib, pp *rulegen.PortPlan, fe rulegen.Frontend, entry SetEntry, name func(string) *IPSet) {
	add := func(set string) { c.entries = append(c.entries, setRef{name(set), entry}) }
	if fe.External() && pp.ExternalLocal {
		add(SetExternalLocal)
	}
	fwd := r.opts.Forwarding[fe.Kind]
	switch {
	case fe.Kind == rulegen.ClusterIP:
		add(SetClusterIP)
	case pp.ExternalLocal, fwd == Direct, fwd == Tunnel: // not masqueraded
	case fe.Kind == rulegen.ExternalIP:
		add(SetExternalIP)
	case fe.Kind == rulegen.LoadBalancer:
		add(SetLoadBalancer)
	case fe.Kind == rulegen.NodePort:
		add(SetNodePort)
	}
	if fe.Kind == rulegen.LoadBalancer && len(fe.SourceRanges) > 0 {
		add(SetFirewall)
		for _, src := range fe.SourceRanges {
			c.entries = append(c.entries, setRef{name(SetSourceRanges), entry.WithAddr2(src)})
		}
	}
}

// frontendAddrs returns the virtual server addresses of a frontend: its own,
// or, for a NodePort on every local address, the node's addresses of the
// family. Localhost NodePorts are not served (IPVS cannot balance traffic
// from 127.0.0.0/8 to other hosts).
func (r *portRenderer) frontendAddrs(pp *rulegen.PortPlan, fe rulegen.Frontend) []netip.Addr {
	if fe.Addr.IsValid() {
		return []netip.Addr{fe.Addr}
	}
	if fe.Kind != rulegen.NodePort {
		return nil
	}
	var out []netip.Addr
	for _, a := range r.nodes {
		if servicemodel.FamilyOf(a) == pp.Family && !a.IsLoopback() {
			out = append(out, a)
		}
	}
	return out
}
