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
	tw := ruleWriter{ar: a, page: &a.side, jumps: &a.jumps}
	// piece returns what write writes, after a blank when blank is set
	piece := func(blank bool, write func()) string {
		start := len(a.side)
		if blank {
			a.side = append(a.side, ' ')
		}
		tw.specStart = len(a.side) // no blank before the first argument
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

// sepsAndChoice writes the SEP chains of eps, for a port without
// affinity, and returns the lines of the choice chain name that pick them,
// in one pass over the endpoints: the choice lines wait in the worker's
// scratch buffer until the SEP chains are written, as the chain's lines
// must follow theirs (see choiceChain).
func (w *svcWriter) sepsAndChoice(name string, eps []rulegen.Endpoint) []byte {
	r, b := w.r, w.scratch[:0]
	for i, ep := range eps {
		text := w.a.endpointText(ep.AddrPort())
		sep := w.n.sep(w.a, text.addrPort)
		if !w.hasChain(sep) {
			w.chains = append(w.chains, portChain{done: w.sepLines(sep, ep, text)})
		}
		b = append(append(append(b, "-A "...), name...), ' ')
		b = append(append(b, w.tpl.epHead...), text.addrPort...)
		if n := len(eps) - i; n > 1 {
			b = append(append(b, `" -m statistic --mode random --probability `...), r.probability(n)...)
		} else {
			b = append(b, '"')
		}
		b = append(append(append(b, " -j "...), sep...), '\n')
	}
	w.scratch = b
	return b
}

// appendLines adds n rules written elsewhere as restore lines of this
// chain ("-A CHAIN spec\n" each). It does not note their targets for the
// port's jump check: its caller jumps only to SEP chains the port wrote.
func (w *ruleWriter) appendLines(lines []byte, n int) {
	if n == 0 {
		return
	}
	b := w.beginIn(*w.page) // the first line's "-A CHAIN ", after the chain's lines so far
	b = append(b, lines[len(b)-w.lineStart:len(lines)-1]...)
	*w.page = w.endLine(b) // the last line's end
	w.n += n - 1
}
