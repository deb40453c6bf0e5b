// Package kerneltest decides whether a real-kernel test runs, skips or fails.
//
// Kernel tests need root and the distribution's tools. Without them they skip,
// unless the environment sets PROXYKIT_KERNEL_TESTS=required (as CI does), in
// which case a missing prerequisite fails the test instead of hiding it.
package kerneltest

import (
	"fmt"
	"os"
	"os/exec"
	"strings"
	"testing"
)

// EnvVar is the environment variable that controls the kernel tier.
const EnvVar = "PROXYKIT_KERNEL_TESTS"

// Mode is what the environment asks of the kernel tier.
type Mode int

const (
	// Auto runs kernel tests when their prerequisites are present and skips them otherwise.
	Auto Mode = iota
	// Required fails a kernel test whose prerequisites are missing.
	Required
	// Off skips every kernel test.
	Off
)

// ModeFromEnv reads EnvVar: "required" (or "1"), "off" (or "0"), anything else is Auto.
func ModeFromEnv() Mode {
	switch strings.ToLower(strings.TrimSpace(os.Getenv(EnvVar))) {
	case "required", "1", "true", "yes":
		return Required
	case "off", "0", "false", "no":
		return Off
	default:
		return Auto
	}
}

// Need checks the prerequisites of a kernel test: root, and every named tool on
// PATH. It skips or fails t according to ModeFromEnv, and returns only when the
// test may go on.
func Need(t testing.TB, tools ...string) {
	t.Helper()
	mode := ModeFromEnv()
	if mode == Off {
		t.Skipf("kernel tests disabled by %s=off", EnvVar)
	}
	if missing := Missing(tools...); missing != "" {
		if mode == Required {
			t.Fatalf("kernel test prerequisite missing (%s=required): %s", EnvVar, missing)
		}
		t.Skipf("kernel test skipped: %s (set %s=required to fail instead)", missing, EnvVar)
	}
}

// Missing returns a description of the first missing prerequisite among root
// and the named tools, or "" when all are present.
func Missing(tools ...string) string {
	if os.Geteuid() != 0 {
		return "not running as root"
	}
	for _, tool := range tools {
		if _, err := exec.LookPath(tool); err != nil {
			return fmt.Sprintf("tool %q not found on PATH", tool)
		}
	}
	return ""
}
