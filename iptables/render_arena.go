package iptables

import (
	"strings"
	"unsafe"
)

// arena is the memory one rendering worker carves its ports' text, rules
// and chains from, so that a full render allocates per page rather than
// per rule, chain or name. Pages grow geometrically from the first
// request, so that rendering one port costs what the port needs.
//
// Text once written is never written again: a page that fills up is left
// to the views into it, and writing goes on in a new page.
type arena struct {
	text   []byte // the port chains' restore lines, one chain after another
	side   []byte // names, endpoint texts and the shared chains' rules
	chains []Chain
	ptrs   []*Chain
	hashes []uint64
	frags  []fragment
	// the targets of the current port's jumps: from its nat chains and
	// nat shared chains, and from its filter shared chains
	jumps, filterJumps []string
	// textGen counts the text pages: a chain's writer knows by it that its
	// lines so far are not in the current page
	textGen uint32
	grow    int // ports rendered so far, to size the next pages
	// quotedSpn is the current port's name when a comment starting with
	// it is quoted and needs no escape (checked once per port)
	quotedSpn string
}

// Page size limits: text in bytes, the others in elements.
const (
	maxTextPage = 1 << 20
	maxSlab     = 4096
)

// nextSize returns the size of a new page that holds at least need,
// growing with the work done so far up to limit.
func (a *arena) nextSize(need, perPort, limit int) int {
	return max(need, min(limit, perPort*max(a.grow, 1)))
}

// reserve makes room for n more bytes of text without moving what is in
// the page: if the page lacks room, writing continues in a new one.
func (a *arena) reserve(n int) {
	if cap(a.text)-len(a.text) < n {
		a.text = newPage(a.nextSize(n, n, maxTextPage))
		a.textGen++
	}
}

// reserveSide is reserve for the side page. Names and shared rules go
// there so that the port chains' lines, which a payload writes in table
// order, follow one another in the text page.
func (a *arena) reserveSide(n int) {
	if cap(a.side)-len(a.side) < n {
		a.side = newPage(a.nextSize(n, n, maxTextPage))
	}
}

// sideView returns the bytes written to the side page since start as a
// string.
func (a *arena) sideView(start int) string { return bytesView(a.side[start:]) }

// chainPtrs returns a slice of n chain pointers.
func (a *arena) chainPtrs(n int) []*Chain {
	if cap(a.ptrs)-len(a.ptrs) < n {
		a.ptrs = make([]*Chain, 0, a.nextSize(n, 16, maxSlab))
	}
	l := len(a.ptrs)
	a.ptrs = a.ptrs[:l+n]
	return a.ptrs[l : l+n : l+n]
}

// chainHashes returns a slice of n hashes.
func (a *arena) chainHashes(n int) []uint64 {
	if cap(a.hashes)-len(a.hashes) < n {
		a.hashes = make([]uint64, 0, a.nextSize(n, 16, maxSlab))
	}
	l := len(a.hashes)
	a.hashes = a.hashes[:l+n]
	return a.hashes[l : l+n : l+n]
}

// chain returns a new empty Chain.
func (a *arena) chain() *Chain {
	if len(a.chains) == cap(a.chains) {
		a.chains = make([]Chain, 0, a.nextSize(1, 16, maxSlab))
	}
	a.chains = a.chains[:len(a.chains)+1]
	return &a.chains[len(a.chains)-1]
}

// fragment returns a new empty fragment.
func (a *arena) fragment() *fragment {
	if len(a.frags) == cap(a.frags) {
		a.frags = make([]fragment, 0, a.nextSize(1, 1, maxSlab/4))
	}
	a.frags = a.frags[:len(a.frags)+1]
	return &a.frags[len(a.frags)-1]
}

// newPage returns a text page with room for n bytes after its first, a
// zero byte that no text includes, not zeroed: a strings.Builder grows its
// buffer without clearing it (the runtime's non-zeroing allocation, which
// only the standard library can call), and the page is that buffer.
// Nothing reads a page beyond what was written to it, and a full render
// writes 50 MB of text, which clearing first would cost milliseconds.
//
// The first byte stays in the page, and in any array appending moves it
// to, so that text in one array never ends where text in another begins:
// text that lies right after a chain's lines is in the same array (see
// lineRun).
func newPage(n int) []byte {
	var sb strings.Builder
	sb.Grow(n + 1)
	sb.WriteByte(0)
	return unsafe.Slice(unsafe.StringData(sb.String()), n+1)[:1]
}

// bytesView returns a string that shares b's memory; b must never change.
func bytesView(b []byte) string {
	if len(b) == 0 {
		return ""
	}
	return unsafe.String(unsafe.SliceData(b), len(b))
}
