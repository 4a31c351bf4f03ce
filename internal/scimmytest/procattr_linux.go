package scimmytest

import "syscall"

// sysProcAttr makes the kernel kill the server when the test binary dies,
// so an interrupted test run leaves no node process behind.
func sysProcAttr() *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
}
