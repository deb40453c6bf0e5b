package netharness

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os/exec"
	"strings"
)

// ErrPdeathsig is returned by Start for a command that sets
// SysProcAttr.Pdeathsig: the signal follows the forking thread, a helper
// thread whose lifetime the harness does not control (it is retired if it
// cannot be put back into the host namespace).
var ErrPdeathsig = errors.New("netharness: Pdeathsig is not supported for commands started in a namespace")

// ExecError is a command that failed; Stderr holds what it printed there.
type ExecError struct {
	NS     string
	Args   []string
	Stderr string
	Err    error
}

func (e *ExecError) Error() string {
	return fmt.Sprintf("netharness: in %s: %s: %v: %s", e.NS, strings.Join(e.Args, " "), e.Err, strings.TrimSpace(e.Stderr))
}

func (e *ExecError) Unwrap() error { return e.Err }

// Start starts cmd inside the named namespace: the process is forked from a
// thread that is in it, so it inherits that network namespace (and only
// that: the mount namespace, so /sys, stays the host's). The caller waits.
func (t *Topology) Start(ns string, cmd *exec.Cmd) error {
	if cmd.SysProcAttr != nil && cmd.SysProcAttr.Pdeathsig != 0 {
		return ErrPdeathsig
	}
	return t.Do(ns, cmd.Start)
}

// Run starts cmd inside the named namespace and waits for it.
func (t *Topology) Run(ns string, cmd *exec.Cmd) error {
	if err := t.Start(ns, cmd); err != nil {
		return err
	}
	return cmd.Wait()
}

// Exec runs a program inside the named namespace and returns its stdout; on
// failure the error is an *ExecError carrying stderr.
func (t *Topology) Exec(ctx context.Context, ns, name string, args ...string) ([]byte, error) {
	return t.ExecInput(ctx, ns, nil, name, args...)
}

// ExecInput is Exec with stdin (e.g. iptables-restore or nft -f -).
func (t *Topology) ExecInput(ctx context.Context, ns string, stdin io.Reader, name string, args ...string) ([]byte, error) {
	cmd := exec.CommandContext(ctx, name, args...)
	cmd.Stdin = stdin
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := t.Run(ns, cmd); err != nil {
		return stdout.Bytes(), &ExecError{NS: ns, Args: cmd.Args, Stderr: stderr.String(), Err: err}
	}
	return stdout.Bytes(), nil
}
