//go:build unix

package supervisor

import (
	"os"
	"syscall"

	"golang.org/x/sys/unix"
)

// signalNum returns the signal named name ("SIGTERM"), or 0.
func signalNum(name string) syscall.Signal { return unix.SignalNum(name) }

// signalName returns the name of sig ("SIGKILL"), or "" when unknown.
func signalName(sig syscall.Signal) string { return unix.SignalName(sig) }

// ownGroup puts a hook in a process group of its own.
func ownGroup() *syscall.SysProcAttr { return &syscall.SysProcAttr{Setpgid: true} }

// killGroup kills the process group that p leads. The group outlives its
// leader while members remain, and its id is not reused meanwhile.
func killGroup(p *os.Process) error { return unix.Kill(-p.Pid, syscall.SIGKILL) }
