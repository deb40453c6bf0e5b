package iptables

import (
	"slices"

	"github.com/proxykit/proxykit/rulegen"
	"github.com/proxykit/proxykit/servicemodel"
)

// portFrags holds the rendered fragment of every port of the plan, in the
// order of the plan's sorted names, which is the order a full render
// renders them in: taking them costs a full render nothing (a map by name
// cost it a hashed insert per port), and a change finds a port by binary
// search. A change that adds or removes ports realigns them in one pass.
type portFrags struct {
	names []servicemodel.ServicePortName // shared with the plan: do not modify
	frags []*fragment                    // nil for a port that does not serve the family
}

// find returns the position of name.
func (p *portFrags) find(name servicemodel.ServicePortName) (int, bool) {
	return slices.BinarySearchFunc(p.names, name, servicemodel.ServicePortName.Compare)
}

// get returns the fragment of name, or nil.
func (p *portFrags) get(name servicemodel.ServicePortName) *fragment {
	if i, ok := p.find(name); ok {
		return p.frags[i]
	}
	return nil
}

// set makes f the fragment of name, a port of the plan p follows.
func (p *portFrags) set(name servicemodel.ServicePortName, f *fragment) {
	if i, ok := p.find(name); ok {
		p.frags[i] = f
	}
}

// follow aligns p with plan, which differs from the plan p follows in the
// ports named in changed only. When none of them was added or removed,
// every port keeps its position.
func (p *portFrags) follow(plan *rulegen.Plan, changed []servicemodel.ServicePortName) {
	same := true
	for _, name := range changed {
		_, inOld := p.find(name)
		_, inNew := plan.Get(name)
		same = same && inOld == inNew
	}
	if same {
		return
	}
	names := plan.Names()
	frags := make([]*fragment, len(names))
	i := 0
	for k, name := range names {
		for i < len(p.names) && p.names[i].Compare(name) < 0 {
			i++
		}
		if i < len(p.names) && p.names[i] == name {
			frags[k] = p.frags[i]
			i++
		}
	}
	p.names, p.frags = names, frags
}
