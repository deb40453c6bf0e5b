package iptables

import (
	"bytes"
	"errors"
	"io"
	"unsafe"
)

// restoreBufSize is the size of the buffer WriteTo formats commands into
// and flushes as it fills; kept restore lines at least half as long are
// written as they are, without a copy.
const restoreBufSize = 64 << 10

// restoreWriter writes iptables-restore text to w through a reusable
// buffer. With w nil it only appends to buf (how Bytes builds the text
// without a second copy).
type restoreWriter struct {
	w   io.Writer
	buf []byte
	n   int64 // bytes written to w
	err error // the first write error; later writes are skipped
}

// newRestoreWriter returns a writer to w with a buffer of restoreBufSize.
func newRestoreWriter(w io.Writer) *restoreWriter {
	return &restoreWriter{w: w, buf: make([]byte, 0, restoreBufSize+1024)}
}

// flush writes the buffer out.
func (rw *restoreWriter) flush() {
	if rw.w == nil || len(rw.buf) == 0 {
		return
	}
	if rw.err == nil {
		n, err := rw.w.Write(rw.buf)
		rw.n += int64(n)
		rw.err = err
	}
	rw.buf = rw.buf[:0]
}

// flushFull flushes the buffer once it holds restoreBufSize bytes.
func (rw *restoreWriter) flushFull() {
	if len(rw.buf) >= restoreBufSize {
		rw.flush()
	}
}

// text writes s: a long s goes to w as it is, a short one through the buffer.
func (rw *restoreWriter) text(s string) {
	if rw.w == nil || len(s) < restoreBufSize/2 {
		rw.buf = append(rw.buf, s...)
		rw.flushFull()
		return
	}
	rw.flush()
	if rw.err == nil {
		n, err := rw.w.Write(unsafe.Slice(unsafe.StringData(s), len(s))) // io.Writer must not modify it
		rw.n += int64(n)
		rw.err = err
	}
}

// result flushes and returns what WriteTo returns.
func (rw *restoreWriter) result() (int64, error) {
	rw.flush()
	return rw.n, rw.err
}

// WriteTo writes the payload to w as iptables-restore input, the text
// Bytes returns, without building it in memory: the restore lines Render
// kept for the chains an OpFill fills are written as they are, the other
// commands are formatted into a buffer of modest size that is written as
// it fills. It implements io.WriterTo.
func (p *Payload) WriteTo(w io.Writer) (int64, error) {
	rw := newRestoreWriter(w)
	for _, t := range p.Tables {
		t.write(rw, false)
	}
	return rw.result()
}

// Bytes returns the payload as iptables-restore input: for each table with
// commands, "*table", the commands, "COMMIT". Tables without commands are
// left out. Counters are printed only on declarations.
func (p *Payload) Bytes() []byte {
	size := 0
	for _, t := range p.Tables {
		size += t.size()
	}
	rw := &restoreWriter{buf: make([]byte, 0, size)}
	for _, t := range p.Tables {
		t.write(rw, false)
	}
	return rw.buf
}

// write writes the table's transaction, nothing when it has no commands.
// With nftBulk the table starts with a command that names no chain and
// declares its built-in chains with "-" (see Exec.restoreInput).
func (t *TablePayload) write(rw *restoreWriter, nftBulk bool) {
	if len(t.Ops) == 0 {
		return
	}
	rw.buf = append(rw.buf, '*')
	rw.buf = append(rw.buf, t.Table...)
	rw.buf = append(rw.buf, '\n')
	if nftBulk {
		rw.buf = append(rw.buf, "-S\n"...)
		for _, name := range BuiltinChains(t.Table) {
			for i := range t.Ops {
				if t.Ops[i].Chain == name {
					rw.buf = appendDeclaration(rw.buf, name, "", Counters{})
					break
				}
			}
		}
	}
	for i := range t.Ops {
		t.Ops[i].write(rw)
	}
	rw.buf = append(rw.buf, "COMMIT\n"...)
	rw.flushFull()
}

// write writes the op's lines.
func (o *Op) write(rw *restoreWriter) {
	if !o.multi() {
		rw.buf = o.appendTo(rw.buf)
		rw.flushFull()
		return
	}
	var run lineRun
	for _, c := range o.Chains {
		if o.Kind != OpFill {
			rw.buf = o.appendOne(rw.buf, c)
			rw.flushFull()
			continue
		}
		if lines, ok := c.restoreLines(); ok {
			if !run.extend(lines) {
				run.write(rw)
				run = lineRun{start: unsafe.StringData(lines), n: len(lines)}
			}
			continue
		}
		run.write(rw)
		run = lineRun{}
		for spec := range c.specs() {
			rw.buf = appendChainRule(rw.buf, c.Name, spec)
			rw.flushFull()
		}
	}
	run.write(rw)
}

// lineRun is the restore lines of consecutive chains that lie one after
// another in one text page, written as one string: the renderer writes a
// port's chains, and the ports of a chunk, in table order, so a full
// payload's 50 MB of lines go out in runs of up to a page (1 MiB) rather
// than copied chain by chain through the buffer. Lines that start where a
// run ends are in the run's page: every array of page text starts with a
// byte no text includes (see newPage).
type lineRun struct {
	start *byte
	n     int
}

// extend adds lines when they continue the run.
func (r *lineRun) extend(lines string) bool {
	// compared as integers: the run's end may be the end of its page
	if r.n == 0 || uintptr(unsafe.Pointer(unsafe.StringData(lines))) != uintptr(unsafe.Pointer(r.start))+uintptr(r.n) {
		return false
	}
	r.n += len(lines)
	return true
}

func (r *lineRun) write(rw *restoreWriter) {
	if r.n > 0 {
		rw.text(unsafe.String(r.start, r.n))
	}
}

// lineFinder is a writer that keeps line want (1-based) of the text
// written to it and stops the writing with errLineFound once it has it.
type lineFinder struct {
	want, line int
	text       []byte
}

// errLineFound stops a WriteTo into a lineFinder.
var errLineFound = errors.New("line found")

func (f *lineFinder) Write(p []byte) (int, error) {
	n := len(p)
	for len(p) > 0 {
		end := bytes.IndexByte(p, '\n')
		if end < 0 {
			end = len(p)
		}
		if f.line == f.want {
			f.text = append(f.text, p[:end]...)
			if end < len(p) {
				return 0, errLineFound
			}
		}
		if end == len(p) {
			break
		}
		f.line++
		p = p[end+1:]
	}
	return n, nil
}

// lineOf returns line n (1-based, without its line end) of the text src
// writes, "" when there is no such line.
func lineOf(src io.WriterTo, n int) string {
	if src == nil || n < 1 {
		return ""
	}
	f := &lineFinder{want: n, line: 1}
	_, _ = src.WriteTo(f)
	return string(f.text)
}
