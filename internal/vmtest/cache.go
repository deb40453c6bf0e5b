package vmtest

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"time"
)

// Environment variables read by the harness.
const (
	// EnvCache overrides the cache directory (default: os.UserCacheDir()/proxykit/vm).
	EnvCache = "PROXYKIT_VM_CACHE"
	// EnvKernelPkg names the Debian kernel image package to boot instead of the
	// one linux-image-amd64 depends on, e.g. "linux-image-6.1.0-56-amd64".
	EnvKernelPkg = "PROXYKIT_VM_KERNEL_PKG"
	// EnvAccel forces the accelerator: "kvm" or "tcg" (default: kvm only when
	// kvm_intel or kvm_amd is loaded and /dev/kvm is usable).
	EnvAccel = "PROXYKIT_VM_ACCEL"
	// EnvInVM is set to "1" by the VM's /init for the payload.
	EnvInVM = "PROXYKIT_VM"
	// EnvConsole, set to "1", copies the VM's kernel console to stderr in Main.
	EnvConsole = "PROXYKIT_VM_CONSOLE"
	// EnvSkip carries, into m.Run, why the VM could not be used (Need skips with it).
	EnvSkip = "PROXYKIT_VM_SKIP"
)

// cacheDir returns the harness's cache directory, creating it.
func cacheDir() (string, error) {
	dir := os.Getenv(EnvCache)
	if dir == "" {
		base, err := os.UserCacheDir()
		if err != nil {
			return "", &UnavailableError{What: "no cache directory (set " + EnvCache + ")", Err: err}
		}
		dir = filepath.Join(base, "proxykit", "vm")
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return "", fmt.Errorf("vmtest: creating cache directory: %w", err)
	}
	return dir, nil
}

// lockFile takes an exclusive flock on path, polling so that ctx can cancel
// the wait. The returned func releases it.
func lockFile(ctx context.Context, path string) (func(), error) {
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o644)
	if err != nil {
		return nil, fmt.Errorf("vmtest: opening lock %s: %w", path, err)
	}
	for {
		err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB)
		if err == nil {
			return func() { f.Close() }, nil // closing releases the lock
		}
		if !errors.Is(err, syscall.EWOULDBLOCK) && !errors.Is(err, syscall.EINTR) {
			f.Close()
			return nil, fmt.Errorf("vmtest: locking %s: %w", path, err)
		}
		select {
		case <-ctx.Done():
			f.Close()
			return nil, fmt.Errorf("vmtest: waiting for lock %s: %w", path, ctx.Err())
		case <-time.After(200 * time.Millisecond):
		}
	}
}

// publishDir atomically moves a fully built directory tmp to final. If final
// already exists (built meanwhile by someone else), tmp is removed.
func publishDir(tmp, final string) error {
	if err := os.Rename(tmp, final); err != nil {
		if _, statErr := os.Stat(filepath.Join(final, readyFile)); statErr == nil {
			return os.RemoveAll(tmp)
		}
		return fmt.Errorf("vmtest: publishing %s: %w", final, err)
	}
	return nil
}

// pruneAge is how long an image may go unused before a newer build removes it.
const pruneAge = 7 * 24 * time.Hour

// pruneCache removes image directories other than keep that were not used
// for pruneAge, and leftovers of interrupted builds and downloads.
func pruneCache(cache, keep string) {
	entries, err := os.ReadDir(cache)
	if err != nil {
		return
	}
	for _, e := range entries {
		p := filepath.Join(cache, e.Name())
		if !e.IsDir() || p == keep {
			continue
		}
		stamp := filepath.Join(p, readyFile)
		age := pruneAge
		if strings.HasPrefix(e.Name(), "build-") || strings.HasPrefix(e.Name(), "download-") {
			stamp, age = p, 24*time.Hour
		} else if !strings.HasPrefix(e.Name(), "linux-image-") {
			continue
		}
		if st, err := os.Stat(stamp); err == nil && time.Since(st.ModTime()) > age {
			_ = os.RemoveAll(p)
			_ = os.Remove(p + ".lock")
		}
	}
}
