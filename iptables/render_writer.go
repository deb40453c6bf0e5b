package iptables

import (
	"net/netip"
	"strconv"
	"unsafe"
)

// ruleWriter builds the rules of one chain (or one port's share of a shared
// chain) into a single buffer, so that rendering allocates one string per
// chain rather than one per argument. It writes arguments in iptables-save's
// canonical form, so rendered rules equal the rules read back.
type ruleWriter struct {
	chain string
	buf   *[]byte // shared by the writers of one service port
	out   []Rule
	cur   ruleMeta
}

type ruleMeta struct {
	start int
	// the comment's unquoted value: a span of the buffer, or a string
	cStart, cEnd int
	comment      string
	target       string
}

// sibling returns a writer for another chain that shares w's buffer.
func (w *ruleWriter) sibling(chain string) *ruleWriter { return &ruleWriter{chain: chain, buf: w.buf} }

// begin starts a rule.
func (w *ruleWriter) begin() *ruleWriter {
	w.cur = ruleMeta{start: len(*w.buf)}
	return w
}

// a appends raw arguments (no quoting needed).
func (w *ruleWriter) a(args ...string) *ruleWriter {
	for _, s := range args {
		w.sep()
		*w.buf = append(*w.buf, s...)
	}
	return w
}

func (w *ruleWriter) sep() {
	if len(*w.buf) > w.cur.start {
		*w.buf = append(*w.buf, ' ')
	}
}

// host appends "-d A/32" style address matches.
func (w *ruleWriter) host(flag string, addr netip.Addr) *ruleWriter {
	w.sep()
	*w.buf = append(*w.buf, flag...)
	*w.buf = append(*w.buf, ' ')
	*w.buf = addr.AppendTo(*w.buf)
	*w.buf = append(*w.buf, '/')
	*w.buf = strconv.AppendInt(*w.buf, int64(addr.BitLen()), 10)
	return w
}

// prefix appends "-s P" for a network.
func (w *ruleWriter) prefix(flag string, p netip.Prefix) *ruleWriter {
	w.sep()
	*w.buf = append(*w.buf, flag...)
	*w.buf = append(*w.buf, ' ')
	*w.buf = p.Masked().AppendTo(*w.buf)
	return w
}

// comment appends "-m comment --comment C" with C the concatenation of
// parts, quoted as iptables-save does.
func (w *ruleWriter) comment(parts ...string) *ruleWriter {
	w.a("-m", "comment", "--comment")
	w.sep()
	safe := true
	for _, p := range parts {
		safe = safe && saveStringSafe(p)
	}
	if safe {
		w.cur.cStart = len(*w.buf)
		for _, p := range parts {
			*w.buf = append(*w.buf, p...)
		}
		w.cur.cEnd = len(*w.buf)
		return w
	}
	*w.buf = append(*w.buf, '"')
	w.cur.cStart = len(*w.buf)
	plain := true
	for _, p := range parts {
		for i := 0; i < len(p); i++ {
			switch p[i] {
			case '"', '\\', '\'':
				*w.buf = append(*w.buf, '\\')
				plain = false
			}
			*w.buf = append(*w.buf, p[i])
		}
	}
	w.cur.cEnd = len(*w.buf)
	*w.buf = append(*w.buf, '"')
	if !plain {
		w.cur.cStart, w.cur.cEnd = 0, 0
		var c []byte
		for _, p := range parts {
			c = append(c, p...)
		}
		w.cur.comment = string(c)
	}
	return w
}

// commentEP appends the comment "<spn> -> <addr:port>" without building it
// as a separate string.
func (w *ruleWriter) commentEP(spn string, ap netip.AddrPort) *ruleWriter {
	for i := 0; i < len(spn); i++ {
		if c := spn[i]; c == '"' || c == '\\' || c == '\'' {
			return w.comment(spn, " -> ", ap.String())
		}
	}
	w.a("-m", "comment", "--comment")
	w.sep()
	*w.buf = append(*w.buf, '"')
	w.cur.cStart = len(*w.buf)
	*w.buf = append(*w.buf, spn...)
	*w.buf = append(*w.buf, " -> "...)
	*w.buf = ap.AppendTo(*w.buf)
	w.cur.cEnd = len(*w.buf)
	*w.buf = append(*w.buf, '"')
	return w
}

// int appends a number argument.
func (w *ruleWriter) int(n int64) *ruleWriter {
	w.sep()
	*w.buf = strconv.AppendInt(*w.buf, n, 10)
	return w
}

// addrPort appends an endpoint as DNAT's --to-destination wants it.
func (w *ruleWriter) addrPort(ap netip.AddrPort) *ruleWriter {
	w.sep()
	*w.buf = ap.AppendTo(*w.buf)
	return w
}

// jump appends "-j T" and ends the rule.
func (w *ruleWriter) jump(target string, extra ...string) {
	w.a("-j", target)
	w.a(extra...)
	w.cur.target = target
	w.end()
}

// end finishes the rule. Its text is a string view of the buffer: bytes
// once written are never written again (append either writes past them or
// copies them to a new array and leaves the old one alone), so the view
// stays valid and unchanged.
func (w *ruleWriter) end() {
	b := *w.buf
	c := w.cur.comment
	if w.cur.cEnd > w.cur.cStart {
		c = bytesView(b[w.cur.cStart:w.cur.cEnd])
	}
	w.out = append(w.out, Rule{Chain: w.chain, Spec: bytesView(b[w.cur.start:]), Comment: c, Target: w.cur.target})
}

// rules returns the written rules.
func (w *ruleWriter) rules() []Rule { return w.out }

// toChain returns a chain holding the written rules.
func (w *ruleWriter) toChain() *Chain { return &Chain{Name: w.chain, Rules: w.out} }

// bytesView returns a string that shares b's memory; b must never change.
func bytesView(b []byte) string {
	if len(b) == 0 {
		return ""
	}
	return unsafe.String(unsafe.SliceData(b), len(b))
}
