package iptables

import (
	"bytes"
	"context"
	"errors"
	"io"
	"strings"
	"testing"
	"unsafe"

	"github.com/proxykit/proxykit/internal/fixture"
)

// failAfter is a writer that accepts limit bytes and then fails.
type failAfter struct {
	limit int
	got   bytes.Buffer
}

var errWriteFailed = errors.New("write failed")

func (f *failAfter) Write(p []byte) (int, error) {
	if room := f.limit - f.got.Len(); len(p) > room {
		f.got.Write(p[:room])
		return room, errWriteFailed
	}
	return f.got.Write(p)
}

// TestPayloadWriteToError: WriteTo stops at the first failed write and
// reports what was written, a prefix of Bytes.
func TestPayloadWriteToError(t *testing.T) {
	p, err := Diff(NewRuleset(IPv4), mustParse(t, kubeDump(300, 3)), kube)
	if err != nil {
		t.Fatal(err)
	}
	want := p.Bytes()
	for _, limit := range []int{0, 100, restoreBufSize + 7, len(want) - 1} {
		w := &failAfter{limit: limit}
		n, err := p.WriteTo(w)
		if !errors.Is(err, errWriteFailed) || n != int64(limit) || !bytes.HasPrefix(want, w.got.Bytes()) {
			t.Fatalf("limit %d: wrote %d (%v)", limit, n, err)
		}
	}
	if n, err := p.WriteTo(&failAfter{limit: len(want)}); err != nil || n != int64(len(want)) {
		t.Fatalf("exact room: %d, %v", n, err)
	}
}

// TestLineOf: the line finder returns the line a tool names, across the
// buffer's flushes, and "" past the end.
func TestLineOf(t *testing.T) {
	p, err := Diff(NewRuleset(IPv4), mustParse(t, kubeDump(300, 3)), kube)
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(string(p.Bytes()), "\n")
	for _, n := range []int{1, 2, len(lines) / 3, len(lines) - 1, len(lines), len(lines) + 1} {
		want := ""
		if n <= len(lines) {
			want = lines[n-1]
		}
		if got := lineOf(p, n); got != want {
			t.Fatalf("line %d: %q, want %q", n, got, want)
		}
	}
}

// TestExecStreamsRestoreInput: a Runner receives the restore input as a
// reader that streams through WriteTo and also reads like any reader, and a
// failure names the text of the line the tool blamed.
func TestExecStreamsRestoreInput(t *testing.T) {
	p, err := Diff(NewRuleset(IPv4), mustParse(t, kubeDump(300, 3)), kube)
	if err != nil {
		t.Fatal(err)
	}
	want := string(p.Only(TableNat).Bytes())
	for name, read := range map[string]func(io.Reader) ([]byte, error){
		"io.Copy": func(r io.Reader) ([]byte, error) {
			if _, ok := r.(io.WriterTo); !ok {
				t.Fatal("stdin is no io.WriterTo")
			}
			var b bytes.Buffer
			_, err := io.Copy(&b, r)
			return b.Bytes(), err
		},
		"Read": func(r io.Reader) ([]byte, error) { return io.ReadAll(io.LimitReader(r, 1<<40)) },
	} {
		var got []byte
		run := func(_ context.Context, _ string, _ []string, stdin io.Reader) ([]byte, []byte, error) {
			var err error
			if got, err = read(stdin); err != nil {
				return nil, nil, err
			}
			return nil, []byte("iptables-restore: line 5 failed\n"), errors.New("exit status 1")
		}
		e, err := NewExec(context.Background(), ExecOptions{Variant: Legacy, Run: run})
		if err != nil {
			t.Fatal(err)
		}
		err = e.Apply(context.Background(), p.Only(TableNat))
		var re *RestoreError
		if !errors.As(err, &re) || re.Line != 5 || re.Text != strings.Split(want, "\n")[4] || re.Table != TableNat {
			t.Fatalf("%s: %v", name, err)
		}
		if string(got) != want {
			t.Fatalf("%s: stdin of %d bytes differs from the payload (%d bytes)", name, len(got), len(want))
		}
	}
}

// fillRuns counts the runs (see lineRun) the fill ops of p write the kept
// lines in.
func fillRuns(p *Payload) (runs, chains int) {
	for _, tp := range p.Tables {
		for _, o := range tp.Ops {
			if o.Kind != OpFill {
				continue
			}
			var run lineRun
			for _, c := range o.Chains {
				chains++
				if lines, ok := c.restoreLines(); ok && !run.extend(lines) {
					runs++
					run = lineRun{start: unsafe.StringData(lines), n: len(lines)}
				}
			}
		}
	}
	return runs, chains
}

// TestWriteToRenderedRuns: the chains of a full render keep their restore
// lines one after another, in table order, so that the payload writes them
// in a few runs rather than chain by chain; and the text is what their
// rules spell one by one.
func TestWriteToRenderedRuns(t *testing.T) {
	_, plan := fixture.Plan(t, 2000, 10)
	rs, err := Render(plan, IPv4, RenderOptions{})
	if err != nil {
		t.Fatal(err)
	}
	plain := NewRuleset(IPv4) // the same chains without their kept lines
	for _, tb := range rs.Tables() {
		pt := plain.EnsureTable(tb.Name)
		for _, c := range tb.Chains() {
			pt.SetChain(c.withRules(c.Rules()))
		}
	}
	p, err := Diff(NewRuleset(IPv4), rs, kube)
	if err != nil {
		t.Fatal(err)
	}
	want, err := Diff(NewRuleset(IPv4), plain, kube)
	if err != nil {
		t.Fatal(err)
	}
	var got bytes.Buffer
	if _, err := p.WriteTo(&got); err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got.Bytes(), want.Bytes()) {
		t.Fatal("WriteTo of the rendered chains differs from their rules written one by one")
	}
	if runs, chains := fillRuns(p); runs > chains/20 {
		t.Errorf("the lines of %d chains go out in %d runs", chains, runs)
	}
}
