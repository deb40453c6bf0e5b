package vmtest

import (
	"bufio"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"time"
)

// Image is a prepared VM: a kernel and a base initramfs in the cache.
type Image struct {
	Dir           string // cache directory of this image
	Kernel        string // path of the kernel: an ELF vmlinux booted with PVH, or the bzImage
	Initramfs     string // path of the base initramfs (uncompressed cpio, padded to 512 bytes)
	KernelPackage string // Debian package it came from
	KernelVersion string // uname -r inside the VM

	files  map[string]bool // regular files and symlinks in the base initramfs
	logger *slog.Logger
}

// Files in an image directory.
const (
	bzImageFile   = "vmlinuz"
	vmlinuxFile   = "vmlinux"
	initramfsFile = "initramfs.cpio"
	manifestFile  = "manifest.txt"  // archive paths, one per line
	versionFile   = "kernelversion" // uname -r
	readyFile     = "ready"         // written last: the image is complete
)

// recipeVersion is bumped whenever the way an image is built changes in a
// way that recipeHash does not see (builder code rather than its lists).
const recipeVersion = "5"

// recipeHash identifies what goes into the initramfs, so that a change to the
// harness builds a new image instead of reusing a stale one.
func recipeHash() string {
	h := sha256.New()
	for _, part := range [][]string{{recipeVersion}, moduleDirs, moduleFiles, bootModules, hostTools, {initScript}} {
		fmt.Fprintf(h, "%q\n", part)
	}
	return hex.EncodeToString(h.Sum(nil))[:12]
}

// Prepare returns the cached VM image for the current Debian kernel package,
// building it first if needed (about 15 s with the download). Concurrent
// callers, in this or other processes, build it once: they serialize on a
// file lock and the image directory appears by atomic rename. logger may be nil.
func Prepare(ctx context.Context, logger *slog.Logger) (*Image, error) {
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	if _, err := exec.LookPath(qemuBinary); err != nil {
		return nil, &UnavailableError{What: qemuBinary + " not on PATH (install qemu-system-x86)", Err: err}
	}
	cache, err := cacheDir()
	if err != nil {
		return nil, err
	}
	pkg, err := kernelPackage(ctx, logger, cache)
	if err != nil {
		if img := newestCachedImage(cache, logger); img != nil {
			logger.Warn("vmtest: cannot resolve the kernel package, using a cached image", "err", err, "kernel", img.KernelVersion)
			return img, nil
		}
		return nil, err
	}
	dir := filepath.Join(cache, pkg+"-"+recipeHash())
	if img, err := loadImage(dir, pkg, logger); err == nil {
		return img, nil
	}
	unlock, err := lockFile(ctx, dir+".lock")
	if err != nil {
		return nil, err
	}
	defer unlock()
	if img, err := loadImage(dir, pkg, logger); err == nil {
		return img, nil // built by someone else while we waited
	}
	if err := buildImage(ctx, logger, cache, pkg, dir); err != nil {
		return nil, err
	}
	pruneCache(cache, dir)
	return loadImage(dir, pkg, logger)
}

// newestCachedImage returns the most recently built image of this recipe in
// the cache, or nil: the offline fallback when apt cannot answer.
func newestCachedImage(cache string, logger *slog.Logger) *Image {
	dirs, _ := filepath.Glob(filepath.Join(cache, "linux-image-*-"+recipeHash()))
	var best *Image
	var bestTime time.Time
	for _, d := range dirs {
		st, err := os.Stat(filepath.Join(d, readyFile))
		if err != nil || (best != nil && !st.ModTime().After(bestTime)) {
			continue
		}
		pkg := strings.TrimSuffix(filepath.Base(d), "-"+recipeHash())
		if img, err := loadImage(d, pkg, logger); err == nil {
			best, bestTime = img, st.ModTime()
		}
	}
	return best
}

// loadImage opens a complete image directory.
func loadImage(dir, pkg string, logger *slog.Logger) (*Image, error) {
	ready := filepath.Join(dir, readyFile)
	if _, err := os.Stat(ready); err != nil {
		return nil, err
	}
	now := time.Now()
	_ = os.Chtimes(ready, now, now) // last use, for pruneCache
	kver, err := os.ReadFile(filepath.Join(dir, versionFile))
	if err != nil {
		return nil, fmt.Errorf("vmtest: %w", err)
	}
	mf, err := os.Open(filepath.Join(dir, manifestFile))
	if err != nil {
		return nil, fmt.Errorf("vmtest: %w", err)
	}
	defer mf.Close()
	files := map[string]bool{}
	sc := bufio.NewScanner(mf)
	for sc.Scan() {
		files[sc.Text()] = true
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("vmtest: reading manifest: %w", err)
	}
	kernel := filepath.Join(dir, vmlinuxFile)
	if _, err := os.Stat(kernel); err != nil {
		kernel = filepath.Join(dir, bzImageFile)
	}
	return &Image{
		Dir: dir, Kernel: kernel, Initramfs: filepath.Join(dir, initramfsFile),
		KernelPackage: pkg, KernelVersion: strings.TrimSpace(string(kver)), files: files, logger: logger,
	}, nil
}

// buildImage downloads and unpacks the kernel and writes the image into a
// temporary directory that is renamed to dir when complete.
func buildImage(ctx context.Context, logger *slog.Logger, cache, pkg, dir string) error {
	start := time.Now()
	deb, err := downloadDeb(ctx, logger, cache, pkg)
	if err != nil {
		return err
	}
	tmp, err := os.MkdirTemp(cache, "build-")
	if err != nil {
		return fmt.Errorf("vmtest: %w", err)
	}
	defer os.RemoveAll(tmp)
	logger.Info("vmtest: unpacking kernel package", "deb", filepath.Base(deb), "elapsed", time.Since(start).Round(time.Millisecond))
	kver, modDir, err := extractKernel(ctx, deb, filepath.Join(tmp, "root"))
	if err != nil {
		return err
	}
	out := filepath.Join(tmp, "image")
	if err := os.Mkdir(out, 0o755); err != nil {
		return fmt.Errorf("vmtest: %w", err)
	}
	bz := filepath.Join(tmp, "root", "boot", "vmlinuz-"+kver)
	if err := extractVmlinux(ctx, bz, filepath.Join(out, vmlinuxFile)); err != nil {
		logger.Info("vmtest: booting the compressed kernel (slower)", "reason", err)
		if err := copyFile(bz, filepath.Join(out, bzImageFile)); err != nil {
			return err
		}
	}
	logger.Info("vmtest: building initramfs", "kernel", kver, "elapsed", time.Since(start).Round(time.Millisecond))
	files, nmods, err := writeInitramfs(ctx, logger, filepath.Join(out, initramfsFile), kver, modDir, tmp)
	if err != nil {
		return err
	}
	if err := writeMeta(out, kver, files); err != nil {
		return err
	}
	st, _ := os.Stat(filepath.Join(out, initramfsFile))
	if err := publishDir(out, dir); err != nil {
		return err
	}
	logger.Info("vmtest: VM image ready", "kernel", kver, "modules", nmods, "files", len(files),
		"initramfs_bytes", st.Size(), "dir", dir, "elapsed", time.Since(start).Round(time.Millisecond))
	return nil
}

// writeInitramfs writes the base archive, padded to 512 bytes so that a
// payload archive can be appended, and returns its file list. It is not
// compressed: under TCG the kernel takes seconds to gunzip it, and
// unpacking the plain archive takes a fraction of a second.
func writeInitramfs(ctx context.Context, logger *slog.Logger, dst, kver, modDir, scratch string) (map[string]bool, int, error) {
	f, err := os.Create(dst)
	if err != nil {
		return nil, 0, fmt.Errorf("vmtest: %w", err)
	}
	defer f.Close()
	bw := bufio.NewWriterSize(f, 1<<20)
	b := newBuilder(ctx, logger, NewArchive(bw))
	nmods := 0
	steps := []func() error{
		b.addSkeleton, b.addTools, b.addBusybox, b.addInit,
		func() (err error) { nmods, err = b.addModules(kver, modDir, scratch); return err },
		b.a.Close, bw.Flush,
	}
	for _, step := range steps {
		if err := step(); err != nil {
			return nil, 0, err
		}
	}
	n, err := f.Seek(0, io.SeekEnd)
	if err == nil {
		_, err = PadTo(f, n, 512)
	}
	if err == nil {
		err = f.Close()
	}
	if err != nil {
		return nil, 0, fmt.Errorf("vmtest: writing %s: %w", dst, err)
	}
	return b.files, nmods, nil
}

// writeMeta writes the version, the manifest and, last, the ready marker.
func writeMeta(dir, kver string, files map[string]bool) error {
	names := make([]string, 0, len(files))
	for n := range files {
		names = append(names, n)
	}
	sort.Strings(names)
	for name, body := range map[string]string{versionFile: kver + "\n", manifestFile: strings.Join(names, "\n") + "\n"} {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(body), 0o644); err != nil {
			return fmt.Errorf("vmtest: %w", err)
		}
	}
	if err := os.WriteFile(filepath.Join(dir, readyFile), nil, 0o644); err != nil {
		return fmt.Errorf("vmtest: %w", err)
	}
	return nil
}

func copyFile(src, dst string) error {
	in, err := os.Open(src)
	if err != nil {
		return fmt.Errorf("vmtest: %w", err)
	}
	defer in.Close()
	out, err := os.Create(dst)
	if err != nil {
		return fmt.Errorf("vmtest: %w", err)
	}
	if _, err := io.Copy(out, in); err != nil {
		out.Close()
		return fmt.Errorf("vmtest: copying %s: %w", src, err)
	}
	return out.Close()
}
