package iptables

import (
	"io"
	"strconv"
)

// WriteTo writes rs as iptables-save text (without the "# Generated" and
// "# Completed" comments): for each table "*table", one ":CHAIN POLICY
// [packets:bytes]" line per chain ("-" as the policy of a user chain), the
// rules as "-A CHAIN args" (prefixed by "[packets:bytes] " when the rule
// has counters), and "COMMIT". iptables-restore accepts the text, and Parse
// reads it back to an equal Ruleset.
func (rs *Ruleset) WriteTo(w io.Writer) (int64, error) {
	n, err := w.Write(rs.Bytes())
	return int64(n), err
}

// Bytes returns rs as iptables-save text (see WriteTo).
func (rs *Ruleset) Bytes() []byte {
	size := 0
	for _, t := range rs.tables {
		size += len(t.Name) + 10
		for c := range t.chains.all() {
			size += len(c.Name) + 40
			if lines, ok := c.restoreLines(); ok {
				size += len(lines)
				continue
			}
			for i := range c.rules {
				size += len(c.rules[i].Chain) + len(c.rules[i].Spec) + 6
				if c.rules[i].HasCounters {
					size += 44
				}
			}
		}
	}
	b := make([]byte, 0, size)
	for _, t := range rs.tables {
		b = appendTable(b, t)
	}
	return b
}

// String returns rs as iptables-save text (see WriteTo).
func (rs *Ruleset) String() string { return string(rs.Bytes()) }

func appendTable(b []byte, t *Table) []byte {
	b = append(b, '*')
	b = append(b, t.Name...)
	b = append(b, '\n')
	chains := t.Chains()
	for _, c := range chains {
		b = appendDeclaration(b, c.Name, c.Policy, c.Counters)
	}
	for _, c := range chains {
		if lines, ok := c.restoreLines(); ok {
			b = append(b, lines...)
			continue
		}
		for i := range c.rules {
			b = appendRule(b, "-A", &c.rules[i], true)
		}
	}
	return append(b, "COMMIT\n"...)
}

// appendDeclaration appends ":NAME POLICY [p:b]\n".
func appendDeclaration(b []byte, name, policy string, cnt Counters) []byte {
	b = append(b, ':')
	b = append(b, name...)
	b = append(b, ' ')
	if policy == "" {
		b = append(b, '-')
	} else {
		b = append(b, policy...)
	}
	b = append(b, ' ')
	b = appendCounters(b, cnt)
	return append(b, '\n')
}

// appendRule appends "[p:b] CMD CHAIN SPEC\n" (counters only when asked
// for and present).
func appendRule(b []byte, cmd string, r *Rule, counters bool) []byte {
	if counters && r.HasCounters {
		b = appendCounters(b, r.Counters)
		b = append(b, ' ')
	}
	b = append(b, cmd...)
	b = append(b, ' ')
	b = append(b, r.Chain...)
	if r.Spec != "" {
		b = append(b, ' ')
		b = append(b, r.Spec...)
	}
	return append(b, '\n')
}

func appendCounters(b []byte, c Counters) []byte {
	b = append(b, '[')
	b = strconv.AppendUint(b, c.Packets, 10)
	b = append(b, ':')
	b = strconv.AppendUint(b, c.Bytes, 10)
	return append(b, ']')
}
