//go:build !linux

package processmanager

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"runtime"
	"syscall"

	"github.com/plinth-go/plinth/exec/processmanager/status"
)

// Outside Linux there is no pidfd and no /proc: a goroutine waits for
// each child, the state of a live process is reported as running, and the
// manager cannot attach to processes it did not start nor bind CPUs.

// runSys is what the portable fallback watches a run with.
type runSys struct {
	waited  chan struct{} // closed once the child is reaped
	unwatch chan struct{} // closed by closeFds: the manager stops watching
}

// openFds starts the goroutine that waits for the child of r. It ends
// when the child exits.
func (r *run) openFds() error {
	if r.cmd == nil {
		return fmt.Errorf("%w: attaching to a process on %s", errors.ErrUnsupported, runtime.GOOS)
	}
	r.waited, r.unwatch = make(chan struct{}), make(chan struct{})
	go func() {
		_ = r.cmd.Wait()
		close(r.waited)
	}()
	return nil
}

// closeFds stops watching r; a waitExit in progress returns false.
func (r *run) closeFds() {
	if r.fdsClosed {
		return
	}
	r.fdsClosed = true
	if r.unwatch != nil {
		close(r.unwatch)
	}
}

// waitExit blocks until the child of r has exited and is reaped, and
// reports false when the manager stopped watching it first.
func (r *run) waitExit() bool {
	select {
	case <-r.waited:
		return true
	case <-r.unwatch:
		return false
	}
}

// reap waits for the child of r, reaped by the goroutine of openFds.
func (r *run) reap() { <-r.waited }

// readState reports a live process as running: only Linux says more.
func (r *run) readState([]byte) (status.State, bool) { return status.Running, true }

// signal sends sig to the process group of r, or to the process alone.
// os.Process refuses to signal a process it has reaped, so a reused pid is
// never signalled.
func (r *run) signal(sig syscall.Signal, group bool) error {
	if group {
		return signalGroup(r, sig)
	}
	return r.cmd.Process.Signal(sig)
}

// isNoProcess reports whether err says the process no longer exists.
func isNoProcess(err error) bool {
	return errors.Is(err, os.ErrProcessDone) || errors.Is(err, syscall.ESRCH)
}

// readStatusFile fails: the status file is Linux's /proc/<pid>/status.
func readStatusFile(int) (*status.File, error) {
	return nil, fmt.Errorf("%w: /proc/<pid>/status on %s", errors.ErrUnsupported, runtime.GOOS)
}

// startBound starts cmd; CPU affinity is refused by the options outside
// Linux, so cpus is always nil here.
func (p *Plugin) startBound(cmd *exec.Cmd, _ []int) spawnResult {
	return spawnResult{err: cmd.Start()}
}

// AttachProcess fails outside Linux: watching a process that is not a
// child of the agent needs a pidfd and /proc.
func (p *Plugin) AttachProcess(pid int, _ ...Option) (*Process, error) {
	return nil, fmt.Errorf("process-manager: attach %d: %w: attaching to a process on %s", pid, errors.ErrUnsupported, runtime.GOOS)
}

// umaskSupported is false: only Linux lets a thread have a umask of its own.
const umaskSupported = false

// umaskSpawner is never started outside Linux: WithUmask fails there.
func (p *Plugin) umaskSpawner(ch chan spawnReq) {
	for req := range ch {
		req.reply <- spawnResult{err: errUmaskUnsupported}
	}
}
