package ipvs

import (
	"fmt"
	"net/netip"

	"github.com/proxykit/proxykit/iptables"
	"github.com/proxykit/proxykit/rulegen"
	"github.com/proxykit/proxykit/servicemodel"
)

// Rendered is what IPVS mode programs for a Plan: the IPVS state (virtual
// servers, the addresses on the dummy interface, the companion ipsets) and,
// per family, the companion iptables rules (nat and filter tables).
type Rendered struct {
	IPVS  *State
	Rules map[iptables.Family]*iptables.Ruleset
}

// Render returns what IPVS mode programs for plan, in kube-proxy's IPVS
// layout:
//
//   - one virtual server per frontend: the ClusterIP, each externalIP and
//     LoadBalancer IP, and each NodePort on every NodePort address (for
//     "every local address", the node's IPs, Plan.Node.IPs);
//   - the ClusterIP virtual server balances over PortPlan.InternalSet, the
//     others over ExternalSet: IPVS cannot tell sources apart within a virtual
//     server, so the ETP=Local short-circuit of traffic from local pods and the
//     node is a companion DNAT to the ClusterIP;
//   - every address but the node's is bound on the dummy interface;
//   - ipsets (SetName) that the fixed companion rules match, so that the rule
//     count does not grow with the number of services (except one DNAT rule per
//     external frontend of an ETP=Local service).
//
// Localhost NodePorts (Frontend.Loopback) are not served: IPVS mode cannot
// forward traffic from 127.0.0.0/8, as in kube-proxy.
func Render(plan *rulegen.Plan, opts RenderOptions) (*Rendered, error) {
	b, err := newBuilder(plan, opts)
	if err != nil {
		return nil, err
	}
	n := plan.Len()
	b.state.Services = make(map[VSKey]*VirtualServer, n+n/4)
	b.state.Addresses = make(map[netip.Addr]struct{}, n)
	chunks, loops := b.r.renderChunks(plan, false)
	b.addChunks(chunks, loops)
	var cuts [2][]shortcut // by family, in name order
	for _, ch := range chunks {
		for _, c := range ch.contribs {
			for _, s := range c.shortcuts {
				i := 0
				if s.frontend.Addr().Is6() {
					i = 1
				}
				cuts[i] = append(cuts[i], s)
			}
		}
	}
	out := &Rendered{IPVS: b.state, Rules: map[iptables.Family]*iptables.Ruleset{}}
	for i, f := range []iptables.Family{iptables.IPv4, iptables.IPv6} {
		out.Rules[f] = b.companion(plan, f, cuts[i])
	}
	return out, nil
}

// portAt names a port of portsOf: its service port and family (index in
// modelFamilies).
type portAt struct {
	name   servicemodel.ServicePortName
	family int
}

// portsOf returns the ports of the service plans, of both families (a
// service port's IPv4 plan first), and, when asked, where each comes from.
func portsOf(sps []*rulegen.ServicePlan, where bool) ([]*rulegen.PortPlan, []portAt) {
	ports := make([]*rulegen.PortPlan, 0, len(sps))
	var at []portAt
	for _, sp := range sps {
		for i, f := range modelFamilies {
			if pp := sp.Family(f); pp != nil {
				ports = append(ports, pp)
				if where {
					at = append(at, portAt{sp.Name, i})
				}
			}
		}
	}
	return ports, at
}

// setMaxElem lets a companion set hold an entry per endpoint of a large
// cluster (the kernel's default is 65536).
const setMaxElem = 1 << 20

// builder keeps a desired State as the sum of per-port contributions, with
// reference counts for what several ports may share (addresses, entries).
type builder struct {
	r         portRenderer
	state     *State
	addrRefs  map[netip.Addr]int // extra references: 1 for an object two ports share
	entryRefs map[setRef]int
	claims    *claims // who claims which virtual server; nil: the last added wins
}

func newBuilder(plan *rulegen.Plan, opts RenderOptions) (*builder, error) {
	if plan == nil {
		return nil, fmt.Errorf("ipvs: Render needs a plan")
	}
	opts, def, err := opts.normalized()
	if err != nil {
		return nil, err
	}
	b := &builder{
		r:         portRenderer{opts: opts, def: def, nodes: plan.Node.IPs},
		state:     NewState(),
		addrRefs:  map[netip.Addr]int{},
		entryRefs: map[setRef]int{},
	}
	for _, v6 := range []bool{false, true} {
		for id, s := range companionSets {
			set := NewIPSet(SetName(opts.SetPrefix, s.name, v6), s.typ, v6)
			set.MaxElem = setMaxElem
			b.state.AddSet(set)
			b.r.sets[keyOf(v6, setID(id))] = set
		}
	}
	return b, nil
}

// add puts a contribution into the state. What is already there gains an
// extra reference (kept only for shared objects, which are few).
func (b *builder) add(c *portContrib) {
	b.addServices(c)
	b.addEntries(c)
}

// addServices puts a contribution's virtual servers and addresses into the
// state.
func (b *builder) addServices(c *portContrib) {
	for _, vs := range c.services {
		b.claim(c, vs)
	}
	for _, a := range c.addrs {
		// One map operation instead of a lookup and an insert.
		if !insertNew(b.state.Addresses, a) {
			b.addrRefs[a]++
		}
	}
}

// addEntries puts a contribution's set entries into the state.
func (b *builder) addEntries(c *portContrib) {
	for _, e := range c.entries {
		if !b.r.sets[e.set].entries.insert(e.entry) {
			b.entryRefs[e]++
		}
	}
}

// insertNew puts k into m and reports whether it was absent.
func insertNew[K comparable](m map[K]struct{}, k K) bool {
	n := len(m)
	m[k] = struct{}{}
	return len(m) > n
}

// remove takes a contribution out of the state.
func (b *builder) remove(c *portContrib) {
	for _, vs := range c.services {
		b.unclaim(c, vs)
	}
	for _, a := range c.addrs {
		if !unref(b.addrRefs, a) {
			delete(b.state.Addresses, a)
		}
	}
	for _, e := range c.entries {
		if !unref(b.entryRefs, e) {
			b.r.sets[e.set].entries.remove(e.entry)
		}
	}
}

// unref drops one extra reference to k; false when k has none left, so
// the port going away was its last holder.
func unref[K comparable](refs map[K]int, k K) bool {
	switch n := refs[k]; n {
	case 0:
		return false
	case 1:
		delete(refs, k)
	default:
		refs[k] = n - 1
	}
	return true
}
