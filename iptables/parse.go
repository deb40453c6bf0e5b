package iptables

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
)

// ParseError is a syntax error in iptables-save or iptables-restore text.
type ParseError struct {
	Line int    // 1-based line number
	Text string // the offending line
	Err  error  // what is wrong
}

func (e *ParseError) Error() string {
	return fmt.Sprintf("line %d: %v: %q", e.Line, e.Err, e.Text)
}

func (e *ParseError) Unwrap() error { return e.Err }

// Parse reads iptables-save (or ip6tables-save) output, with or without -c
// counters, "# Generated"/"# Completed" lines, blank lines and a final
// newline, into a Ruleset of family f. Every rule must belong to a chain
// declared earlier in its table, and every table must end with COMMIT.
//
// Parse copies data once; the rules' strings share that copy.
func Parse(f Family, data []byte) (*Ruleset, error) { return ParseString(f, string(data)) }

// ParseString is Parse for a string; the rules' strings share s.
func ParseString(f Family, s string) (*Ruleset, error) {
	p := &dumpParser{rs: NewRuleset(f)}
	// One arena for all rules: chains take sub-slices of it, so parsing costs
	// one allocation for the rules instead of one per chain.
	p.arena = make([]Rule, 0, strings.Count(s, "\n")+1)
	err := forEachLine(s, func(n int, line string) error {
		if err := p.line(line); err != nil {
			return &ParseError{Line: n, Text: line, Err: err}
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	p.flushRun()
	if p.table != nil {
		return nil, &ParseError{Line: strings.Count(s, "\n") + 1, Err: fmt.Errorf("table %s: missing COMMIT", p.table.Name)}
	}
	return p.rs, nil
}

// forEachLine calls fn with each line of s (1-based number, without the line
// end and a trailing carriage return) until fn fails.
func forEachLine(s string, fn func(n int, line string) error) error {
	for n := 1; len(s) > 0; n++ {
		line := s
		if i := strings.IndexByte(s, '\n'); i >= 0 {
			line, s = s[:i], s[i+1:]
		} else {
			s = ""
		}
		line = strings.TrimSuffix(line, "\r")
		if err := fn(n, line); err != nil {
			return err
		}
	}
	return nil
}

type dumpParser struct {
	rs    *Ruleset
	table *Table // the table being read, nil between COMMIT and *table

	arena    []Rule
	run      *Chain // chain whose rules are arena[runStart:]
	runStart int
}

var (
	errOutsideTable = errors.New("command outside a table (missing *table line)")
	errNoChain      = errors.New("rule for an undeclared chain")
)

func (p *dumpParser) line(line string) error {
	trimmed := line
	if trimmed != "" && (trimmed[0] == ' ' || trimmed[0] == '\t') {
		trimmed = strings.TrimLeft(line, " \t")
	}
	if trimmed == "" || trimmed[0] == '#' {
		return nil
	}
	switch {
	case trimmed[0] == '*':
		if p.table != nil {
			return fmt.Errorf("table %s: missing COMMIT", p.table.Name)
		}
		name := strings.TrimSpace(trimmed[1:])
		if name == "" || strings.ContainsAny(name, " \t") {
			return fmt.Errorf("invalid table name %q", name)
		}
		p.table = p.rs.EnsureTable(name)
		return nil
	case p.table == nil:
		return errOutsideTable
	case trimmed[0] == 'C' && strings.TrimRight(trimmed, " \t") == "COMMIT":
		p.flushRun()
		p.table = nil
		return nil
	case trimmed[0] == ':':
		return p.declare(trimmed)
	}
	return p.rule(trimmed)
}

// declare reads ":CHAIN POLICY [packets:bytes]" (the counters are optional).
func (p *dumpParser) declare(line string) error {
	f := strings.Fields(line[1:])
	if len(f) < 2 || len(f) > 3 {
		return errors.New("chain declaration is not \":CHAIN POLICY [packets:bytes]\"")
	}
	if err := checkChainName(f[0]); err != nil {
		return err
	}
	if p.table.Chain(f[0]) != nil {
		return fmt.Errorf("chain %s declared twice", f[0])
	}
	c := &Chain{Name: f[0], Policy: f[1]}
	if c.Policy == "-" {
		c.Policy = ""
	}
	if len(f) == 3 {
		cnt, ok := parseCounters(f[2])
		if !ok {
			return fmt.Errorf("invalid counters %q", f[2])
		}
		c.Counters = cnt
	}
	p.table.SetChain(c)
	return nil
}

// rule reads "[packets:bytes] -A CHAIN args..." (the counters are optional).
func (p *dumpParser) rule(line string) error {
	r := Rule{}
	if line[0] == '[' {
		end := strings.IndexByte(line, ']')
		if end < 0 {
			return errors.New("unterminated counters")
		}
		cnt, ok := parseCounters(line[:end+1])
		if !ok {
			return fmt.Errorf("invalid counters %q", line[:end+1])
		}
		r.Counters, r.HasCounters = cnt, true
		line = strings.TrimLeft(line[end+1:], " \t")
	}
	cmd, rest := cutBlank(line)
	if cmd != "-A" && cmd != "--append" {
		return fmt.Errorf("unsupported command %q in iptables-save output", cmd)
	}
	name, spec := cutBlank(rest)
	c := p.run
	if c == nil || c.Name != name {
		if c = p.table.Chain(name); c == nil {
			return fmt.Errorf("%w %q", errNoChain, name)
		}
	}
	r.Chain = c.Name
	if err := r.setSpec(spec); err != nil {
		return err
	}
	if c != p.run {
		p.flushRun()
		p.run, p.runStart = c, len(p.arena)
	}
	p.arena = append(p.arena, r)
	return nil
}

// flushRun hands the rules gathered for the current chain to that chain.
func (p *dumpParser) flushRun() {
	if p.run == nil {
		return
	}
	run := p.arena[p.runStart:len(p.arena):len(p.arena)]
	if len(p.run.rules) == 0 {
		p.run.rules = run
	} else {
		p.run.rules = append(p.run.rules, run...)
	}
	p.run = nil
}

// cutBlank splits s at its first run of blanks.
func cutBlank(s string) (first, rest string) {
	i := strings.IndexByte(s, ' ')
	if t := strings.IndexByte(s, '\t'); t >= 0 && (i < 0 || t < i) {
		i = t
	}
	if i < 0 {
		return s, ""
	}
	first, rest = s[:i], s[i+1:]
	if rest != "" && (rest[0] == ' ' || rest[0] == '\t') {
		rest = strings.TrimLeft(rest, " \t")
	}
	return first, rest
}

// parseCounters reads "[packets:bytes]".
func parseCounters(s string) (Counters, bool) {
	if len(s) < 5 || s[0] != '[' || s[len(s)-1] != ']' {
		return Counters{}, false
	}
	a, b, ok := strings.Cut(s[1:len(s)-1], ":")
	if !ok {
		return Counters{}, false
	}
	pk, err1 := strconv.ParseUint(a, 10, 64)
	by, err2 := strconv.ParseUint(b, 10, 64)
	if err1 != nil || err2 != nil {
		return Counters{}, false
	}
	return Counters{Packets: pk, Bytes: by}, true
}
