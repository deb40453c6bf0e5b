package vmtest

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
)

// metaPackage is Debian's kernel metapackage; it depends on the current image.
const metaPackage = "linux-image-amd64"

var pkgNameRE = regexp.MustCompile(`^linux-image-[0-9][A-Za-z0-9.+~-]*$`)

// run executes name with args (no shell) in dir and returns its stdout; the
// error carries stderr.
func run(ctx context.Context, dir, name string, args ...string) ([]byte, error) {
	var stderr bytes.Buffer
	cmd := exec.CommandContext(ctx, name, args...)
	cmd.Dir = dir
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		return out, fmt.Errorf("%s %s: %w: %s", name, strings.Join(args, " "), err, strings.TrimSpace(stderr.String()))
	}
	return out, nil
}

// parseDepends finds the kernel image package in `apt-cache depends` output.
func parseDepends(out []byte) (string, bool) {
	sc := bufio.NewScanner(bytes.NewReader(out))
	for sc.Scan() {
		f := strings.Fields(strings.TrimSpace(sc.Text()))
		if len(f) == 2 && strings.TrimPrefix(f[0], "|") == "Depends:" && pkgNameRE.MatchString(f[1]) {
			return f[1], true
		}
	}
	return "", false
}

// aptHasLists reports whether apt has downloaded any package index.
func aptHasLists() bool {
	m, _ := filepath.Glob(filepath.Join(aptListsDir, "*_Packages*"))
	return len(m) > 0
}

// kernelPackage returns the Debian kernel image package to boot: the
// EnvKernelPkg override, or what linux-image-amd64 depends on. It runs
// `apt-get update` only when apt has no package lists at all.
func kernelPackage(ctx context.Context, logger *slog.Logger, cache string) (string, error) {
	if p := strings.TrimSpace(os.Getenv(EnvKernelPkg)); p != "" {
		if !pkgNameRE.MatchString(p) {
			return "", fmt.Errorf("vmtest: %s=%q is not a linux-image-* package name", EnvKernelPkg, p)
		}
		return p, nil
	}
	if _, err := exec.LookPath("apt-cache"); err != nil {
		return "", &UnavailableError{What: "apt-cache not on PATH (not Debian?)", Err: err}
	}
	if !aptHasLists() {
		logger.Info("vmtest: apt has no package lists, running apt-get update")
		if _, err := run(ctx, "", "apt-get", "update"); err != nil {
			return "", &UnavailableError{What: "apt-get update", Err: err}
		}
	}
	if p, ok := cachedResolution(cache, aptListsDir); ok {
		return p, nil
	}
	out, err := run(ctx, "", "apt-cache", "depends", metaPackage)
	if err != nil {
		return "", &UnavailableError{What: "resolving " + metaPackage, Err: err}
	}
	p, ok := parseDepends(out)
	if !ok {
		return "", &UnavailableError{What: metaPackage + " has no linux-image dependency in apt's lists"}
	}
	_ = os.WriteFile(filepath.Join(cache, resolvedFile), []byte(p+"\n"), 0o644)
	return p, nil
}

// resolvedFile remembers what linux-image-amd64 depended on, so that warm
// runs skip apt-cache (about half a second).
const resolvedFile = "resolved-" + metaPackage

// aptListsDir is where apt keeps its package lists; apt-get update changes
// its modification time.
const aptListsDir = "/var/lib/apt/lists"

// cachedResolution returns the remembered package if it is newer than apt's lists.
func cachedResolution(cache, listsDir string) (string, bool) {
	rf := filepath.Join(cache, resolvedFile)
	st, err := os.Stat(rf)
	lists, lerr := os.Stat(listsDir)
	if err != nil || lerr != nil || !st.ModTime().After(lists.ModTime()) {
		return "", false
	}
	b, err := os.ReadFile(rf)
	p := strings.TrimSpace(string(b))
	return p, err == nil && pkgNameRE.MatchString(p)
}

// downloadDeb fetches pkg's .deb into dir (kept there as the download cache)
// and returns its path. Other kernel .debs in dir are removed.
func downloadDeb(ctx context.Context, logger *slog.Logger, dir, pkg string) (string, error) {
	if m, _ := filepath.Glob(filepath.Join(dir, pkg+"_*.deb")); len(m) > 0 {
		return m[0], nil
	}
	if _, err := exec.LookPath("apt-get"); err != nil {
		return "", &UnavailableError{What: "apt-get not on PATH", Err: err}
	}
	tmp, err := os.MkdirTemp(dir, "download-")
	if err != nil {
		return "", fmt.Errorf("vmtest: %w", err)
	}
	defer os.RemoveAll(tmp)
	logger.Info("vmtest: downloading kernel package", "package", pkg)
	if _, err := run(ctx, tmp, "apt-get", "download", pkg); err != nil {
		return "", &UnavailableError{What: "downloading the kernel package", Err: err}
	}
	m, _ := filepath.Glob(filepath.Join(tmp, pkg+"_*.deb"))
	if len(m) != 1 {
		return "", fmt.Errorf("vmtest: apt-get download %s produced %d .deb files", pkg, len(m))
	}
	old, _ := filepath.Glob(filepath.Join(dir, "linux-image-*.deb"))
	for _, o := range old {
		_ = os.Remove(o)
	}
	final := filepath.Join(dir, filepath.Base(m[0]))
	if err := os.Rename(m[0], final); err != nil {
		return "", fmt.Errorf("vmtest: %w", err)
	}
	return final, nil
}

// extractKernel unpacks deb into root with dpkg -x, runs depmod on it, and
// returns the kernel version and its modules directory.
func extractKernel(ctx context.Context, deb, root string) (kver, modDir string, err error) {
	if _, err := exec.LookPath("dpkg"); err != nil {
		return "", "", &UnavailableError{What: "dpkg not on PATH", Err: err}
	}
	if _, err := run(ctx, "", "dpkg", "-x", deb, root); err != nil {
		return "", "", fmt.Errorf("vmtest: %w", err)
	}
	for _, base := range []string{"lib/modules", "usr/lib/modules"} {
		entries, _ := os.ReadDir(filepath.Join(root, base))
		for _, e := range entries {
			if e.IsDir() {
				kver, modDir = e.Name(), filepath.Join(root, base, e.Name())
			}
		}
		if kver != "" {
			break
		}
	}
	if kver == "" {
		return "", "", fmt.Errorf("vmtest: %s has no lib/modules/<version>", filepath.Base(deb))
	}
	if _, err := exec.LookPath("depmod"); err != nil {
		return "", "", &UnavailableError{What: "depmod not on PATH (install kmod)", Err: err}
	}
	// depmod -b wants the directory that contains lib/modules.
	base := strings.TrimSuffix(filepath.Dir(filepath.Dir(modDir)), "/lib")
	if _, err := run(ctx, "", "depmod", "-b", base, kver); err != nil {
		return "", "", fmt.Errorf("vmtest: %w", err)
	}
	if _, err := os.Stat(filepath.Join(modDir, "modules.dep")); err != nil {
		return "", "", errors.Join(fmt.Errorf("vmtest: depmod wrote no modules.dep"), err)
	}
	return kver, modDir, nil
}
