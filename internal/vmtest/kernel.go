package vmtest

import (
	"bytes"
	"context"
	"debug/elf"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
)

// xenPVHNote is XEN_ELFNOTE_PHYS32_ENTRY: with it qemu boots an uncompressed
// ELF vmlinux directly (PVH), skipping the bzImage decompressor, which takes
// seconds under TCG.
const xenPVHNote = 18

// kernelCompressions are the bzImage payload formats we can unpack with a
// host tool: magic bytes and the command that decompresses one stream.
var kernelCompressions = []struct {
	magic []byte
	cmd   []string
}{
	{[]byte{0xfd, '7', 'z', 'X', 'Z', 0x00}, []string{"xz", "-dc", "--single-stream"}},
	{[]byte{0x28, 0xb5, 0x2f, 0xfd}, []string{"zstd", "-dc"}},
}

// extractVmlinux writes the ELF kernel inside the bzImage src to dst and
// checks that qemu can boot it with PVH. On any failure it removes dst and
// returns an error; the caller then boots the bzImage.
func extractVmlinux(ctx context.Context, src, dst string) error {
	data, err := os.ReadFile(src)
	if err != nil {
		return fmt.Errorf("vmtest: %w", err)
	}
	err = errors.New("vmtest: no known compressed kernel in " + src)
	for _, c := range kernelCompressions {
		off := bytes.Index(data, c.magic)
		if off < 0 {
			continue
		}
		if err = decompressTo(ctx, c.cmd, data[off:], dst); err == nil {
			if err = checkPVH(dst); err == nil {
				return nil
			}
		}
	}
	os.Remove(dst)
	return err
}

func decompressTo(ctx context.Context, argv []string, in []byte, dst string) error {
	out, err := os.Create(dst)
	if err != nil {
		return fmt.Errorf("vmtest: %w", err)
	}
	defer out.Close()
	var stderr bytes.Buffer
	cmd := exec.CommandContext(ctx, argv[0], argv[1:]...)
	cmd.Stdin, cmd.Stdout, cmd.Stderr = bytes.NewReader(in), out, &stderr
	// zstd fails on the bytes after its stream (xz is told to ignore them);
	// for zstd the ELF check decides.
	if err := cmd.Run(); err != nil && argv[0] != "zstd" {
		return fmt.Errorf("vmtest: %s: %w: %s", argv[0], err, stderr.String())
	}
	return out.Close()
}

// checkPVH reports an error unless p is an ELF file with a Xen PVH entry note.
func checkPVH(p string) error {
	f, err := elf.Open(p)
	if err != nil {
		return fmt.Errorf("vmtest: extracted kernel: %w", err)
	}
	defer f.Close()
	for _, prog := range f.Progs {
		if prog.Type != elf.PT_NOTE {
			continue
		}
		notes, err := io.ReadAll(prog.Open())
		if err != nil {
			return fmt.Errorf("vmtest: extracted kernel notes: %w", err)
		}
		if hasNote(notes, f.ByteOrder, "Xen", xenPVHNote) {
			return nil
		}
	}
	return errors.New("vmtest: extracted kernel has no PVH entry note")
}

// hasNote scans an ELF note segment for a note with this name and type.
func hasNote(b []byte, bo binary.ByteOrder, name string, typ uint32) bool {
	align := func(n uint32) int { return int((n + 3) &^ 3) }
	for len(b) >= 12 {
		namesz, descsz, t := bo.Uint32(b[0:]), bo.Uint32(b[4:]), bo.Uint32(b[8:])
		b = b[12:]
		if align(namesz) > len(b) {
			return false
		}
		n := string(bytes.TrimRight(b[:namesz], "\x00"))
		b = b[align(namesz):]
		if align(descsz) > len(b) {
			return false
		}
		b = b[align(descsz):]
		if n == name && t == typ {
			return true
		}
	}
	return false
}
