package servicemodel

import (
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
	return se.byPort[portKey{name.Port, name.Protocol, family}]
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
	byPort map[portKey][]PortEndpoint
}

// mergeSlices resolves a service's slices into per-port endpoint lists.
// Slices are read in name order; an address that appears in several slices of
// one port is kept once, preferring ready over serving over other, then the
// first slice by name. The result is sorted by address.
func mergeSlices(slices_ []*EndpointSlice) *serviceEndpoints {
	se := &serviceEndpoints{slices: slices_, byPort: map[portKey][]PortEndpoint{}}
	index := map[portKey]map[string]int{}
	for _, es := range slices_ {
		for _, port := range es.Ports {
			key := portKey{port.Name, port.Protocol, es.Family}
			if index[key] == nil {
				index[key] = map[string]int{}
			}
			for i := range es.Endpoints {
				se.addEndpoint(key, index[key], &es.Endpoints[i], port.Port)
			}
		}
	}
	for key, eps := range se.byPort {
		slices.SortFunc(eps, func(a, b PortEndpoint) int { return a.Addr.Compare(b.Addr) })
		se.byPort[key] = eps
	}
	return se
}

func (se *serviceEndpoints) addEndpoint(key portKey, seen map[string]int, ep *Endpoint, port int32) {
	pe := PortEndpoint{
		Addr: ep.Addr, Port: port,
		Ready: ep.IsReady(), Serving: ep.IsServing(), Terminating: ep.IsTerminating(),
		NodeName: ep.NodeName, Zone: ep.Zone, ForZones: ep.ForZones, ForNodes: ep.ForNodes,
	}
	id := pe.AddrPort().String()
	if i, dup := seen[id]; dup {
		if rank(pe) > rank(se.byPort[key][i]) {
			se.byPort[key][i] = pe
		}
		return
	}
	seen[id] = len(se.byPort[key])
	se.byPort[key] = append(se.byPort[key], pe)
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
