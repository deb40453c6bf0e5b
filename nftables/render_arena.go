package nftables

import "strings"

// slab hands out runs of T cut from blocks, so that many small slices
// cost one allocation per block. The first block holds size elements (the
// estimate of what is needed); a slab that runs out adds smaller ones. A
// run handed out is never appended to in place (its capacity ends where it
// does).
type slab[T any] struct {
	buf  []T
	size int
}

// take returns a run of n zero elements.
func (s *slab[T]) take(n int) []T {
	if cap(s.buf)-len(s.buf) < n {
		s.buf = make([]T, 0, max(n, s.size))
		s.size = max(s.size/8, 16)
	}
	i := len(s.buf)
	s.buf = s.buf[:i+n]
	return s.buf[i : i+n : i+n]
}

// put returns a run holding vs (element by element: cheaper than copy for
// the few elements of a rule).
func (s *slab[T]) put(vs ...T) []T {
	out := s.take(len(vs))
	for i := range vs {
		out[i] = vs[i]
	}
	return out
}

// one returns a pointer to one new element holding v.
func (s *slab[T]) one(v T) *T {
	p := &s.take(1)[0]
	*p = v
	return p
}

// arena holds the slabs the fragments of a chunk of service ports are cut
// from: rendering 10k ports allocates per chunk, not per rule, chain or
// name. Its sizes are estimates; a slab that runs out starts a new block.
type arena struct {
	rules     slab[Rule]
	stmts     slab[Stmt]
	values    slab[Value]
	verdicts  slab[Verdict]
	chains    slab[Chain]
	chainPtrs slab[*Chain]
	hashes    slab[uint64]
	sets      slab[Set]
	setPtrs   slab[*Set]
	elems     slab[Element]
	frags     slab[fragment]
	names     strings.Builder
	nameSize  int
}

// arenaSize is what an arena should hold: the sum of its ports' estimates.
type arenaSize struct {
	rules, stmts, values, verdicts, chains, sets, elems, frags, names int
}

func (s *arenaSize) add(o arenaSize) {
	s.rules += o.rules
	s.stmts += o.stmts
	s.values += o.values
	s.verdicts += o.verdicts
	s.chains += o.chains
	s.sets += o.sets
	s.elems += o.elems
	s.frags += o.frags
	s.names += o.names
}

func newArena(s arenaSize) *arena {
	a := &arena{nameSize: max(s.names, 256)}
	a.rules.size, a.stmts.size, a.values.size = max(s.rules, 16), max(s.stmts, 32), max(s.values, 8)
	a.verdicts.size, a.chains.size, a.chainPtrs.size = max(s.verdicts, 8), max(s.chains, 8), max(s.chains, 8)
	a.hashes.size = max(s.chains+s.sets, 8)
	a.sets.size, a.setPtrs.size, a.elems.size, a.frags.size = max(s.sets, 4), max(s.sets, 4), max(s.elems, 8), max(s.frags, 1)
	return a
}

// rule returns a rule of the given statements.
func (a *arena) rule(s ...Stmt) Rule { return Rule{Stmts: a.stmts.put(s...)} }

// list returns the given rules as one slice.
func (a *arena) list(r ...Rule) []Rule { return a.rules.put(r...) }

func (a *arena) key(v ...Value) []Value { return a.values.put(v...) }

func (a *arena) verdict(v Verdict) *Verdict { return a.verdicts.one(v) }

func (a *arena) chain(name string, rules []Rule) *Chain {
	return a.chains.one(Chain{Name: name, Rules: rules})
}

// name returns b as a string cut from the arena's text block. A Builder
// never rewrites what it holds, so the strings cut from it stay valid when
// a new block starts.
func (a *arena) name(b []byte) string {
	if a.names.Cap()-a.names.Len() < len(b) {
		a.names = strings.Builder{}
		a.names.Grow(max(len(b), a.nameSize))
	}
	start := a.names.Len()
	a.names.Write(b)
	return a.names.String()[start:]
}
