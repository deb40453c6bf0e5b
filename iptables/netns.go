package iptables

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"os/exec"

	"github.com/vishvananda/netns"

	"github.com/proxykit/proxykit/internal/nsthread"
)

// Runner runs one command with stdin (nil for none) and returns what it
// wrote. Exec uses it for every iptables command; supply your own to run
// the commands elsewhere (a network namespace, a container, over ssh) or to
// record them. Exec's stdin for iptables-restore implements io.WriterTo
// and writes the payload without building it in memory: copy it with
// io.Copy (as os/exec does) rather than read it in small pieces. It can be
// read once: a Runner that retries must keep what it read. On failure err
// is non-nil and stderr holds the command's error output.
type Runner func(ctx context.Context, name string, args []string, stdin io.Reader) (stdout, stderr []byte, err error)

// LocalRunner runs commands with os/exec in the caller's network namespace.
func LocalRunner() Runner {
	return func(ctx context.Context, name string, args []string, stdin io.Reader) ([]byte, []byte, error) {
		cmd, out, errOut := command(ctx, name, args, stdin)
		err := cmd.Run()
		return out.Bytes(), errOut.Bytes(), err
	}
}

// NetNSRunner runs commands inside the network namespace ns: a goroutine
// locks its OS thread, enters ns, starts the command (a child inherits
// its parent thread's namespace), and returns to its own namespace. The
// caller keeps ownership of ns.
func NetNSRunner(ns netns.NsHandle) Runner {
	return func(ctx context.Context, name string, args []string, stdin io.Reader) ([]byte, []byte, error) {
		cmd, out, errOut := command(ctx, name, args, stdin)
		if err := nsthread.In(ns, cmd.Start); err != nil {
			if cmd.Process != nil {
				_ = cmd.Wait()
			}
			return nil, nil, fmt.Errorf("start %s in netns: %w", name, err)
		}
		err := cmd.Wait()
		return out.Bytes(), errOut.Bytes(), err
	}
}

func command(ctx context.Context, name string, args []string, stdin io.Reader) (*exec.Cmd, *bytes.Buffer, *bytes.Buffer) {
	cmd := exec.CommandContext(ctx, name, args...)
	var out, errOut bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errOut
	if stdin != nil {
		cmd.Stdin = stdin // os/exec copies it with io.Copy, through its WriteTo if it has one
	}
	return cmd, &out, &errOut
}
