package nftables

import (
	"fmt"
	"hash/fnv"
	"io"
	"strings"
	"sync/atomic"
)

// Print writes the ruleset as an `nft -f` script that replaces each of its
// tables: `table F N` + `delete table F N` (so the script also loads when the
// table exists) followed by the table's definition, laid out as `nft list
// table` prints it. Elements whose verdicts jump to chains are part of their
// map's block, which nft resolves after the whole table is parsed.
func (r *Ruleset) Print(w io.Writer) error {
	var b strings.Builder
	for _, t := range r.Tables {
		fmt.Fprintf(&b, "table %s\ndelete table %s\n", t.ID(), t.ID())
		t.print(&b)
	}
	_, err := io.WriteString(w, b.String())
	return err
}

// String returns the script Print writes.
func (r *Ruleset) String() string {
	var b strings.Builder
	_ = r.Print(&b)
	return b.String()
}

// String returns the table's definition as `nft list table` prints it.
func (t *Table) String() string {
	var b strings.Builder
	t.print(&b)
	return b.String()
}

func (t *Table) print(b *strings.Builder) {
	fmt.Fprintf(b, "table %s {\n", t.ID())
	if t.Comment != "" {
		fmt.Fprintf(b, "\tcomment %q\n", t.Comment)
	}
	first := true
	sep := func() {
		if !first {
			b.WriteString("\n")
		}
		first = false
	}
	for _, s := range t.Sets() {
		sep()
		s.print(b)
	}
	for _, c := range t.Chains() {
		sep()
		c.print(b, t.Family)
	}
	b.WriteString("}\n")
}

func (s *Set) kind() string {
	if s.Verdict || s.Data != 0 {
		return "map"
	}
	return "set"
}

func (s *Set) typeLine() string {
	parts := make([]string, len(s.Key))
	for i, k := range s.Key {
		parts[i] = k.String()
	}
	kw := "type "
	if len(s.Key) == 1 && s.Key[0] == TypeNumgen {
		kw = "typeof "
	}
	line := kw + strings.Join(parts, " . ")
	switch {
	case s.Verdict:
		line += " : verdict"
	case s.Data != 0:
		line += " : " + s.Data.String()
	}
	return line
}

func (s *Set) flagsString() string {
	var flags []string
	if s.Dynamic {
		flags = append(flags, "dynamic")
	}
	if s.Interval {
		flags = append(flags, "interval")
	}
	if s.Timeout {
		flags = append(flags, "timeout")
	}
	return strings.Join(flags, ",")
}

func (s *Set) print(b *strings.Builder) {
	fmt.Fprintf(b, "\t%s %s {\n\t\t%s\n", s.kind(), s.Name, s.typeLine())
	if n := s.size(); n != 0 {
		fmt.Fprintf(b, "\t\tsize %d\n", n)
	}
	// nft omits "flags timeout" when it is the only flag and a default timeout implies it.
	if f := s.flagsString(); f != "" && !(f == "timeout" && s.DefaultTimeout > 0) {
		fmt.Fprintf(b, "\t\tflags %s\n", f)
	}
	if s.DefaultTimeout > 0 {
		fmt.Fprintf(b, "\t\ttimeout %s\n", FormatDuration(s.DefaultTimeout))
	}
	if s.Comment != "" {
		fmt.Fprintf(b, "\t\tcomment %q\n", s.Comment)
	}
	if len(s.Elements) > 0 {
		b.WriteString("\t\telements = { ")
		for i := range s.Elements {
			if i > 0 {
				b.WriteString(",\n\t\t\t     ")
			}
			b.WriteString(s.elementString(s.Elements[i]))
		}
		b.WriteString(" }\n")
	}
	b.WriteString("\t}\n")
}

// elementString prints e as nft lists it within s: a timeout equal to the
// set's default is not kept by the kernel, so it is not printed either.
func (s *Set) elementString(e Element) string {
	if s != nil && e.Timeout == s.DefaultTimeout {
		e.Timeout = 0
	}
	return e.String()
}

// String prints the element as nft lists it: `key [timeout T] [comment "c"] [: value]`.
func (e Element) String() string {
	s := keyString(e.Key)
	if e.Timeout > 0 {
		s += " timeout " + FormatDuration(e.Timeout)
	}
	if e.Comment != "" {
		s += fmt.Sprintf(" comment %q", e.Comment)
	}
	switch {
	case e.Verdict != nil:
		s += " : " + e.Verdict.String()
	case e.Data != nil:
		s += " : " + e.Data.String()
	}
	return s
}

// stdPriorities are nft's named chain priorities.
var stdPriorities = []struct {
	name  string
	value int
	hooks []string // nil: any hook
}{
	{"raw", -300, nil}, {"mangle", -150, nil}, {"dstnat", -100, []string{"prerouting"}},
	{"filter", 0, nil}, {"security", 50, nil}, {"srcnat", 100, []string{"postrouting"}},
}

func priorityString(hook string, prio int) string {
	for _, p := range stdPriorities {
		if p.hooks != nil && !contains(p.hooks, hook) {
			continue
		}
		switch d := prio - p.value; {
		case d == 0:
			return p.name
		case d > 0 && d <= 10:
			return fmt.Sprintf("%s + %d", p.name, d)
		case d < 0 && d >= -10:
			return fmt.Sprintf("%s - %d", p.name, -d)
		}
	}
	return fmt.Sprint(prio)
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

func (h *Hook) String() string {
	pol := h.Policy
	if pol == "" {
		pol = "accept"
	}
	return fmt.Sprintf("type %s hook %s priority %s; policy %s;", h.Type, h.Hook, priorityString(h.Hook, h.Priority), pol)
}

func (c *Chain) print(b *strings.Builder, fam Family) {
	fmt.Fprintf(b, "\tchain %s {\n", c.Name)
	if c.Hook != nil {
		fmt.Fprintf(b, "\t\t%s\n", c.Hook)
	}
	for _, r := range c.Rules {
		fmt.Fprintf(b, "\t\t%s\n", ruleText(fam, r))
	}
	b.WriteString("\t}\n")
}

// ruleText prints a rule in the canonical spelling nft lists it with.
func ruleText(fam Family, r Rule) string {
	parts := make([]string, 0, len(r.Stmts)+1)
	for i := 0; i < len(r.Stmts); i++ {
		switch s := r.Stmts[i].(type) {
		case MatchProto:
			// `meta l4proto tcp th dport 80` lists as `tcp dport 80`.
			if p, ok := nextPort(r.Stmts, i); ok && !s.Neg && portProto(s.Proto) {
				p.Proto = s.Proto
				parts = append(parts, p.String())
				i++
				continue
			}
			if !s.Neg && s.Proto == 6 && i+1 < len(r.Stmts) && r.Stmts[i+1] == Stmt(Reject{Type: RejectTCPReset}) {
				continue // nft lists the dependency of `reject with tcp reset` implicitly
			}
			parts = append(parts, s.String())
		case Reject:
			parts = append(parts, s.canonical(fam).String())
		case DNAT:
			parts = append(parts, s.format(fam))
		default:
			parts = append(parts, s.String())
		}
	}
	if r.Comment != "" {
		parts = append(parts, fmt.Sprintf("comment %q", r.Comment))
	}
	return strings.Join(parts, " ")
}

func nextPort(stmts []Stmt, i int) (MatchPort, bool) {
	if i+1 >= len(stmts) {
		return MatchPort{}, false
	}
	p, ok := stmts[i+1].(MatchPort)
	return p, ok && p.Proto == 0
}

func portProto(p uint8) bool { return p == 6 || p == 17 || p == 132 }

// String prints the chain as `nft list` would, inside an ip table.
func (c *Chain) String() string {
	var b strings.Builder
	c.print(&b, FamilyIPv4)
	return b.String()
}

// contentHash hashes the chain's hook and rules (cached: chains are
// immutable once handed over; zero means not yet computed, so a hash of
// zero is stored as one, and goroutines racing to compute it store the same
// value).
func (c *Chain) contentHash(fam Family) uint64 {
	if v := atomic.LoadUint64(&c.hash); v != 0 {
		return v
	}
	h := fnv.New64a()
	if c.Hook != nil {
		_, _ = io.WriteString(h, c.Hook.String())
	}
	for _, r := range c.Rules {
		_, _ = io.WriteString(h, "\n")
		_, _ = io.WriteString(h, ruleText(fam, r))
	}
	v := max(h.Sum64(), 1)
	atomic.StoreUint64(&c.hash, v)
	return v
}
