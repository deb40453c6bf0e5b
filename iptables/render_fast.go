package iptables

import (
	"github.com/proxykit/proxykit/rulegen"
)

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
	// piece returns what write writes, after a blank when blank is set
	piece := func(blank bool, write func()) string {
		start := len(a.side)
		if blank {
			a.side = append(a.side, ' ')
		}
		tw.cur.start = len(a.side) // no blank before the first argument
		write()
		return a.sideView(start)
	}
	t := portTemplates{
		sepMasq: piece(true, func() { tw.comment(w.n.spn).a("-j", w.r.markMasq) }),
		sepDNAT: piece(false, func() { tw.a(w.n.protoArg).comment(w.n.spn).a(w.n.dnatArg, "") }),
		epOK:    w.n.spn == a.quotedSpn || !needsEscape(w.n.spn),
	}
	if t.epOK {
		t.epHead = piece(false, func() { tw.a(`-m comment --comment "`); a.side = append(append(a.side, w.n.spn...), " -> "...) })
	}
	return t
}

// sepLines writes a SEP chain without affinity: the hairpin masquerade
// and the DNAT, the two lines the general writer writes from the
// templates, written here in one go.
func (w *svcWriter) sepLines(name string, ep rulegen.Endpoint, text epText) *Chain {
	a := w.a
	b, start := a.text, len(a.text)
	b = append(append(append(b, "-A "...), name...), " -s "...)
	b = append(append(append(append(b, text.addr...), hostLen(ep.Addr)...), w.tpl.sepMasq...), '\n')
	b = append(append(append(b, "-A "...), name...), ' ')
	b = append(append(append(b, w.tpl.sepDNAT...), text.addrPort...), '\n')
	a.text = b
	c := a.chain()
	c.setLines(name, bytesView(b[start:]), 2)
	return c
}

// line writes a whole rule of a port's chain from pieces of canonical
// text (what follows "-A CHAIN "). Unlike jump, it does not note the
// rule's target for the port's jump check: its callers jump only to the
// masquerade chain, to a verdict, or to a SEP chain the port wrote.
func (w *ruleWriter) line(pieces ...string) {
	b := w.beginIn(*w.page)
	for _, p := range pieces {
		b = append(b, p...)
	}
	*w.page = w.endLine(b)
}
