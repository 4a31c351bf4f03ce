//go:build unix

package mappings

import (
	"syscall"
	"time"
)

// processCPU returns the CPU time the process has used, user and system,
// all threads included. Benchmarks report it beside wall time because on a
// busy shared machine wall time mostly measures the wait for a core.
func processCPU() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
