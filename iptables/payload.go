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
	// OpFill is one "-A CHAIN spec" line for each rule of From, in order:
	// how Diff fills a chain it declared. From is shared, not copied.
	OpFill
)

// Op is one line of an iptables-restore payload.
type Op struct {
	Kind     OpKind
	Chain    string
	Rule     Rule     // OpAppend, OpInsert, OpDelete by spec (Rule.Chain == Chain)
	Pos      int      // OpInsert, OpDelete: 1-based position, 0 for none
	Policy   string   // OpDeclare ("" for a user chain), OpPolicy
	Counters Counters // OpDeclare
	From     *Chain   // OpFill: the rules to append
}

// lines returns the number of payload lines (and commands) of the op.
func (o *Op) lines() int {
	if o.Kind == OpFill {
		if o.From == nil {
			return 0
		}
		return len(o.From.Rules)
	}
	return 1
}

// TablePayload is the part of a payload for one table: one
// iptables-restore transaction ("*table" ... "COMMIT").
type TablePayload struct {
	Table   string
	Ops     []Op
	Changes []Change // what Diff changed, for the readable summary; empty for a parsed payload
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

// Bytes returns the payload as iptables-restore input: for each table with
// commands, "*table", the commands, "COMMIT". Tables without commands are
// left out. Counters are printed only on declarations.
func (p *Payload) Bytes() []byte {
	size := 0
	for _, t := range p.Tables {
		size += t.size()
	}
	b := make([]byte, 0, size)
	for _, t := range p.Tables {
		b = t.appendTo(b)
	}
	return b
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
		if o.Kind != OpFill {
			n += len(o.Chain) + len(o.Rule.Spec) + 32
		} else if o.From != nil {
			n += fillSize(o.Chain, o.From)
		}
	}
	return n
}

// fillSize is the length of an OpFill's lines.
func fillSize(chain string, from *Chain) int {
	if lines, ok := from.restoreLines(); ok && from.Name == chain {
		return len(lines)
	}
	n := 0
	for i := range from.Rules {
		n += len(chain) + len(from.Rules[i].Spec) + 5
	}
	return n
}

// appendFill appends an OpFill's lines: the chain's restore lines as one
// copy when the renderer kept them, else rule by rule.
func appendFill(b []byte, chain string, from *Chain) []byte {
	if lines, ok := from.restoreLines(); ok && from.Name == chain {
		return append(b, lines...)
	}
	for i := range from.Rules {
		r := from.Rules[i]
		r.Chain = chain
		b = appendRule(b, "-A", &r, false)
	}
	return b
}

func (t *TablePayload) appendTo(b []byte) []byte {
	if len(t.Ops) == 0 {
		return b
	}
	b = append(b, '*')
	b = append(b, t.Table...)
	b = append(b, '\n')
	return t.appendOps(b)
}

// appendOps appends the commands and "COMMIT".
func (t *TablePayload) appendOps(b []byte) []byte {
	for i := range t.Ops {
		b = t.Ops[i].appendTo(b)
	}
	return append(b, "COMMIT\n"...)
}

// appendTo appends the op as one iptables-restore line.
func (o *Op) appendTo(b []byte) []byte {
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
	case OpFill:
		if o.From == nil {
			return b
		}
		return appendFill(b, o.Chain, o.From)
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
		if len(t.Changes) == 0 {
			for i := range t.Ops {
				b.WriteString(t.Table + ": ")
				b.Write(t.Ops[i].appendTo(nil))
			}
			continue
		}
		for _, c := range t.Changes {
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
