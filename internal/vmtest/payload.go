package vmtest

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"strings"
)

// ErrBadRunOptions is wrapped by every error about invalid RunOptions.
var ErrBadRunOptions = errors.New("vmtest: bad run options")

var (
	envKeyRE = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]*$`)
	moduleRE = regexp.MustCompile(`^[A-Za-z0-9_-]+$`)
)

func (o *RunOptions) validate() error {
	if o.Binary == "" {
		return fmt.Errorf("%w: no Binary", ErrBadRunOptions)
	}
	for _, a := range o.Args {
		if strings.ContainsAny(a, "\n\x00") {
			return fmt.Errorf("%w: argument %q contains a newline or NUL", ErrBadRunOptions, a)
		}
	}
	for _, kv := range o.Env {
		k, _, ok := strings.Cut(kv, "=")
		if !ok || !envKeyRE.MatchString(k) || strings.Contains(kv, "\x00") {
			return fmt.Errorf("%w: environment entry %q is not KEY=value", ErrBadRunOptions, kv)
		}
	}
	for _, m := range o.Modules {
		if !moduleRE.MatchString(m) {
			return fmt.Errorf("%w: module name %q", ErrBadRunOptions, m)
		}
	}
	for _, d := range append([]string{o.Dir}, o.CopyDirs...) {
		if d != "" && (!filepath.IsAbs(d) || strings.ContainsAny(d, "\n\x00")) {
			return fmt.Errorf("%w: directory %q must be an absolute path", ErrBadRunOptions, d)
		}
	}
	return nil
}

// newNonce returns a random token that marks this run's console lines.
func newNonce() (string, error) {
	b := make([]byte, 8)
	if _, err := rand.Read(b); err != nil {
		return "", fmt.Errorf("vmtest: %w", err)
	}
	return hex.EncodeToString(b), nil
}

// shellQuote quotes s for a POSIX shell.
func shellQuote(s string) string { return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'" }

// writeRunImage writes base followed by an uncompressed payload archive to
// dst. base must already be padded to a multiple of 4 bytes (it is 512).
func (img *Image) writeRunImage(ctx context.Context, dst, nonce string, o *RunOptions) error {
	f, err := os.Create(dst)
	if err != nil {
		return fmt.Errorf("vmtest: %w", err)
	}
	defer f.Close()
	base, err := os.Open(img.Initramfs)
	if err != nil {
		return fmt.Errorf("vmtest: %w", err)
	}
	n, err := io.Copy(f, base)
	base.Close()
	if err != nil {
		return fmt.Errorf("vmtest: copying base initramfs: %w", err)
	}
	if _, err := PadTo(f, n, 4); err != nil {
		return fmt.Errorf("vmtest: %w", err)
	}
	if err := img.writePayload(ctx, NewArchive(f), nonce, o); err != nil {
		return err
	}
	return f.Close()
}

// writePayload adds /payload/{bin,args,env,dir,nonce,modules}, the binary's
// shared libraries that the base lacks, and the CopyDirs.
func (img *Image) writePayload(ctx context.Context, a *Archive, nonce string, o *RunOptions) error {
	b := newBuilder(ctx, img.logger, a)
	for name := range img.files {
		b.files[name] = true // already in the base archive
	}
	if err := b.addHostFile("payload/bin", o.Binary); err != nil {
		return err
	}
	libs, err := sharedLibs(ctx, o.Binary)
	if err != nil {
		return err
	}
	for _, l := range libs {
		if err := b.addHostFile(archivePath(l), l); err != nil {
			return err
		}
	}
	var env strings.Builder
	for _, kv := range o.Env {
		k, v, _ := strings.Cut(kv, "=")
		fmt.Fprintf(&env, "export %s=%s\n", k, shellQuote(v))
	}
	small := map[string]string{"nonce": nonce + "\n", "env": env.String(), "dir": o.Dir + "\n"}
	if len(o.Args) > 0 {
		small["args"] = strings.Join(o.Args, "\n") + "\n"
	}
	if len(o.Modules) > 0 {
		small["modules"] = strings.Join(o.Modules, "\n") + "\n"
	}
	for name, body := range small {
		if err := a.AddFile("payload/"+name, 0o644, []byte(body)); err != nil {
			return err
		}
	}
	for _, d := range o.CopyDirs {
		if err := addTree(a, d); err != nil {
			return err
		}
	}
	return a.Close()
}

// addTree copies the host directory dir (files, directories, symlinks) to the
// same absolute path in the archive.
func addTree(a *Archive, dir string) error {
	return filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return fmt.Errorf("vmtest: copying %s: %w", dir, err)
		}
		info, err := d.Info()
		if err != nil {
			return fmt.Errorf("vmtest: %w", err)
		}
		switch {
		case d.IsDir():
			return a.AddDir(p, info.Mode().Perm())
		case info.Mode()&fs.ModeSymlink != 0:
			target, err := os.Readlink(p)
			if err != nil {
				return fmt.Errorf("vmtest: %w", err)
			}
			return a.AddSymlink(p, target)
		case info.Mode().IsRegular():
			f, err := os.Open(p)
			if err != nil {
				return fmt.Errorf("vmtest: %w", err)
			}
			defer f.Close()
			return a.AddFileFrom(p, info.Mode().Perm(), info.Size(), f)
		}
		return nil // sockets, devices: skipped
	})
}
