package iptables

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
)

// ParsePayload reads iptables-restore input (what Payload.Bytes prints, or
// any hand-written restore text) into a Payload of family f. It knows the
// commands ":CHAIN POLICY [p:b]", -A, -I, -D, -X, -F, -N and -P (short or
// long form), with optional "[p:b]" counters before a rule.
func ParsePayload(f Family, data []byte) (*Payload, error) {
	p := &Payload{Family: f}
	var cur *TablePayload
	err := forEachLine(string(data), func(n int, line string) error {
		line = strings.TrimSpace(line)
		var err error
		switch {
		case line == "" || line[0] == '#':
		case line[0] == '*':
			if cur != nil {
				err = fmt.Errorf("table %s: missing COMMIT", cur.Table)
			} else if name := strings.TrimSpace(line[1:]); name == "" || strings.ContainsAny(name, " \t") {
				err = fmt.Errorf("invalid table name %q", name)
			} else {
				cur = &TablePayload{Table: name}
			}
		case cur == nil:
			err = errOutsideTable
		case line == "COMMIT":
			p.Tables = append(p.Tables, cur)
			cur = nil
		default:
			var op Op
			if op, err = parseOp(line); err == nil {
				cur.Ops = append(cur.Ops, op)
			}
		}
		if err != nil {
			return &ParseError{Line: n, Text: line, Err: err}
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	if cur != nil {
		return nil, &ParseError{Line: strings.Count(string(data), "\n") + 1, Err: fmt.Errorf("table %s: missing COMMIT", cur.Table)}
	}
	return p, nil
}

// parseOp reads one command line.
func parseOp(line string) (Op, error) {
	if line[0] == ':' {
		f := strings.Fields(line[1:])
		if len(f) < 2 || len(f) > 3 {
			return Op{}, errors.New("chain declaration is not \":CHAIN POLICY [packets:bytes]\"")
		}
		op := Op{Kind: OpDeclare, Chain: f[0], Policy: f[1]}
		if op.Policy == "-" {
			op.Policy = ""
		}
		if len(f) == 3 {
			cnt, ok := parseCounters(f[2])
			if !ok {
				return Op{}, fmt.Errorf("invalid counters %q", f[2])
			}
			op.Counters = cnt
		}
		return op, checkChainName(op.Chain)
	}
	var cnt Counters
	hasCnt := false
	if line[0] == '[' {
		end := strings.IndexByte(line, ']')
		ok := end > 0
		if ok {
			cnt, ok = parseCounters(line[:end+1])
		}
		if !ok {
			return Op{}, errors.New("invalid counters")
		}
		hasCnt, line = true, strings.TrimLeft(line[end+1:], " \t")
	}
	cmd, rest := cutBlank(line)
	chain, spec := cutBlank(rest)
	op := Op{Chain: chain}
	switch cmd {
	case "-A", "--append":
		op.Kind = OpAppend
		return ruleOp(op, spec, cnt, hasCnt)
	case "-I", "--insert":
		op.Kind = OpInsert
		return ruleOp(op, spec, cnt, hasCnt)
	case "-D", "--delete":
		op.Kind = OpDelete
		return ruleOp(op, spec, cnt, hasCnt)
	case "-X", "--delete-chain", "-F", "--flush":
		op.Kind = OpDeleteChain
		if cmd == "-F" || cmd == "--flush" {
			op.Kind = OpFlush
		}
		if spec != "" {
			return Op{}, fmt.Errorf("unexpected arguments after %s %s", cmd, chain)
		}
		if chain == "" {
			return op, nil
		}
		return op, checkChainName(chain)
	case "-N", "--new-chain":
		op.Kind = OpNewChain
		return op, checkChainName(chain)
	case "-P", "--policy":
		op.Kind, op.Policy = OpPolicy, spec
		if spec == "" || strings.ContainsAny(spec, " \t") {
			return Op{}, fmt.Errorf("invalid policy %q", spec)
		}
		return op, nil
	}
	return Op{}, fmt.Errorf("%w %q", ErrBadOp, cmd)
}

// ruleOp finishes -A, -I [pos] and -D (spec or pos).
func ruleOp(op Op, spec string, cnt Counters, hasCnt bool) (Op, error) {
	if op.Kind != OpAppend {
		first, rest := cutBlank(spec)
		if n, err := strconv.Atoi(first); err == nil && first != "" && first[0] != '-' && first[0] != '+' {
			if op.Kind == OpDelete && rest != "" {
				return Op{}, errors.New("-D takes either a rule number or a rule")
			}
			if n < 1 {
				return Op{}, fmt.Errorf("%w: %d", ErrBadPosition, n)
			}
			op.Pos, spec = n, rest
			if op.Kind == OpDelete {
				return op, checkChainName(op.Chain)
			}
		}
	}
	r, err := ParseRule(op.Chain, spec)
	if err != nil {
		return Op{}, err
	}
	r.Counters, r.HasCounters = cnt, hasCnt
	op.Rule = r
	return op, nil
}
