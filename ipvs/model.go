package ipvs

import (
	"maps"
	"net/netip"
	"slices"
	"strings"
)

// State is the IPVS side of a node: virtual servers, the addresses bound on
// the dummy interface, and ipsets. The zero value is an empty state. A State
// read from a Kernel holds only what is ours (see the package comment).
type State struct {
	Services  map[VSKey]*VirtualServer
	Addresses map[netip.Addr]struct{}
	Sets      map[string]*IPSet
}

// NewState returns an empty State with its maps made.
func NewState() *State {
	return &State{
		Services:  map[VSKey]*VirtualServer{},
		Addresses: map[netip.Addr]struct{}{},
		Sets:      map[string]*IPSet{},
	}
}

// AddService stores v (replacing a virtual server with the same key) and
// returns it.
func (s *State) AddService(v *VirtualServer) *VirtualServer {
	if s.Services == nil {
		s.Services = map[VSKey]*VirtualServer{}
	}
	s.Services[v.VSKey] = v
	return v
}

// AddAddress binds addresses on the dummy interface.
func (s *State) AddAddress(addrs ...netip.Addr) {
	if s.Addresses == nil {
		s.Addresses = map[netip.Addr]struct{}{}
	}
	for _, a := range addrs {
		s.Addresses[a] = struct{}{}
	}
}

// AddSet stores set (replacing one with the same name) and returns it.
func (s *State) AddSet(set *IPSet) *IPSet {
	if s.Sets == nil {
		s.Sets = map[string]*IPSet{}
	}
	s.Sets[set.Name] = set
	return set
}

// SortedServices returns the virtual servers ordered by key (IPv4 first, then
// address, protocol, port, mark), each with its real servers sorted.
func (s *State) SortedServices() []*VirtualServer {
	keys := slices.SortedFunc(maps.Keys(s.Services), compareKeys)
	out := make([]*VirtualServer, len(keys))
	for i, k := range keys {
		v := s.Services[k].Clone()
		v.Sort()
		out[i] = v
	}
	return out
}

// SortedAddresses returns the dummy interface's addresses in order.
func (s *State) SortedAddresses() []netip.Addr {
	return slices.SortedFunc(maps.Keys(s.Addresses), netip.Addr.Compare)
}

// SortedSets returns the ipsets ordered by name.
func (s *State) SortedSets() []*IPSet {
	names := slices.Sorted(maps.Keys(s.Sets))
	out := make([]*IPSet, len(names))
	for i, n := range names {
		out[i] = s.Sets[n]
	}
	return out
}

// Equal reports whether s and o hold the same virtual servers, addresses and
// sets (connection counters aside).
func (s *State) Equal(o *State) bool {
	if len(s.Services) != len(o.Services) || len(s.Addresses) != len(o.Addresses) || len(s.Sets) != len(o.Sets) {
		return false
	}
	for k, v := range s.Services {
		w, ok := o.Services[k]
		if !ok || !v.Equal(w) {
			return false
		}
	}
	for a := range s.Addresses {
		if _, ok := o.Addresses[a]; !ok {
			return false
		}
	}
	for n, set := range s.Sets {
		p, ok := o.Sets[n]
		if !ok || !set.Equal(p) {
			return false
		}
	}
	return true
}

// Clone returns a deep copy of s.
func (s *State) Clone() *State {
	c := NewState()
	for k, v := range s.Services {
		c.Services[k] = v.Clone()
	}
	maps.Copy(c.Addresses, s.Addresses)
	for n, set := range s.Sets {
		c.Sets[n] = set.Clone()
	}
	return c
}

// String prints the whole state: ipvsadm rules, addresses and ipsets.
func (s *State) String() string {
	var b strings.Builder
	b.WriteString(s.SaveIPVS())
	for _, a := range s.SortedAddresses() {
		b.WriteString("addr " + a.String() + "\n")
	}
	b.WriteString(s.SaveIPSets())
	return b.String()
}
