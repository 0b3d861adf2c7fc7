package etcdtest

import "syscall"

// sysProcAttr makes the member die with the test binary, even when the test
// binary is killed before its cleanups run.
func sysProcAttr() *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
}
