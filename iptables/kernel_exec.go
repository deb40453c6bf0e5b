package iptables

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os/exec"
	"path/filepath"
	"strings"
	"unsafe"
)

// Variant is an iptables implementation: the legacy x_tables kernel API or
// the nf_tables-based one. They keep separate rules; use one per node.
type Variant string

const (
	// Legacy is iptables-legacy (x_tables; each restore replaces whole tables in the kernel).
	Legacy Variant = "legacy"
	// NFT is iptables-nft (the iptables syntax over nf_tables).
	NFT Variant = "nft"
)

// ExecOptions configure Exec.
type ExecOptions struct {
	// Variant selects iptables-legacy or iptables-nft; "" detects it
	// (see DetectVariant).
	Variant Variant
	// Run runs the commands; nil means LocalRunner. Use NetNSRunner to
	// work inside a network namespace.
	Run Runner
	// Counters makes Read ask for rule counters (iptables-save -c).
	Counters bool
	// Logger receives a debug line per command; nil discards.
	Logger *slog.Logger
}

// Exec is the real Kernel: it runs iptables-save and
// iptables-restore --noflush --wait (ip6tables-* for IPv6) of one variant.
type Exec struct {
	variant  Variant
	run      Runner
	counters bool
	log      *slog.Logger
}

// NewExec returns an Exec, detecting the variant when opts does not name one.
func NewExec(ctx context.Context, opts ExecOptions) (*Exec, error) {
	e := &Exec{variant: opts.Variant, run: opts.Run, counters: opts.Counters, log: opts.Logger}
	if e.run == nil {
		e.run = LocalRunner()
	}
	if e.log == nil {
		e.log = slog.New(slog.DiscardHandler)
	}
	if e.variant == "" {
		v, err := DetectVariant(ctx, e.run)
		if err != nil {
			return nil, err
		}
		e.variant = v
	}
	if e.variant != Legacy && e.variant != NFT {
		return nil, fmt.Errorf("unknown iptables variant %q", e.variant)
	}
	return e, nil
}

// Variant returns the variant in use.
func (e *Exec) Variant() Variant { return e.variant }

// Tool returns the command name of an iptables tool ("", "-save" or
// "-restore") of variant v for family f, e.g. "ip6tables-nft-restore".
func Tool(v Variant, f Family, suffix string) string {
	base := "iptables"
	if f == IPv6 {
		base = "ip6tables"
	}
	return base + "-" + string(v) + suffix
}

// DetectVariant picks the variant the node uses: the one whose
// iptables-save shows more rules (another agent such as kube-proxy may
// already have chosen), else the one the "iptables" command (the Debian
// alternative) points to, else nft when its tools exist.
func DetectVariant(ctx context.Context, run Runner) (Variant, error) {
	counts := map[Variant]int{}
	for _, v := range []Variant{Legacy, NFT} {
		if _, err := exec.LookPath(Tool(v, IPv4, "-save")); err != nil {
			counts[v] = -1
			continue
		}
		out, _, err := run(ctx, Tool(v, IPv4, "-save"), nil, nil)
		if err == nil {
			counts[v] = strings.Count(string(out), "\n-A ")
		}
	}
	switch {
	case counts[Legacy] < 0 && counts[NFT] < 0:
		return "", fmt.Errorf("neither iptables-legacy-save nor iptables-nft-save found")
	case counts[Legacy] > counts[NFT]:
		return Legacy, nil
	case counts[NFT] > counts[Legacy]:
		return NFT, nil
	}
	if p, err := exec.LookPath("iptables"); err == nil {
		if target, err := filepath.EvalSymlinks(p); err == nil && strings.Contains(filepath.Base(target), "legacy") {
			return Legacy, nil
		}
	}
	return NFT, nil
}

// Read implements Kernel with iptables-save (one run per named table).
func (e *Exec) Read(ctx context.Context, f Family, tables ...string) (*Ruleset, error) {
	runs := [][]string{nil}
	if len(tables) > 0 {
		runs = runs[:0]
		for _, t := range tables {
			runs = append(runs, []string{"-t", t})
		}
	}
	rs := NewRuleset(f)
	for _, args := range runs {
		if e.counters {
			args = append(args, "-c")
		}
		out, err := e.exec(ctx, Tool(e.variant, f, "-save"), args, nil)
		if err != nil {
			return nil, err
		}
		part, err := parseOwned(f, out)
		if err != nil {
			return nil, fmt.Errorf("parse %s output: %w", Tool(e.variant, f, "-save"), err)
		}
		for _, t := range part.tables {
			rs.SetTable(t)
		}
	}
	for _, name := range tables {
		if rs.Table(name) == nil { // iptables-nft-save prints nothing for a table that does not exist yet
			rs.SetTable(newStandardTable(name))
		}
	}
	return rs, nil
}

// parseOwned parses a buffer nobody else holds without copying it.
func parseOwned(f Family, b []byte) (*Ruleset, error) {
	if len(b) == 0 {
		return NewRuleset(f), nil
	}
	return ParseString(f, unsafe.String(&b[0], len(b)))
}

// HasChain implements Kernel with "iptables -t table -S chain".
func (e *Exec) HasChain(ctx context.Context, f Family, table, chain string) (bool, error) {
	_, err := e.exec(ctx, Tool(e.variant, f, ""), []string{"-w", "-t", table, "-S", chain}, nil)
	if err == nil {
		return true, nil
	}
	if re, ok := err.(*RestoreError); ok && strings.Contains(re.Stderr, "No chain") {
		return false, nil
	}
	// iptables-nft refuses to list a chain of a table that does not exist
	// ("incompatible"); read the table to tell.
	rs, readErr := e.Read(ctx, f, table)
	if readErr != nil {
		return false, errors.Join(err, readErr)
	}
	return rs.Table(table).Chain(chain) != nil, nil
}

// exec runs one command with stdin written by in (nil for none), which
// can be written more than once, and turns a failure into a *RestoreError.
func (e *Exec) exec(ctx context.Context, name string, args []string, in io.WriterTo) ([]byte, error) {
	var stdin io.Reader
	var stream *streamReader
	switch in := in.(type) {
	case nil:
	case textInput:
		stdin = bytes.NewReader(in)
	default:
		stream = &streamReader{src: in}
		stdin = stream
	}
	out, errOut, err := e.run(ctx, name, args, stdin)
	if e.log.Enabled(ctx, slog.LevelDebug) {
		size := int64(0) // counted as the command read it: writing it out again to count it would render it twice
		if text, ok := in.(textInput); ok {
			size = int64(len(text))
		} else if stream != nil {
			size = stream.n
		}
		e.log.DebugContext(ctx, "iptables command", "cmd", name, "args", args, "stdin_bytes", size, "err", err)
	}
	if err != nil {
		return nil, newRestoreError(name, in, errOut, err)
	}
	return out, nil
}

// textInput is a command's input held as text.
type textInput []byte

// WriteTo writes the text.
func (t textInput) WriteTo(w io.Writer) (int64, error) {
	n, err := w.Write(t)
	return int64(n), err
}

// streamReader is the stdin of a command whose input is written on
// demand: WriteTo (which io.Copy, and so os/exec, uses) streams it from
// src; Read, for a Runner that reads, builds the text on first use.
type streamReader struct {
	src     io.WriterTo
	n       int64 // bytes handed to the command
	written bool  // WriteTo or Read has consumed src
	rest    *bytes.Reader
}

// WriteTo writes what has not been read yet.
func (s *streamReader) WriteTo(w io.Writer) (int64, error) {
	if s.rest != nil {
		n, err := s.rest.WriteTo(w)
		s.n += n
		return n, err
	}
	if s.written {
		return 0, nil
	}
	s.written = true
	n, err := s.src.WriteTo(w)
	s.n += n
	return n, err
}

// Read reads the text, building it on the first call.
func (s *streamReader) Read(p []byte) (int, error) {
	if s.rest == nil {
		if s.written {
			return 0, io.EOF
		}
		s.written = true
		var b bytes.Buffer
		if _, err := s.src.WriteTo(&b); err != nil {
			return 0, err
		}
		s.rest = bytes.NewReader(b.Bytes())
	}
	n, err := s.rest.Read(p)
	s.n += int64(n)
	return n, err
}
