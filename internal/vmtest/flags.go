package vmtest

import (
	"os"
	"path/filepath"
	"strings"
	"time"
)

// fileFlags are go test flags naming a file the test binary writes; in the VM
// their directories must exist (what is written there stays in the VM).
var fileFlags = []string{"testlogfile", "coverprofile", "cpuprofile", "memprofile",
	"blockprofile", "mutexprofile", "trace"}

// dirFlags are go test flags naming a directory the test binary writes into.
var dirFlags = []string{"gocoverdir", "outputdir"}

// flagValue returns the value of -test.<name> (or --test.<name>) in args.
func flagValue(args []string, name string) (string, bool) {
	for i, a := range args {
		a = strings.TrimPrefix(strings.TrimPrefix(a, "-"), "-")
		if v, ok := strings.CutPrefix(a, "test."+name+"="); ok {
			return v, true
		}
		if a == "test."+name && i+1 < len(args) {
			return args[i+1], true
		}
	}
	return "", false
}

// prepareTestFlagDirs creates, inside the VM, the directories of the paths
// that go test passed (for example -test.testlogfile=/tmp/go-build.../testlog.txt).
func prepareTestFlagDirs(args []string) {
	outDir, _ := flagValue(args, "outputdir")
	for _, f := range fileFlags {
		if v, ok := flagValue(args, f); ok && v != "" {
			if !filepath.IsAbs(v) && outDir != "" {
				v = filepath.Join(outDir, v)
			}
			_ = os.MkdirAll(filepath.Dir(v), 0o755)
		}
	}
	for _, f := range dirFlags {
		if v, ok := flagValue(args, f); ok && v != "" {
			_ = os.MkdirAll(v, 0o755)
		}
	}
}

// hasListFlag reports whether the binary only lists tests (no kernel needed).
func hasListFlag(args []string) bool {
	v, ok := flagValue(args, "list")
	return ok && v != ""
}

// vmTimeout is the deadline for preparing and running the VM: the test
// binary's -test.timeout plus overhead, or 30 minutes without one.
func vmTimeout(args []string, overhead time.Duration) time.Duration {
	if overhead <= 0 {
		overhead = 3 * time.Minute
	}
	if v, ok := flagValue(args, "timeout"); ok {
		if d, err := time.ParseDuration(v); err == nil && d > 0 {
			return d + overhead
		}
	}
	return 30 * time.Minute
}
