package vmtest

import (
	"errors"
	"fmt"
	"strings"
)

// ErrUnavailable is matched (errors.Is) by every error that means "this
// machine cannot run the VM": no qemu, no apt, no busybox, no network for the
// kernel download. Main turns it into skipped IPVS tests (or a failure when
// PROXYKIT_KERNEL_TESTS=required).
var ErrUnavailable = errors.New("vmtest: VM unavailable")

// UnavailableError says which prerequisite is missing.
type UnavailableError struct {
	What string // e.g. "qemu-system-x86_64 not on PATH"
	Err  error  // the underlying error, if any
}

func (e *UnavailableError) Error() string {
	if e.Err != nil {
		return fmt.Sprintf("vmtest: VM unavailable: %s: %v", e.What, e.Err)
	}
	return "vmtest: VM unavailable: " + e.What
}

// Is makes errors.Is(err, ErrUnavailable) true.
func (e *UnavailableError) Is(target error) bool { return target == ErrUnavailable }

func (e *UnavailableError) Unwrap() error { return e.Err }

// BootError means the VM ran but never reported the payload's exit code: the
// kernel did not boot, /init failed, qemu died, or the context ended first.
type BootError struct {
	Reason  string   // what went wrong, e.g. "context deadline exceeded"
	Console []string // the last lines of the serial console
	Qemu    string   // qemu's stderr
	Err     error
}

func (e *BootError) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "vmtest: VM gave no result: %s", e.Reason)
	if e.Err != nil {
		fmt.Fprintf(&b, ": %v", e.Err)
	}
	if q := strings.TrimSpace(e.Qemu); q != "" {
		fmt.Fprintf(&b, "\nqemu: %s", q)
	}
	if len(e.Console) > 0 {
		fmt.Fprintf(&b, "\nconsole tail:\n  %s", strings.Join(e.Console, "\n  "))
	}
	return b.String()
}

func (e *BootError) Unwrap() error { return e.Err }
