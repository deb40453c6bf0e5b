package ipvs

import (
	"maps"
	"reflect"
	"slices"
	"strings"

	"github.com/proxykit/proxykit/iptables"
	"github.com/proxykit/proxykit/rulegen"
	"github.com/proxykit/proxykit/servicemodel"
)

// desired is the rendered state of the last Sync's plan, kept up to date
// per changed service port.
type desired struct {
	b     *builder
	plan  *rulegen.Plan
	ports map[servicemodel.ServicePortName][2]*portContrib // per family: IPv4, IPv6
	// cuts names the ports with ETP=Local short-circuits (in their
	// contributions), which the companion rules list.
	cuts  map[servicemodel.ServicePortName]struct{}
	rules map[iptables.Family]*iptables.Ruleset
}

var modelFamilies = [2]servicemodel.IPFamily{servicemodel.IPv4, servicemodel.IPv6}

// updateDesired brings the desired state to plan and returns what changed
// (nil: everything may have) and the set entries it touched.
func (b *Backend) updateDesired(plan *rulegen.Plan, names []servicemodel.ServicePortName, full bool) (*Changed, map[setRef]struct{}, error) {
	d := b.des
	if d == nil || full || names == nil || !sameNode(d.plan, plan) {
		nd, err := b.renderAll(plan)
		if err != nil {
			return nil, nil, err
		}
		b.des = nd
		return nil, nil, nil
	}
	ch := &Changed{}
	touched := map[setRef]struct{}{}
	cuts := false
	note := func(c *portContrib) {
		if c == nil {
			return
		}
		for _, vs := range c.services {
			ch.Services = append(ch.Services, vs.VSKey)
		}
		ch.Addresses = append(ch.Addresses, c.addrs...)
		for _, e := range c.entries {
			touched[e] = struct{}{}
		}
		cuts = cuts || len(c.shortcuts) > 0
	}
	for _, n := range names {
		old := d.ports[n]
		var next [2]*portContrib
		if sp, ok := plan.Get(n); ok {
			for i, f := range modelFamilies {
				if pp := sp.Family(f); pp != nil {
					next[i] = d.b.r.render(pp)
				}
			}
		}
		for i := range old {
			note(old[i])
			if old[i] != nil {
				d.b.remove(old[i])
			}
		}
		for i := range next {
			note(next[i])
			if next[i] != nil {
				d.b.add(next[i])
			}
		}
		if next == [2]*portContrib{} {
			delete(d.ports, n)
		} else {
			d.ports[n] = next
		}
		d.noteCuts(n, next)
	}
	d.plan = plan
	if cuts {
		d.renderRules(plan)
	}
	return ch, touched, nil
}

// entryOps returns the operations on the set entries a scoped sync touched:
// additions, to run before the Diff's operations, and deletions, after.
// (Diff compares named sets whole, which costs what the set holds; the
// hairpin set holds an entry per endpoint.) A set missing from the kernel
// is left to Diff, which creates it whole.
func (b *Backend) entryOps(touched map[setRef]struct{}, ch *Changed) (pre, post Ops) {
	des := b.des.b.state
	missing := map[string]bool{}
	for ref := range touched {
		name := b.des.b.r.sets[ref.set].Name
		cur, want := b.cur.Sets[name], des.Sets[name]
		if cur == nil || want == nil || !cur.SameSpec(want) {
			missing[name] = true
			continue
		}
		inCur, inDes := cur.Has(ref.entry), want.Has(ref.entry)
		switch {
		case inDes && !inCur:
			pre = append(pre, Op{Kind: OpAddEntry, Set: want.Spec(), Entry: ref.entry})
		case inCur && !inDes:
			post = append(post, Op{Kind: OpDelEntry, Set: want.Spec(), Entry: ref.entry})
		}
	}
	for s := range missing {
		ch.Sets = append(ch.Sets, s)
	}
	slices.Sort(ch.Sets)
	sortOps(pre)
	sortOps(post)
	return pre, post
}

func sortOps(ops Ops) {
	slices.SortFunc(ops, func(a, b Op) int { return strings.Compare(a.String(), b.String()) })
}

// renderAll renders plan from scratch.
func (b *Backend) renderAll(plan *rulegen.Plan) (*desired, error) {
	bl, err := newBuilder(plan, b.opts.Render)
	if err != nil {
		return nil, err
	}
	d := &desired{b: bl, plan: plan, ports: make(map[servicemodel.ServicePortName][2]*portContrib, plan.Len()),
		cuts: map[servicemodel.ServicePortName]struct{}{}}
	bl.trackClaims()
	chunks, loops := bl.r.renderChunks(plan, true)
	bl.addChunks(chunks, loops)
	for _, ch := range chunks {
		for i, c := range ch.contribs {
			at := ch.at[i]
			v := d.ports[at.name]
			v[at.family] = c
			d.ports[at.name] = v
			if len(c.shortcuts) > 0 {
				d.cuts[at.name] = struct{}{}
			}
		}
	}
	d.renderRules(plan)
	return d, nil
}

// noteCuts records whether port n's contributions have short-circuits.
func (d *desired) noteCuts(n servicemodel.ServicePortName, cs [2]*portContrib) {
	for _, c := range cs {
		if c != nil && len(c.shortcuts) > 0 {
			d.cuts[n] = struct{}{}
			return
		}
	}
	delete(d.cuts, n)
}

// renderRules renders the companion rules, with the short-circuits of the
// ports that have some in name order: a cost that follows their number,
// not the plan's.
func (d *desired) renderRules(plan *rulegen.Plan) {
	names := slices.SortedFunc(maps.Keys(d.cuts), servicemodel.ServicePortName.Compare)
	d.rules = map[iptables.Family]*iptables.Ruleset{}
	for i, f := range []iptables.Family{iptables.IPv4, iptables.IPv6} {
		var cuts []shortcut
		for _, n := range names {
			if c := d.ports[n][i]; c != nil {
				cuts = append(cuts, c.shortcuts...)
			}
		}
		d.rules[f] = d.b.companion(plan, f, cuts)
	}
}

// sameNode reports whether two plans share the node and configuration (else
// everything is rendered again).
func sameNode(a, b *rulegen.Plan) bool {
	return a != nil && b != nil && slices.Equal(a.Node.IPs, b.Node.IPs) && reflect.DeepEqual(a.Config, b.Config)
}
