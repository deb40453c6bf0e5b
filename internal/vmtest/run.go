package vmtest

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"time"
)

const qemuBinary = "qemu-system-x86_64"

// RunOptions describe one boot of the VM.
type RunOptions struct {
	Binary  string   // host path of the program run as root in the VM (static or dynamically linked)
	Args    []string // its arguments; none may contain a newline
	Env     []string // "KEY=value" entries added to its environment
	Dir     string   // working directory in the VM, created if missing; default "/"
	Modules []string // kernel modules to load besides the default set

	// CopyDirs are host directories copied into the VM at the same absolute
	// path (e.g. a package's testdata). Nothing else of the host is visible.
	CopyDirs []string

	Stdout  io.Writer // receives the program's stdout and stderr (merged); default os.Stdout
	Console io.Writer // if set, receives the kernel console outside the program's output

	MemoryMiB int // default 1024
	CPUs      int // default 2
}

// exitPoweroffGrace is how long qemu may take to exit after the payload's
// exit code was seen.
const exitPoweroffGrace = 15 * time.Second

// Run boots the VM with opts.Binary as its payload, relays the payload's
// output to opts.Stdout and returns its exit code. The VM is killed when ctx
// ends. An error means the payload's exit code is unknown (*BootError when
// the VM ran but reported nothing).
func (img *Image) Run(ctx context.Context, opts RunOptions) (int, error) {
	if err := opts.validate(); err != nil {
		return -1, err
	}
	if opts.Stdout == nil {
		opts.Stdout = os.Stdout
	}
	nonce, err := newNonce()
	if err != nil {
		return -1, err
	}
	tmp, err := os.MkdirTemp("", "proxykit-vm-")
	if err != nil {
		return -1, fmt.Errorf("vmtest: %w", err)
	}
	defer os.RemoveAll(tmp)
	initrd := filepath.Join(tmp, "initrd.img")
	start := time.Now()
	if err := img.writeRunImage(ctx, initrd, nonce, &opts); err != nil {
		return -1, err
	}
	return img.boot(ctx, initrd, nonce, &opts, start)
}

// boot runs qemu and relays the console.
func (img *Image) boot(ctx context.Context, initrd, nonce string, opts *RunOptions, start time.Time) (int, error) {
	qctx, kill := context.WithCancel(ctx)
	defer kill()
	accel, args := qemuArgs(img.Kernel, initrd, opts)
	cmd := exec.CommandContext(qctx, qemuBinary, args...)
	var qerr bytes.Buffer
	cmd.Stderr = &qerr
	cmd.Stdin = nil
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		return -1, fmt.Errorf("vmtest: %w", err)
	}
	if err := cmd.Start(); err != nil {
		return -1, &UnavailableError{What: "starting " + qemuBinary, Err: err}
	}
	var timer *time.Timer
	res := relayConsole(stdout, nonce, opts.Stdout, opts.Console, func() {
		timer = time.AfterFunc(exitPoweroffGrace, kill)
	})
	waitErr := cmd.Wait()
	if timer != nil {
		timer.Stop()
	}
	end := time.Now()
	if !res.done {
		reason := "qemu exited before the payload reported its exit code"
		if ctx.Err() != nil {
			reason, waitErr = "the context ended", ctx.Err()
		}
		if !res.begun {
			reason += " (the payload never started)"
		}
		return -1, &BootError{Reason: reason, Console: res.tail, Qemu: qerr.String(), Err: waitErr}
	}
	img.logger.Info("vmtest: VM run finished", "accel", accel, "exit", res.exitCode,
		"boot_to_payload", res.begin.Sub(start).Round(time.Millisecond), "guest_uptime_at_payload", res.uptime+"s",
		"payload", end.Sub(res.begin).Round(time.Millisecond), "total", end.Sub(start).Round(time.Millisecond))
	return res.exitCode, nil
}

// qemuArgs returns the accelerator's name and qemu's command line.
func qemuArgs(kernel, initrd string, opts *RunOptions) (string, []string) {
	mem, cpus := opts.MemoryMiB, opts.CPUs
	if mem <= 0 {
		mem = 1024
	}
	if cpus <= 0 {
		cpus = 2
	}
	accel := "tcg"
	accelArgs := []string{"-accel", "tcg,thread=multi", "-cpu", "max"}
	if useKVM() {
		accel, accelArgs = "kvm", []string{"-enable-kvm", "-cpu", "host"}
	}
	args := append(accelArgs,
		"-m", strconv.Itoa(mem), "-smp", strconv.Itoa(cpus),
		"-nodefaults", "-no-user-config", "-display", "none", "-serial", "stdio", "-no-reboot",
		"-kernel", kernel, "-initrd", initrd,
		"-append", "console=ttyS0 panic=-1 rdinit=/init quiet loglevel=3")
	return accel, args
}

// useKVM reports whether to use hardware virtualization: EnvAccel decides if
// set; otherwise only a real kvm_intel/kvm_amd with a usable /dev/kvm counts
// (other /dev/kvm flavours, e.g. kvm_pvm, cannot boot a stock kernel).
func useKVM() bool {
	switch os.Getenv(EnvAccel) {
	case "kvm":
		return true
	case "tcg":
		return false
	}
	_, errIntel := os.Stat("/sys/module/kvm_intel")
	_, errAMD := os.Stat("/sys/module/kvm_amd")
	if errIntel != nil && errAMD != nil {
		return false
	}
	f, err := os.OpenFile("/dev/kvm", os.O_RDWR, 0)
	if err != nil {
		return false
	}
	f.Close()
	return true
}
