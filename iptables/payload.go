package iptables

import (
	"fmt"
	"strconv"
	"strings"
)

// OpKind is an iptables-restore command.
type OpKind uint8

const (
	// OpDeclare is ":CHAIN POLICY [p:b]": it creates a user chain, or
	// flushes it when it exists; for a built-in chain it sets the policy.
	OpDeclare OpKind = iota + 1
	// OpAppend is "-A CHAIN spec".
	OpAppend
	// OpInsert is "-I CHAIN [pos] spec" (position 1 when Pos is 0).
	OpInsert
	// OpDelete is "-D CHAIN spec", or "-D CHAIN pos" when Pos > 0.
	OpDelete
	// OpDeleteChain is "-X CHAIN" ("-X" alone, all user chains, when Chain is "").
	OpDeleteChain
	// OpFlush is "-F CHAIN" ("-F" alone, all chains, when Chain is "").
	OpFlush
	// OpNewChain is "-N CHAIN".
	OpNewChain
	// OpPolicy is "-P CHAIN POLICY".
	OpPolicy
	// OpFill appends the rules of each of Chains to the chain of the same
	// name, in order: one "-A NAME spec" line per rule. It is how Diff
	// fills the chains it declared; the chains are shared, not copied.
	OpFill
)

// Op is one command of an iptables-restore payload, or a run of commands
// of one kind: OpDeclare and OpDeleteChain with Chains set, and OpFill, print
// one line per chain (per rule for OpFill). That is how Diff declares,
// fills and deletes chains, so that a payload adding 100k chains holds a
// handful of Ops.
type Op struct {
	Kind     OpKind
	Chain    string
	Rule     Rule     // OpAppend, OpInsert, OpDelete by spec (Rule.Chain == Chain)
	Pos      int      // OpInsert, OpDelete: 1-based position, 0 for none
	Policy   string   // OpDeclare ("" for a user chain), OpPolicy
	Counters Counters // OpDeclare
	// Chains makes OpDeclare and OpDeleteChain one command per chain
	// (":NAME - [0:0]", "-X NAME"; Chain, Policy and Counters are then
	// unused), and names the chains whose rules OpFill appends.
	Chains []*Chain
}

// lines returns the number of payload lines (and commands) of the op.
func (o *Op) lines() int {
	switch {
	case o.Kind == OpFill:
		n := 0
		for _, c := range o.Chains {
			n += c.NumRules()
		}
		return n
	case o.multi():
		return len(o.Chains)
	}
	return 1
}

// multi reports whether the op is one command per chain of Chains.
func (o *Op) multi() bool {
	return o.Kind == OpFill || o.Chains != nil && (o.Kind == OpDeclare || o.Kind == OpDeleteChain)
}

// TablePayload is the part of a payload for one table: one
// iptables-restore transaction ("*table" ... "COMMIT").
type TablePayload struct {
	Table string
	Ops   []Op
	// what Diff changed, for the readable summary: the chains it adds, and
	// the other changes (empty for a parsed payload)
	added   []*Chain
	changes []Change
}

// Changes returns what Diff changes in the table, in payload order: the
// chains added, rewritten and deleted, the rules of built-in chains
// deleted and inserted, the chains kept. It is empty for a parsed payload.
// A full payload at 10k services lists 114k changes: Diff only records
// them, and Changes builds the list when asked.
func (t *TablePayload) Changes() []Change {
	if len(t.added) == 0 {
		return t.changes
	}
	out := make([]Change, 0, len(t.added)+len(t.changes))
	for _, c := range t.added {
		out = append(out, Change{Kind: ChainAdded, Chain: c.Name, NewRules: c.NumRules()})
	}
	return append(out, t.changes...)
}

// ChangeKind says how Diff changes a chain or a rule.
type ChangeKind byte

const (
	ChainAdded     ChangeKind = '+' // a new chain, declared and filled
	ChainRewritten ChangeKind = '~' // a chain whose rules differ, flushed and refilled
	ChainDeleted   ChangeKind = '-' // a chain no longer desired, flushed and deleted
	ChainKept      ChangeKind = '=' // a chain no longer desired but still referenced by a foreign rule
	RuleInserted   ChangeKind = 'i' // a rule inserted into a built-in chain
	RuleDeleted    ChangeKind = 'd' // a rule deleted from a built-in chain
)

// Change is one entry of a payload's readable summary.
type Change struct {
	Kind     ChangeKind
	Chain    string
	OldRules int    // rules before (ChainRewritten, ChainDeleted)
	NewRules int    // rules after (ChainAdded, ChainRewritten)
	Rule     string // the rule text (RuleInserted, RuleDeleted); the referrer (ChainKept)
}

// Payload is a set of iptables-restore --noflush transactions, one per
// table, for one family. Bytes prints it as iptables-restore input; String
// prints a readable summary of what would change.
type Payload struct {
	Family Family
	Tables []*TablePayload
}

// Empty reports whether the payload changes nothing.
func (p *Payload) Empty() bool { return p.Writes() == 0 }

// Writes returns the number of commands in the payload (an OpFill counts
// its rules).
func (p *Payload) Writes() int {
	n := 0
	for _, t := range p.Tables {
		for i := range t.Ops {
			n += t.Ops[i].lines()
		}
	}
	return n
}

// TableNames returns the names of the tables the payload touches.
func (p *Payload) TableNames() []string {
	var out []string
	for _, t := range p.Tables {
		if len(t.Ops) > 0 {
			out = append(out, t.Table)
		}
	}
	return out
}

// Only returns a payload holding just the named table (nil when the
// payload does not touch it).
func (p *Payload) Only(table string) *Payload {
	for _, t := range p.Tables {
		if t.Table == table && len(t.Ops) > 0 {
			return &Payload{Family: p.Family, Tables: []*TablePayload{t}}
		}
	}
	return nil
}

// size estimates the length of the table's restore text.
func (t *TablePayload) size() int {
	n := len(t.Table) + 16
	for i := range t.Ops {
		o := &t.Ops[i]
		switch {
		case o.Kind == OpFill:
			for _, c := range o.Chains {
				n += fillSize(c)
			}
		case o.multi():
			for _, c := range o.Chains {
				n += len(c.Name) + 16
			}
		default:
			n += len(o.Chain) + len(o.Rule.Spec) + 32
		}
	}
	return n
}

// fillSize is the length of a chain's rules as restore lines (what
// an OpFill writes for it).
func fillSize(c *Chain) int {
	if lines, ok := c.restoreLines(); ok {
		return len(lines)
	}
	n := 0
	for spec := range c.specs() {
		n += len("-A ") + len(c.Name) + len("\n")
		if spec != "" {
			n += 1 + len(spec)
		}
	}
	return n
}

// appendTo appends the op as iptables-restore lines.
func (o *Op) appendTo(b []byte) []byte {
	if o.multi() {
		for _, c := range o.Chains {
			b = o.appendOne(b, c)
		}
		return b
	}
	switch o.Kind {
	case OpDeclare:
		return appendDeclaration(b, o.Chain, o.Policy, o.Counters)
	case OpAppend:
		return appendRule(b, "-A", &o.Rule, false)
	case OpInsert, OpDelete:
		cmd := "-I"
		if o.Kind == OpDelete {
			cmd = "-D"
		}
		if o.Pos > 0 {
			r := o.Rule
			r.Chain = o.Chain + " " + strconv.Itoa(o.Pos)
			return appendRule(b, cmd, &r, false)
		}
		return appendRule(b, cmd, &o.Rule, false)
	case OpPolicy:
		return append(b, "-P "+o.Chain+" "+o.Policy+"\n"...)
	}
	var cmd string
	switch o.Kind {
	case OpDeleteChain:
		cmd = "-X"
	case OpFlush:
		cmd = "-F"
	case OpNewChain:
		cmd = "-N"
	default:
		return append(b, fmt.Sprintf("# unknown op %d\n", o.Kind)...)
	}
	if o.Chain == "" {
		return append(b, cmd+"\n"...)
	}
	return append(b, cmd+" "+o.Chain+"\n"...)
}

// appendOne appends the lines a multiple op writes for chain c.
func (o *Op) appendOne(b []byte, c *Chain) []byte {
	switch o.Kind {
	case OpDeclare: // what appendDeclaration(b, c.Name, "", Counters{}) writes
		b = append(b, ':')
		b = append(b, c.Name...)
		return append(b, " - [0:0]\n"...)
	case OpDeleteChain:
		b = append(b, "-X "...)
		b = append(b, c.Name...)
		return append(b, '\n')
	}
	if lines, ok := c.restoreLines(); ok { // OpFill
		return append(b, lines...)
	}
	for spec := range c.specs() {
		b = appendChainRule(b, c.Name, spec)
	}
	return b
}

// appendChainRule appends "-A NAME spec".
func appendChainRule(b []byte, name, spec string) []byte {
	r := Rule{Chain: name, Spec: spec}
	return appendRule(b, "-A", &r, false)
}

// lineText returns line i (0-based) of the op, without its line end.
func (o *Op) lineText(i int) string {
	if !o.multi() {
		return string(trimNL(o.appendTo(nil)))
	}
	for _, c := range o.Chains {
		if o.Kind != OpFill {
			if i == 0 {
				return string(trimNL(o.appendOne(nil, c)))
			}
			i--
			continue
		}
		if i < c.NumRules() {
			r := c.Rules()[i]
			r.Chain = c.Name
			return r.String()
		}
		i -= c.NumRules()
	}
	return ""
}

// String returns a readable summary of what the payload would change, one
// line per change, e.g.
//
//	nat: + chain KUBE-SEP-XYZ (2 rules)
//	nat: ~ chain KUBE-SVC-ABC: 2 rules -> 3
//	nat: - chain KUBE-SEP-OLD (2 rules)
//	nat: + rule PREROUTING: -m comment --comment "kubernetes service portals" -j KUBE-SERVICES
//
// A payload that was parsed rather than computed by Diff lists its commands.
func (p *Payload) String() string {
	var b strings.Builder
	for _, t := range p.Tables {
		changes := t.Changes()
		if len(changes) == 0 {
			for i := range t.Ops {
				b.WriteString(t.Table + ": ")
				b.Write(t.Ops[i].appendTo(nil))
			}
			continue
		}
		for _, c := range changes {
			b.WriteString(t.Table + ": " + c.String() + "\n")
		}
	}
	if b.Len() == 0 {
		return "no changes\n"
	}
	return b.String()
}

// String returns the change as one line of the summary.
func (c Change) String() string {
	switch c.Kind {
	case ChainAdded:
		return fmt.Sprintf("+ chain %s (%s)", c.Chain, plural(c.NewRules, "rule"))
	case ChainRewritten:
		return fmt.Sprintf("~ chain %s: %s -> %d", c.Chain, plural(c.OldRules, "rule"), c.NewRules)
	case ChainDeleted:
		return fmt.Sprintf("- chain %s (%s)", c.Chain, plural(c.OldRules, "rule"))
	case ChainKept:
		return fmt.Sprintf("= chain %s kept: still referenced by %s", c.Chain, c.Rule)
	case RuleInserted:
		return fmt.Sprintf("+ rule %s: %s", c.Chain, c.Rule)
	case RuleDeleted:
		return fmt.Sprintf("- rule %s: %s", c.Chain, c.Rule)
	}
	return fmt.Sprintf("? %s", c.Chain)
}

func plural(n int, word string) string {
	if n == 1 {
		return "1 " + word
	}
	return strconv.Itoa(n) + " " + word + "s"
}
