package processmanager

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"slices"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/plinth-go/plinth/exec/processmanager/status"
	"github.com/plinth-go/plinth/health/statuscheck"
	"github.com/plinth-go/plinth/internal/backoff"
)

// Process is a process of the manager: a command it starts, restarts and
// watches, or a process started elsewhere that it attached to. Get one from
// the ProcessManager. Its methods are safe for concurrent use.
type Process struct {
	m        *Plugin
	name     string
	cmd      string // "" for attached processes
	attached bool
	opts     options
	notifier *notifier // nil without a notification channel

	// outputDropped counts the bytes of output that a Writer refused.
	outputDropped atomic.Uint64
	shutdownOnce  sync.Once // Delete or Close shuts the process down once

	mu          sync.Mutex // guards the fields below
	state       status.State
	run         *run            // the current or last run; nil before the first start
	loop        chan struct{}   // closed when the supervision loop ends; nil when none runs
	wake        chan struct{}   // cap 1: ends the restart backoff of the loop
	autoRestart bool            // automatic restarts are on: Start turns them on, Stop and Kill off
	restarts    int             // automatic restarts since the last Start
	delays      backoff.Backoff // restart delays: reset by Start and by a run of the reset length
	lastExit    *ExitStatus
	lastErr     error
	affinityErr error    // why the current or last run is not bound as CPUAffinity asks
	outputs     *outputs // pipes to non-file writers, made at the first start
	removed     bool     // deleted, or the manager closed
}

// run is one execution of a process, from its start (or attachment) to its
// exit.
type run struct {
	pid     int
	cmd     *exec.Cmd // nil for attached processes
	group   bool      // stop signals go to the process group (children only)
	cpus    []int     // the CPUs of CPUAffinity that the agent may use; nil for none
	started time.Time
	runSys  // how the platform watches the run (a pidfd on Linux)

	// Guarded by Process.mu.
	exited    bool // the process exited; until done is closed it is not reaped, so its pid (and pgid) cannot be reused
	stopping  bool // a stop was requested: the rest of the group is killed at exit
	abandoned bool // the manager stopped watching it without it exiting
	fdsClosed bool
	exit      ExitStatus
	affinity  *time.Timer
	done      chan struct{} // closed once the exit is recorded or the run abandoned
}

// GetName returns the name of the process in the manager. For an attached
// process without WithName it is the name of its status file; the status
// file name of any process is UpdateStatus().Name.
func (p *Process) GetName() string { return p.name }

// GetCommand returns the command the process was created with; it is empty
// for attached processes.
func (p *Process) GetCommand() string { return p.cmd }

// GetArguments returns a copy of the arguments the process starts with; it
// is empty for attached processes.
func (p *Process) GetArguments() []string { return slices.Clone(p.opts.args) }

// GetPid returns the pid of the current or last run, or 0 if the process
// was never started.
func (p *Process) GetPid() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.run == nil {
		return 0
	}
	return p.run.pid
}

// GetStartTime returns when the process last started (or, for an attached
// process, when it started according to the kernel); zero if never.
func (p *Process) GetStartTime() time.Time {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.run == nil {
		return time.Time{}
	}
	return p.run.started
}

// GetUpTime returns for how long the current run has been running, or 0
// when the process does not run.
func (p *Process) GetUpTime() time.Duration {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.run == nil || p.run.exited {
		return 0
	}
	return time.Since(p.run.started)
}

// IsAlive reports whether the process runs: it was started or attached and
// has not exited. A zombie has exited.
func (p *Process) IsAlive() bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.run != nil && !p.run.exited
}

// State returns the last state the manager observed.
func (p *Process) State() status.State {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.state
}

// GetNotificationChan returns the channel status changes are sent to: the
// one given to Notify, or the one the manager made for a template with
// notify set, which it closes when the process is deleted or the manager
// closes. It returns nil when the process has no notification channel.
func (p *Process) GetNotificationChan() <-chan Notification {
	if p.notifier == nil {
		return nil
	}
	return p.notifier.ch
}

// UpdateStatus reads the status file of the process, /proc/<pid>/status,
// records its state and returns it. It fails with ErrNotRunning when the
// process does not run.
func (p *Process) UpdateStatus() (*status.File, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	r := p.run
	if r == nil || r.exited {
		return nil, fmt.Errorf("process-manager: %s: %w", p.name, ErrNotRunning)
	}
	f, err := readStatusFile(r.pid)
	if err != nil {
		if errors.Is(err, errors.ErrUnsupported) {
			return nil, fmt.Errorf("process-manager: %s: status: %w", p.name, err)
		}
		if errors.Is(err, os.ErrNotExist) || isNoProcess(err) {
			// The process exited; its run loop records how.
			return nil, fmt.Errorf("process-manager: %s: %w", p.name, ErrNotRunning)
		}
		p.setStateLocked(status.Unavailable, Notification{})
		return nil, fmt.Errorf("process-manager: %s: status: %w", p.name, err)
	}
	p.setStateLocked(f.State, Notification{})
	return f, nil
}

// Start starts the process and reads its initial state, and turns automatic
// restarts on (see Restarts). It fails with ErrRunning if the process runs,
// and with ErrAttached for an attached process. A Start during the backoff
// before an automatic restart cancels that restart and starts at once.
func (p *Process) Start() error {
	if p.attached {
		return fmt.Errorf("process-manager: start %s: %w", p.name, ErrAttached)
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	for p.loop != nil {
		if p.run != nil && !p.run.exited {
			return fmt.Errorf("process-manager: start %s: %w", p.name, ErrRunning)
		}
		// The loop is between runs: end it, then start afresh.
		loop := p.loop
		p.disableRestartsLocked()
		p.mu.Unlock()
		<-loop
		p.mu.Lock()
	}
	if p.removed || p.m.closing.Load() {
		return fmt.Errorf("process-manager: start %s: %w", p.name, ErrClosed)
	}
	p.autoRestart = true
	p.restarts = 0
	p.delays = backoff.Backoff{Min: p.opts.backoff.initial, Max: p.opts.backoff.max}
	r, err := p.spawnLocked()
	if err != nil {
		p.autoRestart = false
		p.lastErr = err
		return fmt.Errorf("process-manager: start %s: %w", p.name, err)
	}
	p.startLoopLocked(r)
	return nil
}

// startLoopLocked starts the goroutine that waits for r to exit and
// restarts the process.
func (p *Process) startLoopLocked(r *run) {
	loop := make(chan struct{})
	p.loop, p.wake = loop, make(chan struct{}, 1)
	if !p.m.goTracked(func() { p.supervise(r, loop) }) {
		// The manager is past stopping its processes; nothing will watch
		// this run, so stop it now.
		p.loop = nil
		close(loop)
		r.stopping = true
		p.signalLocked(r, syscall.SIGKILL, true)
	}
}

// Restart stops the process gracefully (SIGTERM to its group, SIGKILL after
// the stop timeout), then starts it. A process that does not run is just
// started.
func (p *Process) Restart() error {
	if p.attached {
		return fmt.Errorf("process-manager: restart %s: %w", p.name, ErrAttached)
	}
	if _, err := p.StopAndWait(); err != nil && !errors.Is(err, ErrNotStarted) {
		return err
	}
	return p.Start()
}

// Stop sends SIGTERM (or the signal of WithStopSignal) to the process (to
// its process group when the manager started it, unless
// WithStopAsGroup(false)) and returns without waiting; the process may
// ignore it. It
// turns automatic restarts off, and cancels one pending. Stopping a process
// that does not run does nothing. When the process exits, what remains of
// its group is killed.
func (p *Process) Stop() error {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.disableRestartsLocked()
	r := p.run
	if r == nil || r.exited {
		return nil
	}
	r.stopping = true
	if err := p.signalLocked(r, p.opts.stopSignal, p.opts.stopAsGroup); err != nil {
		return fmt.Errorf("process-manager: stop %s: %w", p.name, err)
	}
	return nil
}

// StopAndWait stops the process as Stop does, waits for it to exit and
// returns its exit status. If the process has not exited after the stop
// timeout (WithStopTimeout), it sends SIGKILL and waits again. For a process
// that does not run it returns the last exit status.
func (p *Process) StopAndWait() (ExitStatus, error) {
	if err := p.Stop(); err != nil {
		return ExitStatus{}, err
	}
	p.mu.Lock()
	r := p.run
	p.mu.Unlock()
	if r == nil {
		return ExitStatus{}, fmt.Errorf("process-manager: stop %s: %w", p.name, ErrNotStarted)
	}
	return p.awaitStop(r)
}

func (p *Process) awaitStop(r *run) (ExitStatus, error) {
	t := time.NewTimer(p.opts.stopTimeout)
	defer t.Stop()
	select {
	case <-r.done:
	case <-t.C:
		p.mu.Lock()
		if !r.exited {
			p.m.Log.Warnf("%s (pid %d) still runs %v after %v: sending SIGKILL", p.name, r.pid, p.opts.stopTimeout, p.opts.stopSignal)
			r.stopping = true
			p.signalLocked(r, syscall.SIGKILL, p.opts.killAsGroup)
		}
		p.mu.Unlock()
		<-r.done
	}
	return p.exitOf(r)
}

// Kill sends SIGKILL to the process (to its process group when the manager
// started it, unless WithKillAsGroup(false)), turns automatic restarts off and waits until the process is
// reaped and its descriptors are released.
func (p *Process) Kill() error {
	p.mu.Lock()
	p.disableRestartsLocked()
	r := p.run
	if r == nil || r.exited {
		p.mu.Unlock()
		return nil
	}
	r.stopping = true
	err := p.signalLocked(r, syscall.SIGKILL, p.opts.killAsGroup)
	p.mu.Unlock()
	if err != nil {
		return fmt.Errorf("process-manager: kill %s: %w", p.name, err)
	}
	<-r.done
	return nil
}

// Wait waits until the current run of the process exits and returns its
// exit status; for a process that does not run it returns the last one. An
// automatic restart may follow. It fails with ErrNotStarted for a process
// never started, and with ErrClosed when the manager stops watching the
// process before it exits (a detached process at Close).
func (p *Process) Wait() (ExitStatus, error) {
	p.mu.Lock()
	r := p.run
	p.mu.Unlock()
	if r == nil {
		return ExitStatus{}, fmt.Errorf("process-manager: wait %s: %w", p.name, ErrNotStarted)
	}
	<-r.done
	return p.exitOf(r)
}

func (p *Process) exitOf(r *run) (ExitStatus, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if r.abandoned {
		return ExitStatus{}, fmt.Errorf("process-manager: wait %s: %w", p.name, ErrClosed)
	}
	return r.exit, nil
}

// Signal sends sig to the process itself, not to its group. It fails with
// ErrNotRunning when the process does not run. Signals that stop or end the
// process are observed by the status watcher like any other cause.
func (p *Process) Signal(sig os.Signal) error {
	s, ok := sig.(syscall.Signal)
	if !ok {
		return fmt.Errorf("process-manager: signal %s: unsupported signal type %T", p.name, sig)
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	r := p.run
	if r == nil || r.exited {
		return fmt.Errorf("process-manager: signal %s: %w", p.name, ErrNotRunning)
	}
	if err := p.signalLocked(r, s, false); err != nil {
		return fmt.Errorf("process-manager: signal %s: %w", p.name, err)
	}
	return nil
}

// signalLocked sends sig to the process group of r when toGroup is set and
// r is a child, else to the process. Its pid and pgid are safe to use:
// until r is recorded as exited, the process is at worst an unreaped
// zombie, which holds both.
func (p *Process) signalLocked(r *run, sig syscall.Signal, toGroup bool) error {
	if r.exited {
		return nil
	}
	err := r.signal(sig, toGroup && r.group)
	if isNoProcess(err) {
		return nil // exited; the run loop records it
	}
	return err
}

// disableRestartsLocked turns automatic restarts off and ends a backoff.
func (p *Process) disableRestartsLocked() {
	p.autoRestart = false
	if p.wake != nil {
		select {
		case p.wake <- struct{}{}:
		default:
		}
	}
}

// Info is a snapshot of a process, as served by GET /process/{name}.
type Info struct {
	Name      string       `json:"name"`
	Command   string       `json:"command,omitempty"`
	Args      []string     `json:"args,omitempty"`
	Pid       int          `json:"pid"`
	State     status.State `json:"state"`
	Alive     bool         `json:"alive"`
	Attached  bool         `json:"attached,omitempty"`
	Detached  bool         `json:"detached,omitempty"`
	StartTime time.Time    `json:"start_time,omitzero"`
	// UpTime is for how long the current run has been running.
	UpTime time.Duration `json:"up_time_ns"`
	// Restarts counts the automatic restarts since the last Start, and
	// RestartLimit is the Restarts option (negative: always).
	Restarts     int   `json:"restarts"`
	RestartLimit int32 `json:"restart_limit"`
	// LastExit is the exit status of the last run that ended.
	LastExit *ExitStatus `json:"last_exit,omitempty"`
	// LastError is the last failure to start the process or to set its CPU
	// affinity.
	LastError string `json:"last_error,omitempty"`
	// AffinityError says why the current or last run is not bound to the
	// CPUs that CPUAffinity names ("CPU 2 does not exist on this machine
	// (CPUs 0-1)"): a CPU the machine lacks or the agent may not use, or a
	// failed sched_setaffinity. The process runs all the same, bound to
	// the usable CPUs of the set, if any. Empty when bound as asked.
	AffinityError string `json:"affinity_error,omitempty"`
	// NotificationsDropped counts notifications dropped because the reader
	// of the notification channel fell more than 16 behind.
	NotificationsDropped uint64 `json:"notifications_dropped"`
	// OutputBytesDropped counts the bytes of output that the writers given
	// to Writer refused (an error or a short write), over every run. The
	// manager keeps reading the output all the same, so the process never
	// blocks on a failing writer, and offers the writer what follows.
	OutputBytesDropped uint64 `json:"output_bytes_dropped"`
	// ManagedBy is the owner given by the ManagedBy option, if any.
	ManagedBy string `json:"managed_by,omitempty"`
}

// Info returns a snapshot of the process.
func (p *Process) Info() Info {
	p.mu.Lock()
	defer p.mu.Unlock()
	in := Info{
		Name:         p.name,
		Command:      p.cmd,
		Args:         slices.Clone(p.opts.args),
		State:        p.state,
		Attached:     p.attached,
		Detached:     p.opts.detach,
		Restarts:     p.restarts,
		RestartLimit: p.opts.restarts,
		ManagedBy:    p.opts.managedBy,

		OutputBytesDropped: p.outputDropped.Load(),
	}
	if in.State == "" {
		in.State = status.Initial
	}
	if r := p.run; r != nil {
		in.Pid, in.StartTime, in.Alive = r.pid, r.started, !r.exited
		if in.Alive {
			in.UpTime = time.Since(r.started)
		}
	}
	if p.lastExit != nil {
		e := *p.lastExit
		in.LastExit = &e
	}
	if p.lastErr != nil {
		in.LastError = p.lastErr.Error()
	}
	if p.affinityErr != nil {
		in.AffinityError = p.affinityErr.Error()
	}
	if p.notifier != nil {
		in.NotificationsDropped = p.notifier.droppedCount()
	}
	return in
}

// setStateLocked records st and, when it changed or force is set, notifies
// and reports it. n carries the fields of the notification beyond the
// state.
func (p *Process) setStateLocked(st status.State, n Notification) {
	prev := p.state
	if prev == "" {
		prev = status.Initial
	}
	if st == prev && n.Exit == nil && n.Err == nil {
		return
	}
	p.state = st
	if p.notifier != nil {
		n.Name, n.State, n.Previous, n.Restarts = p.name, st, prev, p.restarts
		if p.run != nil {
			n.Pid = p.run.pid
		}
		n.Time = time.Now()
		p.notifier.push(n)
	}
	p.reportLocked()
}

// reportLocked reports the state to the status check, when asked to.
func (p *Process) reportLocked() {
	sc := p.m.StatusCheck
	if !p.opts.statusCheck || sc == nil {
		return
	}
	name := p.opts.statusName
	if name == "" {
		name = p.name
	}
	state, cause := statuscheck.StateOK, error(nil)
	switch p.state {
	case "", status.Initial:
		state = statuscheck.StateInit
	case status.Stopped, status.TracingStop:
		state, cause = statuscheck.StateError, fmt.Errorf("%s: %s", p.name, p.state)
	case status.Unavailable:
		state, cause = statuscheck.StateError, fmt.Errorf("%s: status unavailable", p.name)
	case status.Terminated, status.Zombie, status.Dead:
		state, cause = statuscheck.StateError, fmt.Errorf("%s: terminated", p.name)
		if p.lastExit != nil {
			cause = fmt.Errorf("%s: terminated: %s", p.name, p.lastExit)
		}
	}
	if err := sc.ReportStateChange(name, state, cause); err != nil {
		p.m.Log.Warnf("%s: status check: %v", p.name, err)
	}
}
