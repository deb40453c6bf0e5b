package ipvs

import (
	"slices"

	"github.com/proxykit/proxykit/servicemodel"
)

// Two service ports may ask for the same virtual server (e.g. one NodePort
// given to two services, which the API server forbids but a model may
// hold). Render keeps the last one in name order; the Backend's builder,
// which adds and removes ports one at a time, tracks who claims each key
// so that it keeps the same one whatever the order of changes, and hands a
// key over when its holder goes (instead of flipping a virtual server
// between its claimants, or dropping it while one still wants it).

// claims records the owner of every virtual server key, and every claimant
// of the keys that several ports want.
type claims struct {
	owner     map[VSKey]*portContrib
	contested map[VSKey][]*portContrib
}

// trackClaims makes b keep claims (from now on: call it on a new builder).
func (b *builder) trackClaims() {
	b.claims = &claims{owner: map[VSKey]*portContrib{}, contested: map[VSKey][]*portContrib{}}
}

// claim adds c's virtual server vs.
func (b *builder) claim(c *portContrib, vs *VirtualServer) {
	k := vs.VSKey
	if b.claims == nil {
		b.state.Services[k] = vs
		return
	}
	owner, taken := b.claims.owner[k]
	if !taken || owner == c {
		b.claims.owner[k] = c
		b.state.Services[k] = vs
		return
	}
	cl := b.claims.contested[k]
	if cl == nil {
		cl = []*portContrib{owner}
	}
	if slices.Contains(cl, c) { // a port may ask twice (an ingress that is also an external IP)
		return
	}
	cl = append(cl, c)
	b.claims.contested[k] = cl
	b.crown(k, cl)
}

// unclaim takes c's virtual server vs out.
func (b *builder) unclaim(c *portContrib, vs *VirtualServer) {
	k := vs.VSKey
	if b.claims == nil {
		if b.state.Services[k] == vs {
			delete(b.state.Services, k)
		}
		return
	}
	cl, contested := b.claims.contested[k]
	if !contested {
		if b.claims.owner[k] == c {
			delete(b.claims.owner, k)
			delete(b.state.Services, k)
		}
		return
	}
	cl = slices.DeleteFunc(cl, func(o *portContrib) bool { return o == c })
	if len(cl) == 1 {
		delete(b.claims.contested, k)
	} else {
		b.claims.contested[k] = cl
	}
	b.crown(k, cl)
}

// crown gives k to the claimant last in name order, as Render does.
func (b *builder) crown(k VSKey, cl []*portContrib) {
	w := slices.MaxFunc(cl, func(x, y *portContrib) int { return servicemodel.ServicePortName.Compare(x.name, y.name) })
	b.claims.owner[k] = w
	for _, vs := range w.services {
		if vs.VSKey == k {
			b.state.Services[k] = vs // the last, as Render keeps
		}
	}
}
