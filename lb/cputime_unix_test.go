//go:build unix

package lb

import "syscall"

// processCPU returns the CPU time (user + system) the process has used, in
// nanoseconds. Benchmarks report it per op beside wall time because this
// machine is shared: wall time includes waiting for a core.
func processCPU() int64 {
	var ru syscall.Rusage
	if syscall.Getrusage(syscall.RUSAGE_SELF, &ru) != nil {
		return 0
	}
	return ru.Utime.Nano() + ru.Stime.Nano()
}
