package iptables

import (
	"net/netip"
	"strconv"
	"unsafe"
)

// ruleWriter builds the rules of one chain, or one port's share of a
// shared chain, into a text page of its worker's arena, so that rendering
// allocates per page rather than per argument. It writes arguments in
// iptables-save's canonical form, so rendered rules equal the rules read
// back.
//
// It writes restore lines only ("-A CHAIN spec\n" each, one after another
// in the page): the Chain holds them as they are, with no Rule values, and
// a port's share of a shared chain is a run of lines the shared chain is
// assembled from.
type ruleWriter struct {
	chain string
	ar    *arena
	page  *[]byte   // the arena's text page, or its side page
	jumps *[]string // where the rules' jump targets are noted (see jumpsKnown)
	// specStart is the offset in the page of the current rule's spec
	specStart int
	// the n lines written so far lie at doneStart, doneLen bytes, in the
	// page array doneArr (and at the same place in any array appending
	// moved the page to since); they end where the current line starts.
	// Offsets rather than a view spare the garbage collector a pointer
	// write per line.
	doneStart, doneLen, n int
	doneArr               *byte
	gen                   uint32 // the arena's textGen when the lines were written
	lineStart             int    // offset in the page of the current line
	linePrefix            string // "-A CHAIN ", once written
}

// reset makes w a writer of lines for chain into page, noting jumps in
// the arena's list for the port's nat chains.
func (w *ruleWriter) reset(a *arena, page *[]byte, chain string) {
	*w = ruleWriter{chain: chain, ar: a, page: page, jumps: &a.jumps}
}

// begin starts a rule: "-A CHAIN ". When something else was written to
// the page since the chain's last line (or writing moved to a new page),
// the chain's lines are first copied to the end of the page, so that they
// stay one string: no view of them exists yet.
func (w *ruleWriter) begin() *ruleWriter {
	*w.page = w.beginIn(*w.page)
	return w
}

// beginIn is begin on the page b, which it returns (so that a caller
// writing a line in one go stores the page once).
func (w *ruleWriter) beginIn(b []byte) []byte {
	if w.n > 0 && (w.gen != w.ar.textGen || w.doneStart+w.doneLen != len(b)) {
		start := len(b)
		b = append(b, w.lines()...)
		w.doneStart, w.gen, w.doneArr = start, w.ar.textGen, unsafe.SliceData(b)
	}
	w.lineStart = len(b)
	if w.linePrefix == "" {
		b = append(append(append(b, "-A "...), w.chain...), ' ')
		w.linePrefix = bytesView(b[w.lineStart:])
	} else {
		b = append(b, w.linePrefix...)
	}
	w.specStart = len(b)
	return b
}

// a appends raw arguments (no quoting needed).
func (w *ruleWriter) a(args ...string) *ruleWriter {
	for _, s := range args {
		w.sep()
		*w.page = append(*w.page, s...)
	}
	return w
}

func (w *ruleWriter) sep() {
	if b := w.page; len(*b) > w.specStart {
		*b = append(*b, ' ')
	}
}

// host appends "-d A/32" style address matches.
func (w *ruleWriter) host(flag string, addr netip.Addr) *ruleWriter {
	w.sep()
	b := w.page
	*b = append(*b, flag...)
	*b = append(*b, ' ')
	*b = addr.AppendTo(*b)
	*b = append(*b, hostLen(addr)...)
	return w
}

// hostText appends "-s A/32" where text is the address as AppendTo
// prints it.
func (w *ruleWriter) hostText(flag, text string, addr netip.Addr) *ruleWriter {
	w.sep()
	b := w.page
	*b = append(*b, flag...)
	*b = append(*b, ' ')
	*b = append(*b, text...)
	*b = append(*b, hostLen(addr)...)
	return w
}

// hostLen is the prefix length suffix of a host address.
func hostLen(addr netip.Addr) string {
	if addr.Is4() {
		return "/32"
	}
	return "/128"
}

// prefix appends "-s P" for a network.
func (w *ruleWriter) prefix(flag string, p netip.Prefix) *ruleWriter {
	w.sep()
	b := w.page
	*b = append(*b, flag...)
	*b = append(*b, ' ')
	*b = p.Masked().AppendTo(*b)
	return w
}

// comment appends "-m comment --comment C" with C the concatenation of
// parts, quoted as iptables-save does.
func (w *ruleWriter) comment(parts ...string) *ruleWriter {
	w.a("-m comment --comment")
	w.sep()
	if len(parts) > 0 && parts[0] != "" && parts[0] == w.ar.quotedSpn && !needsEscape(parts[1:]...) {
		return w.quoted(parts...)
	}
	b := w.page
	safe := true
	for _, p := range parts {
		safe = safe && saveStringSafe(p)
	}
	if safe {
		for _, p := range parts {
			*b = append(*b, p...)
		}
		return w
	}
	*b = append(*b, '"')
	for _, p := range parts {
		if !needsEscape(p) {
			*b = append(*b, p...)
			continue
		}
		for i := 0; i < len(p); i++ {
			if needsEscape(p[i : i+1]) {
				*b = append(*b, '\\')
			}
			*b = append(*b, p[i])
		}
	}
	*b = append(*b, '"')
	return w
}

// quoted appends the comment value "<parts>", which needs quotes and no
// escape.
func (w *ruleWriter) quoted(parts ...string) *ruleWriter {
	b := w.page
	*b = append(*b, '"')
	for _, p := range parts {
		*b = append(*b, p...)
	}
	*b = append(*b, '"')
	return w
}

// needsEscape reports whether the strings hold a character iptables-save
// escapes inside a quoted string.
func needsEscape(ss ...string) bool {
	for _, s := range ss {
		for i := 0; i < len(s); i++ {
			if c := s[i]; c == '"' || c == '\\' || c == '\'' {
				return true
			}
		}
	}
	return false
}

// commentEP appends the comment "<spn> -> <addr:port>" without building it
// as a separate string; ap is the endpoint as AddrPort.AppendTo prints it.
func (w *ruleWriter) commentEP(spn, ap string) *ruleWriter {
	if spn != w.ar.quotedSpn && needsEscape(spn) {
		return w.comment(spn, " -> ", ap)
	}
	w.a("-m comment --comment")
	w.sep()
	return w.quoted(spn, " -> ", ap)
}

// int appends a number argument.
func (w *ruleWriter) int(n int64) *ruleWriter {
	w.sep()
	*w.page = strconv.AppendInt(*w.page, n, 10)
	return w
}

// jump appends "-j T" and ends the rule.
func (w *ruleWriter) jump(target string, extra ...string) {
	w.a("-j")
	*w.page = append(append(*w.page, ' '), target...)
	w.a(extra...)
	*w.jumps = append(*w.jumps, target)
	w.end()
}

// end finishes the rule and its line. Views of the page stay valid and
// unchanged: bytes once written are never written again (append either
// writes past them or copies them to a new array and leaves the old one
// alone). When appending moved the page to a new array, the chain's lines
// so far were copied with it, to the same place before the current line.
func (w *ruleWriter) end() { *w.page = w.endLine(*w.page) }

// endLine ends the current line on the page b and returns
// the page.
func (w *ruleWriter) endLine(b []byte) []byte {
	b = append(b, '\n')
	if w.n == 0 {
		w.doneStart, w.gen = w.lineStart, w.ar.textGen
	}
	if arr := unsafe.SliceData(b); arr != w.doneArr {
		w.doneArr = arr
	}
	w.doneLen = len(b) - w.doneStart
	w.n++
	return b
}

// lines returns the lines written so far.
func (w *ruleWriter) lines() string {
	if w.n == 0 {
		return ""
	}
	return unsafe.String((*byte)(unsafe.Add(unsafe.Pointer(w.doneArr), w.doneStart)), w.doneLen)
}

// toChain returns a chain holding the written lines.
func (w *ruleWriter) toChain() *Chain {
	c := w.ar.chain()
	c.setLines(w.chain, w.lines(), w.n)
	return c
}
