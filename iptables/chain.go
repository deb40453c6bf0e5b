package iptables

import (
	"iter"
	"slices"
	"strings"
	"sync/atomic"
)

// Chain is a chain of a table with its rules in order.
//
// A chain holds its rules in one of two forms. NewChain, Parse and the Fake
// build chains of Rule values. Render writes each service port's chains,
// and the chains the ports share (KUBE-SERVICES and the like), as their
// restore lines ("-A NAME spec\n" each) in one string, which a payload
// copies as it is; Rules parses those lines the first time it is called. Rendering 450k rules as lines rather than Rule values is what
// keeps a full render of 10k services in tens of milliseconds: the garbage
// collector has no rule to scan.
//
// Chains are shared between Rulesets (Clone, Diff, the Fake): a Chain that
// belongs to a Ruleset is immutable. To change a chain, build a new one and
// put it with Table.SetChain.
type Chain struct {
	Name     string
	Policy   string   // ACCEPT or DROP for a built-in chain; "" for a user chain ("-" in iptables-save)
	Counters Counters // the chain's counters as declared ("[p:b]")

	rules []Rule // the rules, unless lines holds them
	// lines, when set, holds the n rules as restore lines instead of rules.
	// The lines of chains rendered one after another lie one after another
	// in a text page, which a payload writes at once (see lineRun).
	lines  string
	n      int
	parsed atomic.Pointer[[]Rule] // lines as Rules, once Rules was called

	seq uint64 // position in the table: order of first insertion
}

// NewChain returns a chain holding rules, which it keeps: do not change
// them afterwards. For a built-in chain, set Policy.
func NewChain(name string, rules ...Rule) *Chain {
	return &Chain{Name: name, rules: slices.Clip(rules)}
}

// setLines makes c the chain name holding n rules as the restore lines
// lines.
func (c *Chain) setLines(name, lines string, n int) {
	c.Name, c.lines, c.n = name, lines, n
}

// Rules returns the chain's rules in order; do not change them. For a
// chain held as restore lines, the first call parses them (it is safe to
// call from several goroutines); the Rules share the lines' memory.
func (c *Chain) Rules() []Rule {
	if c.lines == "" {
		return c.rules
	}
	if p := c.parsed.Load(); p != nil {
		return *p
	}
	rules := make([]Rule, 0, c.n)
	for spec := range c.specs() {
		r := Rule{Chain: c.Name}
		if err := r.setSpec(spec); err != nil {
			r = Rule{Chain: c.Name, Spec: spec} // rendered lines are canonical; keep the text
		}
		rules = append(rules, r)
	}
	c.parsed.CompareAndSwap(nil, &rules)
	return *c.parsed.Load()
}

// NumRules returns the number of rules.
func (c *Chain) NumRules() int {
	if c.lines != "" {
		return c.n
	}
	return len(c.rules)
}

// withRules returns a chain with c's name, policy and counters holding
// rules.
func (c *Chain) withRules(rules []Rule) *Chain {
	return &Chain{Name: c.Name, Policy: c.Policy, Counters: c.Counters, rules: rules}
}

// withRulesOf returns a chain with c's name, policy and counters holding
// the rules of from (a chain of the same name), shared in their form.
func (c *Chain) withRulesOf(from *Chain) *Chain {
	n := c.withRules(from.rules)
	n.lines, n.n = from.lines, from.n
	return n
}

// restoreLines returns the chain's rules as restore lines, if it holds
// them so.
func (c *Chain) restoreLines() (string, bool) { return c.lines, c.lines != "" }

// specs yields the rules' Specs in order without building Rules.
func (c *Chain) specs() iter.Seq[string] {
	return func(yield func(string) bool) {
		if c.lines == "" {
			for i := range c.rules {
				if !yield(c.rules[i].Spec) {
					return
				}
			}
			return
		}
		skip := len("-A ") + len(c.Name)
		for s := c.lines; s != ""; {
			nl := strings.IndexByte(s, '\n')
			if nl < 0 {
				nl = len(s)
			}
			spec := ""
			if nl > skip {
				spec = s[skip+1 : nl]
			}
			if !yield(spec) {
				return
			}
			s = s[min(nl+1, len(s)):]
		}
	}
}

// targets yields the rules' targets in order ("" for a rule without one)
// without building Rules.
func (c *Chain) targets() iter.Seq[string] {
	return func(yield func(string) bool) {
		if c.lines == "" {
			for i := range c.rules {
				if !yield(c.rules[i].Target) {
					return
				}
			}
			return
		}
		for spec := range c.specs() {
			var r Rule
			if !r.analyzeFast(spec) && r.analyze(spec) != nil {
				r.Target = ""
			}
			if !yield(r.Target) {
				return
			}
		}
	}
}

// Equal reports whether c and o have the same name, policy and rules
// (counters ignored).
func (c *Chain) Equal(o *Chain) bool {
	if c == o {
		return true
	}
	if c == nil || o == nil || c.Name != o.Name || c.Policy != o.Policy {
		return false
	}
	return sameRules(c, o)
}

// sameRules reports whether two chains of the same name hold the same
// rules (counters ignored).
func sameRules(a, b *Chain) bool {
	if a.NumRules() != b.NumRules() {
		return false
	}
	switch {
	case a.lines != "" && b.lines != "":
		return a.lines == b.lines // canonical lines of one chain name
	case a.lines == "" && b.lines == "":
		return rulesEqual(a.rules, b.rules)
	case a.lines == "":
		a, b = b, a
	}
	i := 0
	for spec := range a.specs() {
		if spec != b.rules[i].Spec {
			return false
		}
		i++
	}
	return true
}

func rulesEqual(a, b []Rule) bool {
	if len(a) != len(b) {
		return false
	}
	if len(a) > 0 && &a[0] == &b[0] {
		return true
	}
	for i := range a {
		if a[i].Spec != b[i].Spec {
			return false
		}
	}
	return true
}

// equalWithCounters also compares chain and rule counters.
func (c *Chain) equalWithCounters(o *Chain) bool {
	if !c.Equal(o) || c.Counters != o.Counters {
		return false
	}
	a, b := c.Rules(), o.Rules()
	for i := range a {
		if a[i].HasCounters != b[i].HasCounters || a[i].Counters != b[i].Counters {
			return false
		}
	}
	return true
}
