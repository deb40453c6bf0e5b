package iptables

import (
	"strconv"

	"github.com/proxykit/proxykit/internal/hashindex"

	"github.com/proxykit/proxykit/nat"
	"github.com/proxykit/proxykit/rulegen"
)

// fragment is what one service port contributes: its own chains and its
// rules in the shared chains.
type fragment struct {
	nat, filter []*Chain
	natHashes   []uint64 // of the nat chains' names (hashindex.String)
	// the port's rules in each shared chain, as restore lines, and their
	// number
	shared     [numShared]string
	sharedN    [numShared]int32
	jumpsKnown bool // see svcWriter.jumpsKnown
}

// svcWriter renders PortPlans, one after another, into one worker's arena.
type svcWriter struct {
	r       *renderer
	a       *arena
	pp      *rulegen.PortPlan
	n       portNames
	frag    *fragment
	pool    []ruleWriter // the current port's writers (never moved once handed out)
	chains  []portChain  // the port's nat chains, in order
	shared  [numShared]*ruleWriter
	tpl     portTemplates
	seps    []string // SEP chain names of the endpoint set being written
	epTexts []epText // and its endpoints' text
	scratch []byte   // choice lines waiting for their chain's turn (see sepsAndChoice)
	// the chains the frontends jump to
	internal, external string
}

func (r *renderer) newSvcWriter() *svcWriter { return &svcWriter{r: r, a: &arena{}} }

// renderPort renders one port into a fragment carved from w's arena.
func (w *svcWriter) renderPort(pp *rulegen.PortPlan) *fragment {
	r, eps := w.r, len(pp.ClusterEndpoints)+len(pp.LocalEndpoints)
	w.a.reserve(1024 + 768*eps + 384*len(pp.Frontends))
	w.a.reserveSide(256 + 96*eps + 640*len(pp.Frontends))
	w.a.grow++
	w.pp, w.frag, w.chains, w.shared = pp, w.a.fragment(), w.chains[:0], [numShared]*ruleWriter{}
	w.pool = w.pool[:0] // the previous port's writers are done
	w.a.jumps, w.a.filterJumps = w.a.jumps[:0], w.a.filterJumps[:0]
	if need := 4 + eps + int(numShared); cap(w.pool) < need {
		w.pool = make([]ruleWriter, 0, need+8)
	}
	w.n = newPortNames(w.a, r.prefix, pp.Name.String(), pp.Protocol)
	w.a.quotedSpn = ""
	if !saveStringSafe(w.n.spn) && !needsEscape(w.n.spn) {
		w.a.quotedSpn = w.n.spn
	}
	w.tpl = w.templates()
	w.endpointChains()
	w.externalChain()
	for _, fe := range pp.Frontends {
		w.frontend(fe)
	}
	w.frag.nat, w.frag.natHashes = w.a.chainPtrs(len(w.chains)), w.a.chainHashes(len(w.chains))
	for i, pc := range w.chains {
		c := pc.done
		if c == nil {
			c = pc.rw.toChain()
		}
		w.frag.nat[i] = c
		w.frag.natHashes[i] = hashindex.String(c.Name) // while the name is in this CPU's cache
	}
	for s, sw := range w.shared {
		if sw != nil {
			w.frag.shared[s], w.frag.sharedN[s] = sw.lines(), int32(sw.n)
		}
	}
	w.frag.jumpsKnown = w.jumpsKnown()
	return w.frag
}

// writer returns a new writer of lines for one of the port's chains.
func (w *svcWriter) writer(chain string) *ruleWriter { return w.writerIn(&w.a.text, chain) }

// writerIn returns a new writer of lines into page for chain.
func (w *svcWriter) writerIn(page *[]byte, chain string) *ruleWriter {
	if len(w.pool) == cap(w.pool) {
		w.pool = make([]ruleWriter, 0, 16) // earlier writers stay where they are
	}
	w.pool = w.pool[:len(w.pool)+1]
	rw := &w.pool[len(w.pool)-1]
	rw.reset(w.a, page, chain)
	return rw
}

// newChain starts one of the port's own nat chains. Its rules must be written one after another (no other chain's between)
// for the chain to keep them as one run of restore lines.
func (w *svcWriter) newChain(name string) *ruleWriter {
	c := w.writer(name)
	w.chains = append(w.chains, portChain{rw: c})
	return c
}

// hasChain reports whether the port already has a chain of that name.
func (w *svcWriter) hasChain(name string) bool {
	for _, c := range w.chains {
		if c.rw != nil && c.rw.chain == name || c.done != nil && c.done.Name == name {
			return true
		}
	}
	return false
}

// sharedW returns the writer for this port's rules in a shared chain. They
// go to the side page, so that the port's own chains' lines follow one
// another in the text page.
func (w *svcWriter) sharedW(s sharedChain) *ruleWriter {
	if w.shared[s] == nil {
		rw := w.writerIn(&w.a.side, w.r.shared[s])
		if s.table() != TableNat {
			rw.jumps = &w.a.filterJumps
		}
		w.shared[s] = rw
	}
	return w.shared[s].begin()
}

// dport appends "-m tcp --dport N".
func (w *svcWriter) dport(rw *ruleWriter, port int32) *ruleWriter {
	return rw.a(w.n.dportArg).int(int64(port))
}

// endpointChains writes the SVC (cluster) and SVL (local) chains and one SEP
// chain per endpoint, and decides which chains internal and external
// traffic jump to.
func (w *svcWriter) endpointChains() {
	pp := w.pp
	w.internal, w.external = w.n.svc, w.n.svc
	if pp.InternalLocal {
		w.internal = w.n.svl
	}
	if pp.ExternalLocal {
		w.external = w.n.svl
	}
	if len(pp.ClusterEndpoints) > 0 {
		w.choiceChain(w.n.svc, pp.ClusterEndpoints, !pp.InternalLocal)
	}
	if (pp.InternalLocal || pp.ExternalLocal) && len(pp.LocalEndpoints) > 0 {
		w.choiceChain(w.n.svl, pp.LocalEndpoints, pp.InternalLocal)
	}
}

// choiceChain writes a chain that picks one of eps, with affinity, and the
// endpoints' SEP chains. With clusterIPMasq, the chain starts with the
// ClusterIP masquerade rule (kube-proxy's place for it).
func (w *svcWriter) choiceChain(name string, eps []rulegen.Endpoint, clusterIPMasq bool) {
	r := w.r
	rw := w.writer(name)
	if w.pp.Affinity == 0 && w.tpl.epOK && !r.generic {
		choice := w.sepsAndChoice(name, eps)
		w.chains = append(w.chains, portChain{rw: rw})
		if clusterIPMasq {
			w.masqRule(rw)
		}
		rw.appendLines(choice, len(eps))
		return
	}
	// the SEP chains first, so that each chain's lines are one run, and the
	// chains go into the table in the order their lines are written (see
	// lineRun)
	sepNames, texts := w.seps[:0], w.epTexts[:0]
	for _, ep := range eps {
		text := w.a.endpointText(ep.AddrPort())
		sep := w.n.sep(w.a, text.addrPort)
		sepNames, texts = append(sepNames, sep), append(texts, text)
		if !w.hasChain(sep) {
			w.sepChain(sep, ep, text)
		}
	}
	w.seps, w.epTexts = sepNames, texts
	w.chains = append(w.chains, portChain{rw: rw})
	if clusterIPMasq {
		w.masqRule(rw)
	}
	if w.pp.Affinity > 0 {
		secs := strconv.Itoa(int(w.pp.Affinity.Seconds()))
		for i := range eps {
			rw.begin().commentEP(w.n.spn, texts[i].addrPort).
				a("-m", "recent", "--rcheck", "--seconds", secs, "--reap", "--name", sepNames[i], "--mask", r.hostMask(), "--rsource").
				jump(sepNames[i])
		}
	}
	for i := range eps {
		rw.begin().commentEP(w.n.spn, texts[i].addrPort)
		if n := len(eps) - i; n > 1 {
			rw.a("-m statistic --mode random --probability", r.probability(n))
		}
		rw.jump(sepNames[i])
	}
}

// masqRule spells the ClusterIP masquerade condition (nothing for Never).
func (w *svcWriter) masqRule(rw *ruleWriter) {
	r, pp := w.r, w.pp
	var local []string
	switch pp.ClusterIPMasquerade {
	case nat.Never:
		return
	case nat.IfNotLocal:
		if local = r.detector(true); local == nil {
			return
		}
	}
	rw.begin()
	if len(local) > 0 && local[1] == "-s" {
		rw.a(local...)
	}
	rw.host("-d", pp.ClusterIP)
	if len(local) > 0 && local[1] == "-i" {
		rw.a(local...)
	}
	w.dport(rw.a(w.n.protoArg).comment(w.n.spn, " cluster IP"), pp.Port).jump(r.markMasq)
}

func (w *svcWriter) sepChain(name string, ep rulegen.Endpoint, text epText) {
	r := w.r
	if w.pp.Affinity == 0 && !w.r.generic {
		w.chains = append(w.chains, portChain{done: w.sepLines(name, ep, text)})
		return
	}
	rw := w.newChain(name)
	rw.begin().hostText("-s", text.addr, ep.Addr).comment(w.n.spn).jump(r.markMasq)
	rw.begin().a(w.n.protoArg).comment(w.n.spn)
	if w.pp.Affinity > 0 {
		rw.a("-m", "recent", "--set", "--name", name, "--mask", r.hostMask(), "--rsource")
	}
	rw.a(w.n.dnatArg, text.addrPort)
	rw.end()
}

// externalChain writes the EXT chain: masquerade and the external policy,
// with the ETP=Local short-circuit for traffic from pods and the node.
func (w *svcWriter) externalChain() {
	if !w.hasExternal() {
		return
	}
	r, pp := w.r, w.pp
	rw := w.newChain(w.n.ext)
	if !pp.ExternalLocal {
		rw.begin().comment(w.n.spn, " masquerade traffic from external sources").jump(r.markMasq)
		if len(pp.ClusterEndpoints) > 0 {
			rw.begin().comment(w.n.spn, " cluster policy").jump(w.external)
		}
	} else {
		if local := r.detector(false); local != nil && w.hasSet(w.internal) {
			rw.begin().a(local...).comment(w.n.spn, " pod traffic for external destinations").jump(w.internal)
		}
		rw.begin().comment(w.n.spn, " masquerade LOCAL traffic for external destinations").
			a("-m", "addrtype", "--src-type", "LOCAL").jump(r.markMasq)
		if w.hasSet(w.internal) {
			rw.begin().comment(w.n.spn, " route LOCAL traffic for external destinations").
				a("-m", "addrtype", "--src-type", "LOCAL").jump(w.internal)
		}
		if len(pp.LocalEndpoints) > 0 {
			rw.begin().comment(w.n.spn, " local policy").jump(w.external)
		}
	}
}

func (w *svcWriter) hasExternal() bool {
	for _, fe := range w.pp.Frontends {
		if fe.External() {
			return true
		}
	}
	return false
}

// hasSet reports whether the named choice chain has endpoints (was written).
func (w *svcWriter) hasSet(chain string) bool {
	if chain == w.n.svl {
		return len(w.pp.LocalEndpoints) > 0
	}
	return len(w.pp.ClusterEndpoints) > 0
}

// portChain is one of the port's nat chains: being written by rw, or done.
type portChain struct {
	rw   *ruleWriter
	done *Chain
}
