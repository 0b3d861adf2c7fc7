package processmanager

import "syscall"

// sysProcAttr: Windows has neither process groups as Unix has them nor a
// parent-death signal.
func sysProcAttr(bool) *syscall.SysProcAttr { return nil }

// signalGroup ends the process of r: Windows has no signals to ask a
// process to exit, so a stop kills it.
func signalGroup(r *run, _ syscall.Signal) error { return r.cmd.Process.Kill() }

// reapGroup does nothing: Windows has no process groups to reap.
func reapGroup(int) {}
