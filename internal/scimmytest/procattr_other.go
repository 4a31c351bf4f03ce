//go:build !linux

package scimmytest

import "syscall"

// sysProcAttr has no parent-death signal outside Linux: a test binary that
// dies without running its cleanups leaves its node process running there.
func sysProcAttr() *syscall.SysProcAttr { return nil }
