package vmtest

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/proxykit/proxykit/internal/kerneltest"
	"github.com/vishvananda/netlink"
)

// Options configure Main.
type Options struct {
	// Logger receives the harness's progress; default: text to stderr, Info level.
	Logger *slog.Logger
	// Env lists extra "KEY=value" entries for the tests in the VM. Variables
	// named PROXYKIT_* and GODEBUG, GOTRACEBACK are always passed through.
	Env []string
	// CopyTestdata copies the package's ./testdata into the VM (same path).
	CopyTestdata bool
	// Modules are loaded in the VM besides the default set.
	Modules []string
	// Overhead is added to -test.timeout for preparing and booting the VM
	// (default 3 minutes). Without -test.timeout the VM gets 30 minutes.
	Overhead time.Duration
}

// InVM reports whether this process runs inside the harness's VM.
func InVM() bool { return os.Getenv(EnvInVM) == "1" }

// KernelHasIPVS reports whether the running kernel serves IPVS now:
// /proc/net/ip_vs exists or the "IPVS" generic-netlink family resolves.
// It does not load modules.
func KernelHasIPVS() bool {
	if _, err := os.Stat("/proc/net/ip_vs"); err == nil {
		return true
	}
	_, err := netlink.GenlFamilyGet("IPVS")
	return err == nil
}

// Main is meant to be called from a test package's TestMain. When the kernel
// has IPVS, or this already is the VM, it runs the tests here. Otherwise it
// boots the VM with this test binary and its arguments, relays the output
// and exits with the VM's exit code. If the VM cannot be had (no qemu, no
// apt, no download), it runs the tests here with the reason in EnvSkip so
// that Need skips them, or, with PROXYKIT_KERNEL_TESTS=required, exits 1.
func Main(m *testing.M, opts Options) {
	os.Exit(mainCode(m, opts))
}

func mainCode(m *testing.M, opts Options) int {
	logger := opts.Logger
	if logger == nil {
		logger = slog.New(slog.NewTextHandler(os.Stderr, nil))
	}
	if InVM() {
		prepareTestFlagDirs(os.Args[1:])
		return m.Run()
	}
	if KernelHasIPVS() || kerneltest.ModeFromEnv() == kerneltest.Off || hasListFlag(os.Args[1:]) {
		return m.Run()
	}
	ctx, cancel := context.WithTimeout(context.Background(), vmTimeout(os.Args[1:], opts.Overhead))
	defer cancel()
	code, err := runSelfInVM(ctx, logger, opts)
	if err == nil {
		return code
	}
	if errors.Is(err, ErrUnavailable) && kerneltest.ModeFromEnv() != kerneltest.Required {
		logger.Warn("vmtest: no VM, IPVS tests will skip", "reason", err)
		os.Setenv(EnvSkip, err.Error())
		return m.Run()
	}
	fmt.Fprintf(os.Stderr, "vmtest: cannot run the tests in the VM (%s=%s): %v\n",
		kerneltest.EnvVar, os.Getenv(kerneltest.EnvVar), err)
	return 1
}

// runSelfInVM prepares the image and boots it with this binary.
func runSelfInVM(ctx context.Context, logger *slog.Logger, opts Options) (int, error) {
	self, err := os.Executable()
	if err != nil {
		return -1, fmt.Errorf("vmtest: %w", err)
	}
	cwd, err := os.Getwd()
	if err != nil {
		return -1, fmt.Errorf("vmtest: %w", err)
	}
	img, err := Prepare(ctx, logger)
	if err != nil {
		return -1, err
	}
	ro := RunOptions{Binary: self, Args: os.Args[1:], Dir: cwd, Modules: opts.Modules, Stdout: os.Stdout}
	if os.Getenv(EnvConsole) == "1" {
		ro.Console = os.Stderr
	}
	if opts.CopyTestdata {
		if st, err := os.Stat(filepath.Join(cwd, "testdata")); err == nil && st.IsDir() {
			ro.CopyDirs = append(ro.CopyDirs, filepath.Join(cwd, "testdata"))
		}
	}
	for _, kv := range os.Environ() {
		if k, _, _ := strings.Cut(kv, "="); strings.HasPrefix(k, "PROXYKIT_") || k == "GODEBUG" || k == "GOTRACEBACK" {
			ro.Env = append(ro.Env, kv)
		}
	}
	ro.Env = append(ro.Env, opts.Env...)
	logger.Info("vmtest: running the tests in a VM", "kernel", img.KernelVersion)
	return img.Run(ctx, ro)
}

// Need skips or fails (per kerneltest.ModeFromEnv) a test that needs IPVS
// when the kernel lacks it, after kerneltest.Need(t, tools...) (root, tools).
func Need(t testing.TB, tools ...string) {
	t.Helper()
	kerneltest.Need(t, tools...)
	if KernelHasIPVS() {
		return
	}
	reason := "kernel has no IPVS"
	if why := os.Getenv(EnvSkip); why != "" {
		reason += " and no VM: " + why
	} else if !InVM() {
		reason += " (call vmtest.Main from TestMain to run in a VM)"
	}
	if kerneltest.ModeFromEnv() == kerneltest.Required {
		t.Fatalf("IPVS test prerequisite missing (%s=required): %s", kerneltest.EnvVar, reason)
	}
	t.Skipf("IPVS test skipped: %s", reason)
}
