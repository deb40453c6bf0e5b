package vmtest

import (
	"bytes"
	"errors"
	"os/exec"
	"strconv"
	"strings"
	"testing"
)

// entry is one parsed newc record.
type entry struct {
	name       string
	mode       uint32
	data       string
	rmaj, rmin uint32
	offset     int // where the header started
}

// readNewc parses a newc archive strictly: every header must start at a
// multiple of 4, every field must be hex, padding must be zeros.
func readNewc(t *testing.T, b []byte) []entry {
	t.Helper()
	var out []entry
	off := 0
	field := func(i int) uint32 {
		v, err := strconv.ParseUint(string(b[off+6+8*i:off+14+8*i]), 16, 32)
		if err != nil {
			t.Fatalf("header at %d field %d: %v", off, i, err)
		}
		return uint32(v)
	}
	skipPad := func(from int) int {
		to := (from + 3) &^ 3
		if to > len(b) || !bytes.Equal(b[from:to], make([]byte, to-from)) {
			t.Fatalf("bad padding at %d", from)
		}
		return to
	}
	for {
		if off%4 != 0 || off+110 > len(b) || string(b[off:off+6]) != "070701" {
			t.Fatalf("no header at %d (len %d)", off, len(b))
		}
		namesize, size := int(field(11)), int(field(6))
		nameEnd := off + 110 + namesize
		if b[nameEnd-1] != 0 {
			t.Fatalf("name at %d not NUL-terminated", off)
		}
		e := entry{name: string(b[off+110 : nameEnd-1]), mode: field(1), rmaj: field(9), rmin: field(10), offset: off}
		dataStart := skipPad(nameEnd)
		e.data = string(b[dataStart : dataStart+size])
		next := skipPad(dataStart + size)
		if e.name == "TRAILER!!!" {
			if next != len(b) {
				t.Fatalf("%d bytes after the trailer", len(b)-next)
			}
			return out
		}
		out = append(out, e)
		off = next
	}
}

func TestArchiveEntriesAndPadding(t *testing.T) {
	var buf bytes.Buffer
	a := NewArchive(&buf)
	steps := []error{
		a.AddFile("/usr/bin/hello", 0o755, []byte("hi!")),     // 3 bytes: needs 1 byte of padding
		a.AddFile("./etc/a", 0o644, []byte("four")),           // already aligned
		a.AddSymlink("bin", "usr/bin"),                        // target is the body
		a.AddCharDevice("dev/console", 0o600, 5, 1),           // no body
		a.AddDir("usr/bin", 0o755),                            // exists already: no entry
		a.AddFile("x/y/z", 0o600, bytes.Repeat([]byte{7}, 9)), // two implicit parents
		a.Close(),
	}
	if err := errors.Join(steps...); err != nil {
		t.Fatal(err)
	}
	if buf.Len()%4 != 0 || int64(buf.Len()) != a.Len() {
		t.Fatalf("archive length %d (Len %d) is not a multiple of 4", buf.Len(), a.Len())
	}
	var got []string
	for _, e := range readNewc(t, buf.Bytes()) {
		got = append(got, e.name+":"+strconv.FormatUint(uint64(e.mode), 8)+":"+e.data)
	}
	want := []string{
		"usr:40755:", "usr/bin:40755:", "usr/bin/hello:100755:hi!", "etc:40755:", "etc/a:100644:four",
		"bin:120777:usr/bin", "dev:40755:", "dev/console:20600:", "x:40755:", "x/y:40755:",
		"x/y/z:100600:" + strings.Repeat("\x07", 9),
	}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Fatalf("entries:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
}

func TestArchiveCharDeviceNumbers(t *testing.T) {
	var buf bytes.Buffer
	a := NewArchive(&buf)
	if err := errors.Join(a.AddCharDevice("dev/console", 0o600, 5, 1), a.Close()); err != nil {
		t.Fatal(err)
	}
	es := readNewc(t, buf.Bytes())
	if c := es[len(es)-1]; c.name != "dev/console" || c.rmaj != 5 || c.rmin != 1 {
		t.Fatalf("device entry %+v", c)
	}
}

func TestArchiveRejectsBadNames(t *testing.T) {
	a := NewArchive(&bytes.Buffer{})
	for _, name := range []string{"", "/", ".", "a\x00b"} {
		if err := a.AddFile(name, 0o644, nil); !errors.Is(err, ErrBadName) {
			t.Errorf("AddFile(%q) = %v, want ErrBadName", name, err)
		}
	}
	if err := a.AddSymlink("l", ""); !errors.Is(err, ErrBadName) {
		t.Errorf("empty symlink target: %v", err)
	}
	// "../x" is cleaned to "x": nothing escapes the root.
	if n, err := cleanName("../../x"); err != nil || n != "x" {
		t.Errorf("cleanName(../../x) = %q, %v", n, err)
	}
}

func TestArchiveShortReader(t *testing.T) {
	a := NewArchive(&bytes.Buffer{})
	err := a.AddFileFrom("f", 0o644, 10, strings.NewReader("short"))
	if err == nil {
		t.Fatal("no error for a reader shorter than the size")
	}
	if err2 := a.AddFile("g", 0o644, nil); err2 == nil {
		t.Fatal("archive accepted writes after a failure")
	}
}

type failWriter struct{ after int }

func (w *failWriter) Write(p []byte) (int, error) {
	if w.after < len(p) {
		return 0, errors.New("disk full")
	}
	w.after -= len(p)
	return len(p), nil
}

func TestArchiveWriteErrorIsSticky(t *testing.T) {
	a := NewArchive(&failWriter{after: 200})
	err := errors.Join(a.AddFile("a", 0o644, make([]byte, 100)), a.AddFile("b", 0o644, make([]byte, 100)))
	if err == nil || !strings.Contains(err.Error(), "disk full") {
		t.Fatalf("error %v, want disk full", err)
	}
	if err := a.Close(); err == nil {
		t.Fatal("Close succeeded after a write error")
	}
}

func TestPadTo(t *testing.T) {
	for _, tc := range []struct{ n, align, want int64 }{
		{0, 4, 0}, {1, 4, 3}, {4, 4, 0}, {5, 512, 507}, {1024, 512, 0}, {1023, 512, 1},
	} {
		var buf bytes.Buffer
		got, err := PadTo(&buf, tc.n, tc.align)
		if err != nil || got != tc.want || int64(buf.Len()) != tc.want || (tc.n+got)%tc.align != 0 {
			t.Errorf("PadTo(n=%d, align=%d) = %d, %v (wrote %d); want %d", tc.n, tc.align, got, err, buf.Len(), tc.want)
		}
		if bytes.Count(buf.Bytes(), []byte{0}) != buf.Len() {
			t.Errorf("padding is not zeros")
		}
	}
	if _, err := PadTo(&bytes.Buffer{}, 3, 0); err == nil {
		t.Error("PadTo accepted alignment 0")
	}
}

// An appended archive after a padded base must start at a multiple of 4 and
// parse on its own, which is what the kernel requires.
func TestAppendedArchiveAlignment(t *testing.T) {
	var buf bytes.Buffer
	buf.WriteString("compressed-base-stand-in") // 24 bytes, pretend gzip
	buf.WriteString("x")                        // 25: unaligned
	if _, err := PadTo(&buf, int64(buf.Len()), 512); err != nil {
		t.Fatal(err)
	}
	start := buf.Len()
	a := NewArchive(&buf)
	if err := errors.Join(a.AddFile("payload/bin", 0o755, []byte("ELF")), a.Close()); err != nil {
		t.Fatal(err)
	}
	if start != 512 {
		t.Fatalf("payload starts at %d, want 512", start)
	}
	es := readNewc(t, buf.Bytes()[start:])
	if es[len(es)-1].name != "payload/bin" || es[len(es)-1].data != "ELF" {
		t.Fatalf("entries %+v", es)
	}
}

// The archive is also what the cpio tool reads (GNU cpio on a host, busybox
// cpio in the VM).
func TestArchiveListedByCpioTool(t *testing.T) {
	if _, err := exec.LookPath("cpio"); err != nil {
		t.Skip("no cpio tool")
	}
	var buf bytes.Buffer
	a := NewArchive(&buf)
	if err := errors.Join(a.AddFile("a/b/c.txt", 0o644, []byte("x")), a.AddSymlink("l", "a"), a.Close()); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command("cpio", "-it")
	cmd.Stdin = &buf
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("cpio -it: %v\n%s", err, out)
	}
	var names []string
	for _, l := range strings.Split(strings.TrimSpace(string(out)), "\n") {
		if !strings.Contains(l, "block") { // GNU cpio's "1 block" summary
			names = append(names, l)
		}
	}
	if got := strings.Join(names, " "); got != "a a/b a/b/c.txt l" {
		t.Fatalf("cpio lists %q", got)
	}
}
