package vmtest

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"path"
	"strings"
)

// Archive writes a cpio archive in the "newc" format that the Linux kernel
// unpacks as an initramfs. It creates missing parent directories on the fly
// (the kernel's unpacker does not), so entries may be added in any order as
// long as a directory is not added after a file below it with another mode.
//
// Names are slash-separated and relative to the root ("usr/bin/bash"); a
// leading "/" or "./" is removed. Errors are sticky: after the first failed
// write every later call returns that error.
type Archive struct {
	w    io.Writer
	n    int64 // bytes written so far
	ino  uint32
	dirs map[string]bool
	err  error
}

// NewArchive returns an Archive writing to w.
func NewArchive(w io.Writer) *Archive {
	return &Archive{w: w, ino: 1, dirs: map[string]bool{"": true, ".": true}}
}

// Len reports how many bytes have been written so far.
func (a *Archive) Len() int64 { return a.n }

// cpio mode bits (the kernel uses the classic stat layout).
const (
	modeDir     = 0o040000
	modeFile    = 0o100000
	modeSymlink = 0o120000
	modeChar    = 0o020000
)

// ErrBadName is returned for an entry name that is empty or escapes the root.
var ErrBadName = errors.New("vmtest: bad archive entry name")

func cleanName(name string) (string, error) {
	n := path.Clean("/" + strings.TrimPrefix(name, "./"))
	n = strings.TrimPrefix(n, "/")
	if n == "" || n == "." || strings.Contains(name, "\x00") {
		return "", fmt.Errorf("%w: %q", ErrBadName, name)
	}
	return n, nil
}

// AddDir adds a directory (and its missing parents).
func (a *Archive) AddDir(name string, perm fs.FileMode) error {
	n, err := cleanName(name)
	if err != nil {
		return err
	}
	return a.mkdirAll(n, perm)
}

// AddFile adds a regular file with the given permission bits and content.
func (a *Archive) AddFile(name string, perm fs.FileMode, data []byte) error {
	return a.AddFileFrom(name, perm, int64(len(data)), bytes.NewReader(data))
}

// AddFileFrom adds a regular file of exactly size bytes read from r.
func (a *Archive) AddFileFrom(name string, perm fs.FileMode, size int64, r io.Reader) error {
	n, err := a.prepare(name)
	if err != nil {
		return err
	}
	if size < 0 || size > 0xffffffff {
		return fmt.Errorf("vmtest: file %s: size %d out of range for cpio", n, size)
	}
	if err := a.header(n, modeFile|uint32(perm.Perm()), uint32(size), 0, 0); err != nil {
		return err
	}
	copied, err := io.CopyN(a, r, size)
	if err != nil {
		return a.fail(fmt.Errorf("vmtest: file %s: copied %d of %d bytes: %w", n, copied, size, err))
	}
	return a.pad()
}

// AddSymlink adds a symbolic link name pointing to target.
func (a *Archive) AddSymlink(name, target string) error {
	n, err := a.prepare(name)
	if err != nil {
		return err
	}
	if target == "" || strings.Contains(target, "\x00") {
		return fmt.Errorf("%w: symlink %s target %q", ErrBadName, n, target)
	}
	if err := a.header(n, modeSymlink|0o777, uint32(len(target)), 0, 0); err != nil {
		return err
	}
	if _, err := io.WriteString(a, target); err != nil {
		return err
	}
	return a.pad()
}

// AddCharDevice adds a character device node (for example /dev/console, 5:1).
func (a *Archive) AddCharDevice(name string, perm fs.FileMode, major, minor uint32) error {
	n, err := a.prepare(name)
	if err != nil {
		return err
	}
	return a.header(n, modeChar|uint32(perm.Perm()), 0, major, minor)
}

// Close writes the trailer and pads the archive to a multiple of 4 bytes. It
// does not close the underlying writer.
func (a *Archive) Close() error {
	if err := a.header("TRAILER!!!", 0, 0, 0, 0); err != nil {
		return err
	}
	return a.pad()
}

// Write implements io.Writer for the entry bodies; it counts bytes.
func (a *Archive) Write(p []byte) (int, error) {
	if a.err != nil {
		return 0, a.err
	}
	n, err := a.w.Write(p)
	a.n += int64(n)
	if err != nil {
		a.fail(fmt.Errorf("vmtest: writing archive: %w", err))
	}
	return n, a.err
}

func (a *Archive) fail(err error) error {
	if a.err == nil {
		a.err = err
	}
	return a.err
}

// prepare validates name and creates its parent directories.
func (a *Archive) prepare(name string) (string, error) {
	if a.err != nil {
		return "", a.err
	}
	n, err := cleanName(name)
	if err != nil {
		return "", err
	}
	return n, a.mkdirAll(path.Dir(n), 0o755)
}

func (a *Archive) mkdirAll(dir string, perm fs.FileMode) error {
	if a.dirs[dir] {
		return a.err
	}
	if err := a.mkdirAll(path.Dir(dir), 0o755); err != nil {
		return err
	}
	a.dirs[dir] = true
	return a.header(dir, modeDir|uint32(perm.Perm()), 0, 0, 0)
}

// header writes one newc header and the padded name.
func (a *Archive) header(name string, mode, size, rmajor, rminor uint32) error {
	if a.err != nil {
		return a.err
	}
	nlink := uint32(1)
	if mode&0o170000 == modeDir {
		nlink = 2
	}
	ino := a.ino
	a.ino++
	if name == "TRAILER!!!" {
		ino, nlink = 0, 1
	}
	// magic, ino, mode, uid, gid, nlink, mtime, filesize, devmajor, devminor,
	// rdevmajor, rdevminor, namesize (with the NUL), check.
	h := fmt.Sprintf("070701%08x%08x%08x%08x%08x%08x%08x%08x%08x%08x%08x%08x%08x",
		ino, mode, 0, 0, nlink, 0, size, 0, 0, rmajor, rminor, len(name)+1, 0)
	if _, err := io.WriteString(a, h+name+"\x00"); err != nil {
		return err
	}
	return a.pad()
}

// pad writes zeros up to the next multiple of 4.
func (a *Archive) pad() error {
	if r := a.n % 4; r != 0 {
		_, err := a.Write(make([]byte, 4-r))
		return err
	}
	return a.err
}

// PadTo writes zeros to w so that a stream that is n bytes long becomes a
// multiple of align bytes; it returns the number of zeros written. The kernel
// accepts zero padding between concatenated initramfs archives and needs each
// uncompressed archive to start at a multiple of 4.
func PadTo(w io.Writer, n, align int64) (int64, error) {
	if align <= 0 {
		return 0, fmt.Errorf("vmtest: alignment %d must be positive", align)
	}
	p := (align - n%align) % align
	if p == 0 {
		return 0, nil
	}
	_, err := w.Write(make([]byte, p))
	return p, err
}
