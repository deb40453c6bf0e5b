package iptables

// The rules a full render writes most are a SEP chain's two rules and an
// endpoint choice of a SVC or SVL chain: 400k of the 450k rules at 10k
// services × 10 endpoints. Their text differs between endpoints only in
// the endpoint's address and chain name, so each port's constant parts are
// written once, by the same writer methods as every other rule, and each
// of these rules is then a handful of copies.

// portTemplates are the constant parts of one port's SEP and choice rules.
type portTemplates struct {
	sepMasq string // " -m comment --comment C -j KUBE-MARK-MASQ"
	sepDNAT string // "-p tcp -m comment --comment C -m tcp -j DNAT --to-destination "
	epHead  string // "-m comment --comment \"C -> " (C is the port's name)
	epOK    bool   // the choice comment "C -> addr:port" is quoted without escapes
}

// templates writes the port's templates into the arena's side page.
func (w *svcWriter) templates() portTemplates {
	a := w.a
	tw := ruleWriter{ar: a, page: &a.side}
	piece := func(write func()) string {
		start := len(a.side)
		tw.cur.start = start // no blank before the first argument
		write()
		return a.sideView(start)
	}
	t := portTemplates{
		sepMasq: " " + piece(func() { tw.comment(w.n.spn).a("-j", w.r.markMasq) }),
		sepDNAT: piece(func() { tw.a(w.n.protoArg).comment(w.n.spn).a(w.n.dnatArg, "") }),
		epOK:    w.n.spn == a.quotedSpn || !needsEscape(w.n.spn),
	}
	if t.epOK {
		t.epHead = piece(func() { tw.a(`-m comment --comment "` + w.n.spn + " -> ") })
	}
	return t
}

// line writes a whole rule of pieces of canonical text (what follows
// "-A CHAIN "), which jumps to target; "" for a verdict such as DNAT,
// which the port's jump check need not see.
func (w *ruleWriter) line(target string, pieces ...string) {
	w.begin()
	b := *w.page
	for _, p := range pieces {
		b = append(b, p...)
	}
	*w.page = b
	w.cur.target = target
	if target != "" && !w.asRules {
		w.ar.jumps = append(w.ar.jumps, target)
	}
	w.end()
}
