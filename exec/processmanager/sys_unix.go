//go:build unix && !linux

package processmanager

import (
	"errors"
	"syscall"
)

// sysProcAttr puts a child in a process group of its own, or in a session
// of its own when detached. Only Linux has a parent-death signal.
func sysProcAttr(detach bool) *syscall.SysProcAttr {
	if detach {
		return &syscall.SysProcAttr{Setsid: true}
	}
	return &syscall.SysProcAttr{Setpgid: true}
}

// signalGroup sends sig to the process group of r, led by its process.
func signalGroup(r *run, sig syscall.Signal) error { return syscall.Kill(-r.pid, sig) }

// reapGroup reaps the members of process group pgid that are children of
// the agent (when it reaps orphans); they were sent SIGKILL.
func reapGroup(pgid int) {
	for {
		var ws syscall.WaitStatus
		_, err := syscall.Wait4(-pgid, &ws, 0, nil)
		if errors.Is(err, syscall.EINTR) {
			continue
		}
		if err != nil {
			return
		}
	}
}
