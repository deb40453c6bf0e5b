package iptables

import "slices"

// A full render records that every jump of its tables lands on a chain of
// the same table or on one of renderedVerdicts, so that Diff can skip
// looking up the targets of 100k chains. Each port checks its own rules
// (on the rendering workers, against the handful of chains the port wrote);
// renderAll checks the few static rules against the finished tables. Any
// later change to a table drops the record (see Table.jumpsChecked).

// renderedVerdicts are the targets that name no chain in rendered rules.
var renderedVerdicts = [...]string{"DNAT", "REJECT", "DROP", "ACCEPT", "RETURN", "MARK", "MASQUERADE"}

func isRenderedVerdict(t string) bool { return slices.Contains(renderedVerdicts[:], t) }

// jumpsKnown reports whether every rule of the port being written jumps
// to nothing, to a rendered verdict, to one of the port's own chains of its
// table, or (nat) to the masquerade chain.
func (w *svcWriter) jumpsKnown() bool {
	f := w.frag
	return jumpsAmong(w.a.jumps, f.nat, w.r.markMasq) && jumpsAmong(w.a.filterJumps, f.filter, "")
}

// jumpsAmong reports whether every target is none, a rendered verdict,
// extra or one of chains.
func jumpsAmong(targets []string, chains []*Chain, extra string) bool {
	last := 0
	for _, t := range targets {
		if !jumpAmong(t, chains, extra, &last) {
			return false
		}
	}
	return true
}

// jumpAmong reports whether a jump to t (none when "") is to nothing, to a
// rendered verdict, to extra or to one of chains. Rules mostly jump to the
// chain after the one the rule before jumped to (chains[*last]), so the
// search starts there.
func jumpAmong(t string, chains []*Chain, extra string, last *int) bool {
	if t == "" || t == extra {
		return true
	}
	for k := *last; k < *last+len(chains); k++ {
		if c := chains[k%len(chains)]; c.Name == t {
			*last = k % len(chains)
			return true
		}
	}
	return isRenderedVerdict(t)
}

// staticJumpsKnown reports whether every rule of chains jumps to nothing, to
// a rendered verdict or to a chain of t.
func staticJumpsKnown(t *Table, chains []*Chain, rules []Rule) bool {
	known := func(rules []Rule) bool {
		for i := range rules {
			if tg := rules[i].Target; tg != "" && !isRenderedVerdict(tg) && t.chains.get(tg) == nil {
				return false
			}
		}
		return true
	}
	for _, c := range chains {
		if !known(c.Rules()) {
			return false
		}
	}
	return known(rules)
}
