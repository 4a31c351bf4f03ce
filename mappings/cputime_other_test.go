//go:build !unix

package mappings

import "time"

// processCPU is not measured on this platform; benchmarks report zero.
func processCPU() time.Duration { return 0 }
