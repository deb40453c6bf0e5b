package servicemodel

import (
	"net/netip"
	"slices"

	"k8s.io/apimachinery/pkg/types"
)

// Snapshot is an immutable view of Services and their endpoints. Snapshots
// from one Tracker share unchanged parts; never modify what a Snapshot returns.
type Snapshot struct {
	services  COWMap[types.NamespacedName, *Service]
	endpoints COWMap[types.NamespacedName, *serviceEndpoints]
}

// EmptySnapshot returns a snapshot with no services.
func EmptySnapshot() *Snapshot {
	return &Snapshot{
		services:  NewCOWMap[types.NamespacedName, *Service](HashName),
		endpoints: NewCOWMap[types.NamespacedName, *serviceEndpoints](HashName),
	}
}

// Len returns the number of services.
func (s *Snapshot) Len() int { return s.services.Len() }

// Service returns one service.
func (s *Snapshot) Service(name types.NamespacedName) (*Service, bool) {
	return s.services.Get(name)
}

// ServiceNames returns every service's name, sorted.
func (s *Snapshot) ServiceNames() []types.NamespacedName {
	names := make([]types.NamespacedName, 0, s.services.Len())
	s.services.Range(func(n types.NamespacedName, _ *Service) bool {
		names = append(names, n)
		return true
	})
	slices.SortFunc(names, func(a, b types.NamespacedName) int {
		if a.Namespace != b.Namespace {
			return cmpStr(a.Namespace, b.Namespace)
		}
		return cmpStr(a.Name, b.Name)
	})
	return names
}

// Services returns every service, sorted by name.
func (s *Snapshot) Services() []*Service {
	names := s.ServiceNames()
	out := make([]*Service, len(names))
	for i, n := range names {
		out[i], _ = s.services.Get(n)
	}
	return out
}

// PortNames returns the ServicePortNames of every port of every service, sorted.
func (s *Snapshot) PortNames() []ServicePortName {
	var out []ServicePortName
	for _, svc := range s.Services() {
		for _, p := range svc.Ports {
			out = append(out, svc.PortName(p))
		}
	}
	return out
}

// Endpoints returns the endpoints of one service port, merged from all the
// service's slices of the given family and sorted by address. An address found
// in several slices appears once (see Tracker for the rule).
func (s *Snapshot) Endpoints(name ServicePortName, family IPFamily) []PortEndpoint {
	se, ok := s.endpoints.Get(name.NamespacedName)
	if !ok {
		return nil
	}
	return se.get(name, family)
}

// RangeServices calls fn for every service in no particular order, until
// fn returns false. It is cheaper than Services when order does not matter.
func (s *Snapshot) RangeServices(fn func(*Service) bool) {
	s.services.Range(func(_ types.NamespacedName, svc *Service) bool { return fn(svc) })
}

// Slices returns the EndpointSlices stored for a service, sorted by name.
func (s *Snapshot) Slices(svc types.NamespacedName) []*EndpointSlice {
	se, ok := s.endpoints.Get(svc)
	if !ok {
		return nil
	}
	return se.slices
}

// portKey selects the endpoints of one port of one family.
type portKey struct {
	port     string
	protocol Protocol
	family   IPFamily
}

// serviceEndpoints holds a service's slices and their merged endpoints.
type serviceEndpoints struct {
	slices []*EndpointSlice // sorted by name
	byPort []portEndpoints  // few entries: a scan beats hashing
}

type portEndpoints struct {
	key portKey
	eps []PortEndpoint
}

func (se *serviceEndpoints) find(key portKey) *portEndpoints {
	for i := range se.byPort {
		if se.byPort[i].key == key {
			return &se.byPort[i]
		}
	}
	return nil
}

// mergeSlices resolves a service's slices into per-port endpoint lists.
// Slices are read in name order; an address that appears in several slices of
// one port is kept once, preferring ready over serving over other, then the
// first slice by name. The result is sorted by address.
func mergeSlices(slices_ []*EndpointSlice) *serviceEndpoints {
	se := &serviceEndpoints{slices: slices_}
	index := map[portKey]map[netip.AddrPort]int{}
	for _, es := range slices_ {
		for _, port := range es.Ports {
			key := portKey{port.Name, port.Protocol, es.Family}
			if index[key] == nil {
				index[key] = map[netip.AddrPort]int{}
			}
			pe := se.find(key)
			if pe == nil {
				se.byPort = append(se.byPort, portEndpoints{key: key})
				pe = &se.byPort[len(se.byPort)-1]
			}
			for i := range es.Endpoints {
				pe.add(index[key], &es.Endpoints[i], port.Port)
			}
		}
	}
	for i := range se.byPort {
		slices.SortFunc(se.byPort[i].eps, func(a, b PortEndpoint) int { return a.Addr.Compare(b.Addr) })
	}
	return se
}

func (pe *portEndpoints) add(seen map[netip.AddrPort]int, ep *Endpoint, port int32) {
	e := PortEndpoint{
		Addr: ep.Addr, Port: port,
		Ready: ep.IsReady(), Serving: ep.IsServing(), Terminating: ep.IsTerminating(),
		NodeName: ep.NodeName, Zone: ep.Zone, ForZones: ep.ForZones, ForNodes: ep.ForNodes,
	}
	id := e.AddrPort()
	if i, dup := seen[id]; dup {
		if rank(e) > rank(pe.eps[i]) {
			pe.eps[i] = e
		}
		return
	}
	seen[id] = len(pe.eps)
	pe.eps = append(pe.eps, e)
}

func rank(e PortEndpoint) int {
	switch {
	case e.Ready:
		return 2
	case e.Serving:
		return 1
	}
	return 0
}
