package iptables

import (
	"errors"
	"fmt"
	"io"
	"os/exec"
	"regexp"
	"strconv"
	"strings"
)

// RestoreError is a failed iptables command. For iptables-restore it
// carries the line of the input that failed, as the tool reported it.
type RestoreError struct {
	Command  string // e.g. "iptables-nft-restore"
	Table    string // the table being restored, when known
	Line     int    // 1-based line of the input the tool blamed (Exec.Apply sends one table per run, "*table" is line 1); 0 if it did not say
	Text     string // that line of the input
	Stderr   string // the tool's error output
	ExitCode int    // -1 when the command did not run to an exit
	Err      error  // the underlying exec error
}

func (e *RestoreError) Error() string {
	msg := strings.Join(strings.Fields(strings.ReplaceAll(strings.TrimSpace(e.Stderr), "\n", " | ")), " ")
	if msg == "" {
		msg = e.Err.Error()
	}
	if e.Line > 0 {
		return fmt.Sprintf("%s: line %d (%s): %s", e.Command, e.Line, e.Text, msg)
	}
	return fmt.Sprintf("%s: %s", e.Command, msg)
}

func (e *RestoreError) Unwrap() error { return e.Err }

// iptables-restore names the failing line in one of these ways:
// "line 2 failed", "Error occurred at line: 2", "line 2: CHAIN_DEL failed".
var lineRE = regexp.MustCompile(`(?:line (\d+) failed|Error occurred at line: (\d+)|line (\d+): )`)

// newRestoreError describes a failed command; stdin (nil for none) writes
// its input again to find the line the tool blamed.
func newRestoreError(cmd string, stdin io.WriterTo, stderr []byte, err error) *RestoreError {
	e := &RestoreError{Command: cmd, Stderr: string(stderr), ExitCode: -1, Err: err}
	var xe *exec.ExitError
	if errors.As(err, &xe) {
		e.ExitCode = xe.ExitCode()
	}
	if m := lineRE.FindStringSubmatch(e.Stderr); m != nil {
		for _, g := range m[1:] {
			if n, convErr := strconv.Atoi(g); convErr == nil {
				e.Line = n
				break
			}
		}
	}
	if e.Line > 0 {
		e.Text = lineOf(stdin, e.Line)
	}
	return e
}
