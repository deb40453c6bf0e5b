package iptables

import (
	"fmt"
	"net/netip"
	"runtime"
	"slices"
	"sync"
	"sync/atomic"

	"github.com/proxykit/proxykit/internal/hashindex"
	"github.com/proxykit/proxykit/nat"
	"github.com/proxykit/proxykit/rulegen"
	"github.com/proxykit/proxykit/servicemodel"
)

// DefaultChainPrefix makes the rules a drop-in replacement for kube-proxy's.
// To run beside a kube-proxy, choose another prefix.
const DefaultChainPrefix = "KUBE-"

// RenderOptions configure Render.
type RenderOptions struct {
	// ChainPrefix starts every chain name; default DefaultChainPrefix.
	ChainPrefix string
}

func (o RenderOptions) prefix() string {
	if o.ChainPrefix == "" {
		return DefaultChainPrefix
	}
	return o.ChainPrefix
}

// Render returns the nat and filter tables that serve plan in one family,
// in kube-proxy's layout: KUBE-SERVICES, KUBE-NODEPORTS, KUBE-SVC-/SVL-/
// EXT-/FW-/SEP- chains named by a stable hash, KUBE-MARK-MASQ and
// KUBE-POSTROUTING, and in filter KUBE-PROXY-FIREWALL,
// KUBE-EXTERNAL-SERVICES, KUBE-FORWARD, with the jumps from the built-in
// chains. Every rule that belongs to a service port names it in a comment.
func Render(plan *rulegen.Plan, f Family, opts RenderOptions) (*Ruleset, error) {
	r, err := newRenderer(f, opts)
	if err != nil {
		return nil, err
	}
	rs, _ := r.update(plan, nil)
	return rs, nil
}

// renderer keeps the rendered fragments of every service port so that a
// change re-renders only the changed ports and the shared chains they touch.
type renderer struct {
	family Family
	prefix string
	// per plan
	plan             *rulegen.Plan
	mark             nat.Mark
	nodePortAllLocal bool
	nodePortAddrs    []netip.Addr
	local, notLocal  []string // the local-traffic detector's match (see detector)
	// names every port's rules repeat
	markMasq string
	shared   [numShared]string
	// state
	ports portFrags
	probs []string // probability(n), cached
	rs    *Ruleset // desired; chains are replaced, never edited
	// generic makes tests write every rule by the general writer methods,
	// not the per-port templates (see portTemplates)
	generic bool
}

func newRenderer(f Family, opts RenderOptions) (*renderer, error) {
	if f != IPv4 && f != IPv6 {
		return nil, fmt.Errorf("iptables: render: unknown family %d", f)
	}
	if err := checkPrefix(opts.prefix()); err != nil {
		return nil, err
	}
	r := &renderer{family: f, prefix: opts.prefix()}
	r.markMasq = r.prefix + chainMarkMasq
	for s := range numShared {
		r.shared[s] = s.name(r.prefix)
	}
	return r, nil
}

func (r *renderer) modelFamily() servicemodel.IPFamily {
	if r.family == IPv6 {
		return servicemodel.IPv6
	}
	return servicemodel.IPv4
}

// update renders plan. With changed == nil (or a new node configuration) it
// renders everything; otherwise only the named ports. It returns the desired
// Ruleset (shared with the renderer: do not modify it) and the chains that
// may differ from the previous result, or nil after a full render.
func (r *renderer) update(plan *rulegen.Plan, changed []servicemodel.ServicePortName) (*Ruleset, []ChainRef) {
	full := changed == nil || r.rs == nil || r.plan == nil ||
		!sameNodeConfig(r.plan, plan)
	r.setPlan(plan)
	if full {
		r.renderAll()
		return r.rs, nil
	}
	var refs []ChainRef
	var dirty [numShared]bool
	changed = slices.Compact(slices.SortedFunc(slices.Values(changed), servicemodel.ServicePortName.Compare))
	sps := make([]*rulegen.ServicePlan, len(changed))
	olds := make([]*fragment, len(changed))
	for i, name := range changed {
		sps[i], _ = plan.Get(name)
		olds[i] = r.ports.get(name)
	}
	r.ports.follow(plan, changed)
	frags := make([]*fragment, len(changed))
	r.renderPorts(sps, frags, nil)
	for i, name := range changed {
		r.ports.set(name, frags[i])
		refs = r.installPort(olds[i], frags[i], refs, &dirty)
	}
	for s := sharedChain(0); s < numShared; s++ {
		if !dirty[s] {
			continue
		}
		r.rs.Table(s.table()).SetChain(r.sharedChain(s, r.ports.frags))
		refs = append(refs, ChainRef{Table: s.table(), Chain: r.shared[s]})
	}
	return r.rs, refs
}

// renderAll renders every port of the plan into a new Ruleset: the static
// chains, each port's chains in name order, then the shared chains. The
// chains of the ports rendered so far are gathered in table order while
// the workers render the rest; the nat table indexes them all at the end.
func (r *renderer) renderAll() {
	sps := r.plan.ServicePlans()
	staticNat, staticFilter := r.staticChains()
	var natOrder []*Chain
	var natHashes []uint64
	filter := NewTable(TableFilter)
	filterOrder := staticFilter
	putAll(filter, staticFilter)
	frags := make([]*fragment, len(sps))
	r.ports = portFrags{names: r.plan.Names(), frags: frags}
	r.renderPorts(sps, frags, func(lo, hi int) {
		if natOrder == nil { // size the table by the first ports
			perPort := 1
			for _, f := range frags[lo:hi] {
				if f != nil {
					perPort += len(f.nat)
				}
			}
			n := len(staticNat) + int(numShared) + perPort*len(sps)/max(hi-lo, 1)*9/8
			natOrder, natHashes = make([]*Chain, 0, n), make([]uint64, 0, n)
			natOrder, natHashes = r.gather(natOrder, natHashes, staticNat, nil)
		}
		for _, f := range frags[lo:hi] {
			if f != nil {
				natOrder, natHashes = r.gather(natOrder, natHashes, f.nat, f.natHashes)
				filterOrder = append(filterOrder, f.filter...)
				putAll(filter, f.filter)
			}
		}
	})
	if natOrder == nil { // no ports
		natOrder, natHashes = r.gather(nil, nil, staticNat, nil)
	}
	nat := NewTable(TableNat)
	indexed := make(chan bool)
	go func() { indexed <- nat.adoptOrdered(natOrder, natHashes) }() // while the shared chains are built
	var shared [numShared]*Chain
	for s := range numShared {
		shared[s] = r.sharedChain(s, frags)
	}
	if !<-indexed { // a name came twice: the later chain replaces the earlier
		putAll(nat, natOrder)
	}
	for s, c := range shared {
		if sharedChain(s).table() == TableNat {
			nat.put(c)
			natOrder = append(natOrder, c)
		} else {
			filter.put(c)
			filterOrder = append(filterOrder, c)
		}
	}
	known := !slices.ContainsFunc(frags, func(f *fragment) bool { return f != nil && !f.jumpsKnown })
	nat.setOrdered(natOrder, known && staticJumpsKnown(nat, staticNat, r.nodePortDispatch()))
	filter.setOrdered(filterOrder, known && staticJumpsKnown(filter, staticFilter, nil))
	r.rs = &Ruleset{Family: r.family, tables: []*Table{nat, filter}}
}

// gather appends chains, whose names hash to hashes (nil: hash them), to
// the nat table's order, numbering their positions.
func (r *renderer) gather(order []*Chain, hashes []uint64, chains []*Chain, chainHashes []uint64) ([]*Chain, []uint64) {
	for i, c := range chains {
		c.seq = uint64(len(order))
		order = append(order, c)
		if chainHashes != nil {
			hashes = append(hashes, chainHashes[i])
		} else {
			hashes = append(hashes, hashindex.String(c.Name))
		}
	}
	return order, hashes
}

func putAll(t *Table, chains []*Chain) {
	for _, c := range chains {
		t.put(c)
	}
}

func (r *renderer) setPlan(plan *rulegen.Plan) {
	r.plan = plan
	r.mark = plan.Config.Mark()
	addrs, allLocal, _ := plan.NodePortAddrs(r.modelFamily())
	r.nodePortAllLocal, r.nodePortAddrs = allLocal, addrs
	r.local = DetectorMatch(plan.Config.LocalDetector, r.family, false)
	r.notLocal = DetectorMatch(plan.Config.LocalDetector, r.family, true)
}

// sameNodeConfig reports whether two plans share what the static chains
// depend on, so that an incremental update is valid.
func sameNodeConfig(a, b *rulegen.Plan) bool {
	return a.Config.Mark() == b.Config.Mark() &&
		slices.Equal(a.Node.IPs, b.Node.IPs) &&
		a.Config.LocalhostNodePorts == b.Config.LocalhostNodePorts &&
		a.Config.NodePortAddresses.Primary == b.Config.NodePortAddresses.Primary &&
		slices.Equal(a.Config.NodePortAddresses.CIDRs, b.Config.NodePortAddresses.CIDRs) &&
		a.Config.LocalDetector.String() == b.Config.LocalDetector.String() &&
		a.Config.MasqueradeAll == b.Config.MasqueradeAll
}

// parallelMin is the number of ports from which rendering is spread over
// the CPUs.
const parallelMin = 512

// renderChunk is how many consecutive ports a worker renders at a time.
const renderChunk = 128

// renderPorts renders the service plans sps into frags (nil for a port
// that is nil, as when the plan no longer has it, or that does not serve
// this family), in parallel when there are many.
// Rendering a port reads only the plan and the renderer's settings; each
// worker writes into an arena of its own. When install is set, renderPorts
// calls it on the calling goroutine for consecutive ranges of ports, in
// order, as soon as they are rendered, while the workers go on with later
// ports.
func (r *renderer) renderPorts(sps []*rulegen.ServicePlan, frags []*fragment, install func(lo, hi int)) {
	one := func(w *svcWriter, i int) {
		if sp := sps[i]; sp != nil {
			if pp := sp.Family(r.modelFamily()); pp != nil {
				frags[i] = w.renderPort(pp)
			}
		}
	}
	workers := min(runtime.GOMAXPROCS(0), len(sps)/parallelMin)
	if workers <= 1 {
		w := r.newSvcWriter()
		for i := range sps {
			one(w, i)
		}
		if install != nil {
			install(0, len(sps))
		}
		return
	}
	r.probability(maxEndpoints) // fill the cache before sharing it
	chunks := (len(sps) + renderChunk - 1) / renderChunk
	done := make([]chan struct{}, chunks)
	for k := range done {
		done[k] = make(chan struct{})
	}
	var next atomic.Int64
	var wg sync.WaitGroup
	for range workers {
		wg.Go(func() {
			w := r.newSvcWriter()
			for k := int(next.Add(1) - 1); k < chunks; k = int(next.Add(1) - 1) {
				for i := k * renderChunk; i < min((k+1)*renderChunk, len(sps)); i++ {
					one(w, i)
				}
				close(done[k])
			}
		})
	}
	if install != nil {
		for k := range chunks {
			<-done[k]
			install(k*renderChunk, min((k+1)*renderChunk, len(sps)))
		}
	}
	wg.Wait()
}

// installPort replaces a port's chains, those of its old fragment, with
// those of its newly rendered one (either nil for none).
func (r *renderer) installPort(old, next *fragment, refs []ChainRef, dirty *[numShared]bool) []ChainRef {
	if next == nil {
		next = &fragment{}
	}
	if old == nil {
		old = &fragment{}
	}
	refs = r.replaceChains(TableNat, old.nat, next.nat, refs)
	refs = r.replaceChains(TableFilter, old.filter, next.filter, refs)
	for s := sharedChain(0); s < numShared; s++ {
		if old.shared[s] != next.shared[s] {
			dirty[s] = true
		}
	}
	return refs
}

// replaceChains puts a port's new chains in place of its old ones, keeping
// an unchanged chain's old pointer (so Diff sees it equal at once).
func (r *renderer) replaceChains(table string, old, next []*Chain, refs []ChainRef) []ChainRef {
	t := r.rs.Table(table)
	keep := make(map[string]bool, len(next))
	for _, c := range next {
		keep[c.Name] = true
		if cur := t.Chain(c.Name); cur != nil && cur.Equal(c) {
			continue
		}
		t.SetChain(c)
		refs = append(refs, ChainRef{Table: table, Chain: c.Name})
	}
	for _, c := range old {
		if !keep[c.Name] {
			t.DeleteChain(c.Name)
			refs = append(refs, ChainRef{Table: table, Chain: c.Name})
		}
	}
	return refs
}

// sharedChain joins the fragments' lines for a shared chain, in order,
// into the chain's restore lines; nat KUBE-SERVICES ends with the NodePort
// dispatch.
func (r *renderer) sharedChain(s sharedChain, frags []*fragment) *Chain {
	var tail []Rule
	if s == natServices {
		tail = r.nodePortDispatch()
	}
	size, n := 0, len(tail)
	for _, f := range frags {
		if f != nil {
			size, n = size+len(f.shared[s]), n+int(f.sharedN[s])
		}
	}
	if n == 0 {
		return NewChain(r.shared[s])
	}
	for i := range tail {
		size += len("-A  \n") + len(r.shared[s]) + len(tail[i].Spec)
	}
	b := newPage(size)
	for _, f := range frags {
		if f != nil {
			b = append(b, f.shared[s]...)
		}
	}
	for i := range tail {
		b = appendChainRule(b, r.shared[s], tail[i].Spec)
	}
	c := &Chain{}
	c.setLines(r.shared[s], bytesView(b[1:]), n) // after the page's first byte
	return c
}

// rule builds a rule from arguments the renderer produced itself; they are
// valid by construction, so an error here is a bug in the renderer.
func (r *renderer) rule(chain string, args ...string) Rule {
	rule, err := NewRule(chain, args...)
	if err != nil {
		return Rule{Chain: chain, Spec: fmt.Sprintf("-m comment --comment %q", "proxykit render error: "+err.Error())}
	}
	return rule
}

func (r *renderer) chain(name string, rules ...Rule) *Chain {
	return NewChain(name, rules...)
}

// maxEndpoints is how many probabilities the cache holds; larger endpoint
// sets compute theirs each time.
const maxEndpoints = 256

// probability returns the statistic probability 1/n as iptables-save prints
// it. The cache is filled up to maxEndpoints before ports render in parallel.
func (r *renderer) probability(n int) string {
	if n > maxEndpoints {
		return StatisticProbability(1 / float64(n))
	}
	for len(r.probs) <= n {
		r.probs = append(r.probs, StatisticProbability(1/float64(max(len(r.probs), 1))))
	}
	return r.probs[n]
}

// hostMask is the recent match's full-length mask.
func (r *renderer) hostMask() string {
	if r.family == IPv6 {
		return "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff"
	}
	return "255.255.255.255"
}

// detector spells the plan's local-traffic detector as a match, negated
// when asked, or nil when it has none; the callers must not change it.
func (r *renderer) detector(negate bool) []string {
	if negate {
		return r.notLocal
	}
	return r.local
}

// DetectorMatch spells a local-traffic detector as iptables match arguments
// for a family ("-s CIDR", "-i IF", "-i PREFIX+"), negated when asked, or
// nil when the detector has nothing for that family.
func DetectorMatch(d nat.LocalDetector, f Family, negate bool) []string {
	var neg []string
	if negate {
		neg = []string{"!"}
	}
	switch d.Mode {
	case nat.DetectClusterCIDR, nat.DetectNodeCIDR:
		if p, ok := d.CIDR(f == IPv4); ok {
			return append(neg, "-s", p.String())
		}
	case nat.DetectBridgeInterface:
		return append(neg, "-i", d.Interface)
	case nat.DetectInterfaceNamePrefix:
		return append(neg, "-i", d.Interface+"+")
	}
	return nil
}
