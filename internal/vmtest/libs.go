package vmtest

import (
	"bufio"
	"bytes"
	"context"
	"debug/elf"
	"errors"
	"fmt"
	"os/exec"
	"path"
	"strings"
)

// isDynamic reports whether the ELF file at p asks for a program interpreter
// (is dynamically linked). A file that is not ELF (a script) is not.
func isDynamic(p string) (bool, error) {
	f, err := elf.Open(p)
	var formatErr *elf.FormatError
	if errors.As(err, &formatErr) {
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("vmtest: reading ELF %s: %w", p, err)
	}
	defer f.Close()
	for _, prog := range f.Progs {
		if prog.Type == elf.PT_INTERP {
			return true, nil
		}
	}
	return false, nil
}

// sharedLibs returns the absolute paths of the shared objects (and the
// dynamic loader) that the ELF file p loads, as resolved by ldd on the host.
// A static file has none.
func sharedLibs(ctx context.Context, p string) ([]string, error) {
	dyn, err := isDynamic(p)
	if err != nil || !dyn {
		return nil, err
	}
	var stderr bytes.Buffer
	cmd := exec.CommandContext(ctx, "ldd", p)
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		return nil, fmt.Errorf("vmtest: ldd %s: %w: %s", p, err, strings.TrimSpace(stderr.String()))
	}
	return parseLdd(out)
}

// parseLdd extracts library paths from ldd's output. Lines look like
//
//	libc.so.6 => /lib/x86_64-linux-gnu/libc.so.6 (0x...)
//	/lib64/ld-linux-x86-64.so.2 (0x...)
//	linux-vdso.so.1 (0x...)
//
// A library ldd could not find ("=> not found") is an error.
func parseLdd(out []byte) ([]string, error) {
	var libs []string
	sc := bufio.NewScanner(bytes.NewReader(out))
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		name, target, arrow := strings.Cut(line, "=>")
		if arrow {
			target = strings.TrimSpace(target)
			if strings.HasPrefix(target, "not found") {
				return nil, fmt.Errorf("vmtest: shared library %s not found on the host", strings.TrimSpace(name))
			}
		} else {
			target = line
		}
		if f := strings.Fields(target); len(f) > 0 && path.IsAbs(f[0]) {
			libs = append(libs, f[0])
		}
	}
	return libs, sc.Err()
}

// archivePath maps a host path to its place in the initramfs, which uses the
// merged-/usr layout (/bin, /sbin, /lib and /lib64 are symlinks into /usr).
func archivePath(hostPath string) string {
	p := path.Clean(hostPath)
	for _, d := range []string{"/bin", "/sbin", "/lib", "/lib64"} {
		if p == d || strings.HasPrefix(p, d+"/") {
			p = "/usr" + p
			break
		}
	}
	return strings.TrimPrefix(p, "/")
}
