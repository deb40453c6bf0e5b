// Command vmrun runs a program inside the proxykit test VM (Debian's kernel,
// with IPVS, under qemu) and exits with its exit code, or 125 when the VM
// could not give one. It prepares the cached image first if needed.
//
//	go run ./internal/vmtest/cmd/vmrun [flags] <binary> [args...]
//	go test -exec "go run ./internal/vmtest/cmd/vmrun" ./somepkg
//
// As a go test -exec runner it creates the package directory in the VM as
// the working directory and copies its ./testdata (same path).
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/proxykit/proxykit/internal/vmtest"
)

// multi collects a repeatable flag.
type multi []string

func (m *multi) String() string     { return strings.Join(*m, ",") }
func (m *multi) Set(v string) error { *m = append(*m, v); return nil }

func main() {
	os.Exit(run())
}

func run() int {
	var env, mods multi
	mem := flag.Int("mem", 1024, "guest memory in MiB")
	cpus := flag.Int("cpus", 2, "virtual CPUs")
	timeout := flag.Duration("timeout", 30*time.Minute, "overall deadline (prepare and run)")
	console := flag.Bool("console", false, "copy the kernel console to stderr")
	testdata := flag.Bool("testdata", true, "copy ./testdata into the VM (same path)")
	verbose := flag.Bool("v", false, "log progress and timings")
	flag.Var(&env, "env", "KEY=value for the program (repeatable)")
	flag.Var(&mods, "module", "extra kernel module to load (repeatable)")
	flag.Usage = func() {
		fmt.Fprintf(flag.CommandLine.Output(), "usage: vmrun [flags] <binary> [args...]\n")
		flag.PrintDefaults()
	}
	flag.Parse()
	if flag.NArg() < 1 {
		flag.Usage()
		return 2
	}
	level := slog.LevelWarn
	if *verbose {
		level = slog.LevelInfo
	}
	logger := slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: level}))
	ctx, cancel := context.WithTimeout(context.Background(), *timeout)
	defer cancel()
	start := time.Now()
	img, err := vmtest.Prepare(ctx, logger)
	if err != nil {
		fmt.Fprintln(os.Stderr, "vmrun:", err)
		return 125
	}
	logger.Info("vmrun: image ready", "kernel", img.KernelVersion, "elapsed", time.Since(start).Round(time.Millisecond))
	opts, err := runOptions(flag.Args(), env, mods, *mem, *cpus, *console, *testdata)
	if err != nil {
		fmt.Fprintln(os.Stderr, "vmrun:", err)
		return 125
	}
	code, err := img.Run(ctx, opts)
	if err != nil {
		fmt.Fprintln(os.Stderr, "vmrun:", err)
		return 125
	}
	return code
}

func runOptions(args, env, mods []string, mem, cpus int, console, testdata bool) (vmtest.RunOptions, error) {
	bin, err := filepath.Abs(args[0])
	if err != nil {
		return vmtest.RunOptions{}, err
	}
	cwd, err := os.Getwd()
	if err != nil {
		return vmtest.RunOptions{}, err
	}
	o := vmtest.RunOptions{Binary: bin, Args: args[1:], Env: env, Modules: mods, Dir: cwd,
		MemoryMiB: mem, CPUs: cpus, Stdout: os.Stdout}
	for _, kv := range os.Environ() {
		if strings.HasPrefix(kv, "PROXYKIT_") && !strings.HasPrefix(kv, vmtest.EnvInVM+"=") {
			o.Env = append(o.Env, kv)
		}
	}
	if console {
		o.Console = os.Stderr
	}
	if st, err := os.Stat(filepath.Join(cwd, "testdata")); testdata && err == nil && st.IsDir() {
		o.CopyDirs = append(o.CopyDirs, filepath.Join(cwd, "testdata"))
	}
	if _, err := os.Stat(bin); errors.Is(err, os.ErrNotExist) {
		return o, fmt.Errorf("%s: %w", bin, err)
	}
	return o, nil
}
