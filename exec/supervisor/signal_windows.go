package supervisor

import (
	"os"
	"syscall"
)

// Windows has no signals beyond what the Go runtime emulates: the names
// are those of package syscall, so that a conf reads the same everywhere.
var signalNames = map[syscall.Signal]string{
	syscall.SIGHUP: "SIGHUP", syscall.SIGINT: "SIGINT", syscall.SIGQUIT: "SIGQUIT",
	syscall.SIGILL: "SIGILL", syscall.SIGTRAP: "SIGTRAP", syscall.SIGABRT: "SIGABRT",
	syscall.SIGBUS: "SIGBUS", syscall.SIGFPE: "SIGFPE", syscall.SIGKILL: "SIGKILL",
	syscall.SIGSEGV: "SIGSEGV", syscall.SIGPIPE: "SIGPIPE", syscall.SIGALRM: "SIGALRM",
	syscall.SIGTERM: "SIGTERM",
}

// signalNum returns the signal named name ("SIGTERM"), or 0.
func signalNum(name string) syscall.Signal {
	for sig, n := range signalNames {
		if n == name {
			return sig
		}
	}
	return 0
}

// signalName returns the name of sig ("SIGKILL"), or "" when unknown.
func signalName(sig syscall.Signal) string { return signalNames[sig] }

// ownGroup: Windows has no process groups as Unix has them.
func ownGroup() *syscall.SysProcAttr { return nil }

// killGroup kills the hook's process; what it started is left.
func killGroup(p *os.Process) error { return p.Kill() }
