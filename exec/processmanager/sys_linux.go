package processmanager

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"runtime"
	"strconv"
	"syscall"

	"golang.org/x/sys/unix"

	"github.com/plinth-go/plinth/exec/processmanager/status"
)

// runSys is what Linux watches a run with.
type runSys struct {
	pidfd *os.File // refers to this process even after its pid is reused
	stat  *os.File // /proc/<pid>/stat, re-read by the watcher
}

// sysProcAttr puts a child in a process group of its own, with SIGKILL as
// parent-death signal, or in a session of its own when detached.
func sysProcAttr(detach bool) *syscall.SysProcAttr {
	if detach {
		return &syscall.SysProcAttr{Setsid: true}
	}
	// Pdeathsig fires when the thread that forked exits, not the process:
	// the spawner forks from a thread that lives as long as the manager
	// (see spawner).
	return &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
}

// openFds opens the pidfd and the stat file of the process of r.
func (r *run) openFds() error {
	fd, err := unix.PidfdOpen(r.pid, unix.PIDFD_NONBLOCK)
	if err != nil {
		return fmt.Errorf("pidfd_open(%d): %w", r.pid, err)
	}
	// A non-blocking descriptor joins the runtime poller, so waiting for
	// the exit takes no thread.
	r.pidfd = os.NewFile(uintptr(fd), "pidfd:"+strconv.Itoa(r.pid))
	r.stat, err = os.Open("/proc/" + strconv.Itoa(r.pid) + "/stat")
	if err != nil {
		r.pidfd.Close()
		return err
	}
	return nil
}

// closeFds stops watching r; a waitExit in progress returns false.
func (r *run) closeFds() {
	if r.fdsClosed {
		return
	}
	r.fdsClosed = true
	if r.pidfd != nil {
		r.pidfd.Close()
	}
	if r.stat != nil {
		r.stat.Close()
	}
}

// waitExit blocks until the process of r exits, and reports false when the
// pidfd was closed first (the manager stopped watching).
func (r *run) waitExit() bool {
	rc, err := r.pidfd.SyscallConn()
	if err != nil {
		return false
	}
	err = rc.Read(func(fd uintptr) bool {
		fds := []unix.PollFd{{Fd: int32(fd), Events: unix.POLLIN}}
		n, err := unix.Poll(fds, 0)
		// Done when readable (exited) or on an error other than EINTR,
		// which the caller treats as an exit.
		return n > 0 || (err != nil && !errors.Is(err, unix.EINTR))
	})
	return err == nil
}

// reap waits for the exited child of r, which releases its pid.
func (r *run) reap() { _ = r.cmd.Wait() }

// readState reads the state of r from its stat file; false when the
// process has exited.
func (r *run) readState(buf []byte) (status.State, bool) {
	n, err := r.stat.ReadAt(buf, 0)
	if n == 0 && err != nil {
		if errors.Is(err, unix.ESRCH) {
			return "", false
		}
		return status.Unavailable, true
	}
	st, err := status.ParseStatLetter(buf[:n])
	if err != nil {
		st = status.Unavailable
	}
	return st, true
}

// signal sends sig to the process group of r, or through the pidfd to the
// process alone.
func (r *run) signal(sig syscall.Signal, group bool) error {
	if group {
		return unix.Kill(-r.pid, sig)
	}
	return unix.PidfdSendSignal(int(r.pidfd.Fd()), sig, nil, 0)
}

// isNoProcess reports whether err says the process no longer exists.
func isNoProcess(err error) bool { return errors.Is(err, unix.ESRCH) }

// readStatusFile reads /proc/<pid>/status.
func readStatusFile(pid int) (*status.File, error) { return status.ReadFile(pid) }

// reapGroup reaps the members of process group pgid that are children of
// the agent: orphans of the group are reparented to it when it is PID 1 or
// a child subreaper. The group was sent SIGKILL, so each one exits; wait4
// fails with ECHILD once none is left.
func reapGroup(pgid int) {
	for {
		var ws unix.WaitStatus
		_, err := unix.Wait4(-pgid, &ws, 0, nil)
		if errors.Is(err, unix.EINTR) {
			continue
		}
		if err != nil {
			return
		}
	}
}

// umaskSupported reports whether WithUmask works: a thread of the agent
// can have a umask of its own on Linux.
const umaskSupported = true

// umaskSpawner starts the children that have a umask of their own. The
// umask belongs to the file system context that the threads of a process
// share, so setting it around a fork on any thread would give it, for that
// moment, to every file the agent creates. This goroutine's thread leaves
// that context (unshare CLONE_FS), so its umask is its own, and the
// children it forks inherit it. Its working directory is its own too: it
// moves to the agent's before each fork, as a child without a directory
// starts in the agent's. The goroutine never unlocks its thread, which then
// ends with it, at Close, after every child it started has stopped (the
// parent-death signal follows the thread, as for the spawner).
func (p *Plugin) umaskSpawner(ch chan spawnReq) {
	runtime.LockOSThread()
	err := unix.Unshare(unix.CLONE_FS)
	if err != nil {
		err = fmt.Errorf("umask: unshare(CLONE_FS): %w", err)
	}
	for req := range ch {
		if err != nil {
			req.reply <- spawnResult{err: err}
			continue
		}
		// /proc/self is the thread group leader, whose context the
		// agent's other threads share.
		if cerr := unix.Chdir("/proc/self/cwd"); cerr != nil {
			req.reply <- spawnResult{err: fmt.Errorf("umask: following the agent's working directory: %w", cerr)}
			continue
		}
		old := unix.Umask(req.umask)
		res := p.startBound(req.cmd, req.cpus)
		unix.Umask(old)
		req.reply <- res
	}
}

// startBound starts cmd from the spawner thread; with cpus, it binds that
// thread to them for the fork. A child inherits the affinity of the thread
// that forked it, and its threads that of their creator, so every thread
// of the child is bound from its first instruction on. Binding a process
// that runs cannot promise as much: a thread whose creation is under way
// copies the affinity its creator had before (see binder).
//
// Only the spawner's own forks inherit its temporary affinity: the Go
// runtime creates the threads it needs while a locked goroutine runs from
// a template thread, not from the locked one.
func (p *Plugin) startBound(cmd *exec.Cmd, cpus []int) spawnResult {
	if cpus == nil {
		return spawnResult{err: cmd.Start()}
	}
	var own unix.CPUSet
	if err := unix.SchedGetaffinity(0, &own); err != nil {
		return spawnResult{err: cmd.Start(), affinityErr: fmt.Errorf("sched_getaffinity: %w", err)}
	}
	if err := unix.SchedSetaffinity(0, cpuSet(cpus)); err != nil {
		return spawnResult{err: cmd.Start(), affinityErr: fmt.Errorf("sched_setaffinity: %w", err)}
	}
	res := spawnResult{err: cmd.Start()}
	if err := unix.SchedSetaffinity(0, &own); err != nil {
		// Children started without an affinity would inherit cpus.
		p.Log.Errorf("restoring the affinity of the spawner thread: sched_setaffinity: %v", err)
	}
	return res
}
