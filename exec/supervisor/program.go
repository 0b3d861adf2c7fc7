package supervisor

import (
	"cmp"
	"errors"
	"fmt"
	"slices"
	"sync"
	"time"

	"github.com/plinth-go/plinth/exec/processmanager"
	"github.com/plinth-go/plinth/exec/processmanager/status"
	"github.com/plinth-go/plinth/health/statuscheck"
	"github.com/plinth-go/plinth/internal/backoff"
)

// maxQueuedEvents bounds the events of one program waiting for its hooks:
// a burst of restarts (three events each) fits, while a hook that hangs
// until its timeout on every event cannot make the queue grow without end.
// When full, the oldest event is dropped and counted
// (ProgramStatus.HookEventsDropped).
const maxQueuedEvents = 64

// program is a program of the conf and what the supervisor knows of it.
type program struct {
	p    *Plugin
	name string
	path string // the executable, resolved
	conf Program
	proc *processmanager.Process

	notify   chan processmanager.Notification // of proc; read by dispatch
	quit     chan struct{}                    // closed when the program is removed: dispatch ends
	logPaths []string                         // the log files it holds (Plugin.acquireLog)

	startedAfter time.Duration // start-seconds: a run this long counts as started
	// policy is set when start-seconds, start-retries or autorestart is:
	// decide then rules the restarts, rather than the restarts count.
	policy    bool
	stopAfter []int // indexes in Plugin.programs of the programs that stop before this one; guarded by Plugin.mu

	// ctl serializes the operator's actions (StartProgram, StopProgram,
	// RestartProgram) and the stop of Close, so that one never interleaves
	// its stop and start with another's.
	ctl sync.Mutex

	mu        sync.Mutex // guards the fields below
	state     ProgramState
	procState status.State
	runPid    int  // pid of the run in progress, as notified; 0 when none
	lastTerm  int  // pid of the last run reported terminated
	runs      int  // runs seen started
	restarts  int  // runs seen started after the first: ProgramStatus.Restarts
	held      bool // stopped by the operator: its end is a stop, not a crash
	stopping  bool
	lastErr   error
	hooks     []hookRun     // the hooks that apply to this program; Reload replaces them
	events    []queuedEvent // waiting for the hooks
	closed    bool          // no more events: the hook worker ends when events is empty
	dropped   uint64        // events dropped from a full queue
	wake      chan struct{} // cap 1: events has grown or closed was set
	handled   chan struct{} // cap 1: handle processed a notification

	waiting      bool        // waits for its dependencies before its first start
	failedStarts int         // failed starts in a row (start-retries)
	crashes      int         // automatic restarts in a row of started runs
	fatalErr     error       // why the program is fatal
	upTimer      *time.Timer // ends the start-seconds of the current run
	retry        *time.Timer // retries a start that could not execute the program
}

// queuedEvent is an event waiting for the hooks that applied to it when
// it happened: a reload replaces the hooks of later events only.
type queuedEvent struct {
	ev    Event
	hooks []hookRun
}

func newProgram(p *Plugin, pc Program, path string, hooks []hookRun) *program {
	return &program{p: p, name: pc.Name, path: path, conf: pc, state: ProgramStateInitial,
		wake: make(chan struct{}, 1), handled: make(chan struct{}, 1),
		notify: make(chan processmanager.Notification), quit: make(chan struct{}),
		hooks:        hooksFor(hooks, pc.Name),
		startedAfter: time.Duration(pc.StartSeconds),
		policy:       pc.StartSeconds > 0 || pc.StartRetries > 0 || pc.Autorestart != ""}
}

// dispatch turns the notifications of the program's process into events,
// until the program is removed or Close. It never blocks on hooks: each
// program queues its own. The events are computed and delivered under
// Plugin.deliverMu, so that an event of a timer (running) or of an
// operator (stopping) is never delivered out of order with them.
func (pr *program) dispatch() {
	for {
		select {
		case n := <-pr.notify:
			pr.p.deliverMu.Lock()
			pr.p.deliverLocked(pr, pr.handle(n))
			pr.p.deliverMu.Unlock()
		case <-pr.quit:
			return
		case <-pr.p.stopDispatch:
			return
		}
	}
}

// reportInit reports the program to the status check as not started.
func (pr *program) reportInit() {
	if sc := pr.p.StatusCheck; sc != nil {
		if err := sc.ReportStateChange(StatusPrefix+pr.name, statuscheck.StateInit, nil); err != nil {
			pr.p.Log.Warnf("%s: status check: %v", pr.name, err)
		}
	}
}

// backoff returns the restart delays of WithBackoff.
func (pr *program) backoff() (initial, limit, reset time.Duration) {
	initial = DefaultRestartDelay
	if pr.conf.RestartDelay != nil {
		initial = *pr.conf.RestartDelay
	}
	limit = max(initial, cmp.Or(pr.conf.RestartDelayMax, DefaultRestartDelayMax))
	return initial, limit, processmanager.DefaultBackoffReset
}

func (pr *program) event(t EventType, state string, pid int) Event {
	return Event{Program: pr.name, Type: t, State: state, Pid: pid, Executable: pr.path, Time: time.Now()}
}

// stateEvent is the event of the program entering the state of the same
// name as t, for the run pid. It takes the lock of the process: the caller
// must not hold pr.mu, which the restart policy takes under that lock.
func (pr *program) stateEvent(t EventType, pid int) Event {
	ev := pr.event(t, string(t), pid)
	if pr.proc != nil {
		ev.Restarts = pr.proc.Info().Restarts
	}
	return ev
}

// freshStart starts the program as the supervisor or an operator does:
// its failed starts and restarts in a row count from zero again.
func (pr *program) freshStart() error {
	pr.mu.Lock()
	pr.failedStarts, pr.crashes, pr.fatalErr, pr.waiting = 0, 0, nil, false
	pr.cancelRetryLocked()
	pr.mu.Unlock()
	return pr.start()
}

// start starts the program. A failure is also reported: logged, state
// failed and a failed event, or, with start-retries left, state backoff
// and a retry after the restart delay; after the last retry the program
// is fatal (a gave-up event follows the failed one). AfterInit goes on
// with the other programs.
func (pr *program) start() error {
	err := pr.proc.Start()
	if err == nil || errors.Is(err, processmanager.ErrRunning) || errors.Is(err, processmanager.ErrClosed) {
		// The process manager notifies a start; the caller tells of a
		// conflict.
		return err
	}
	pr.p.Log.Errorf("%s: %v", pr.name, err)
	ev := pr.event(EventTypeFailed, string(ProgramStateFailed), 0)
	ev.Err = err
	evs := []Event{ev}
	pr.p.deliverMu.Lock()
	defer pr.p.deliverMu.Unlock()
	pr.mu.Lock()
	pr.state, pr.lastErr = ProgramStateFailed, err
	if pr.conf.StartRetries > 0 && !pr.stopping && !pr.held {
		pr.failedStarts++
		if pr.failedStarts <= pr.conf.StartRetries {
			// The delay follows the count, which the restart policy
			// (decide) advances too: the failedStarts-th of the schedule.
			initial, limit, _ := pr.backoff()
			delays := backoff.Backoff{Min: initial, Max: limit}
			var delay time.Duration
			for range pr.failedStarts {
				if delay = delays.Next(); delay == limit {
					break
				}
			}
			pr.state = ProgramStateBackoff
			evs[0].Restarting, evs[0].RestartIn = true, delay
			waiting := pr.event(EventTypeBackoff, string(ProgramStateBackoff), 0)
			waiting.Err, waiting.Restarting, waiting.RestartIn = err, true, delay
			evs = append(evs, waiting)
			pr.retry = pr.p.afterFunc(delay, pr.retryStart)
		} else {
			pr.state = ProgramStateFatal
			pr.fatalErr = fmt.Errorf("%d failed starts in a row (start-retries: %d), the last: %w", pr.failedStarts, pr.conf.StartRetries, err)
			fatal := pr.event(EventTypeFatal, string(ProgramStateFatal), 0)
			fatal.Err = pr.fatalErr
			gaveUp := fatal
			gaveUp.Type = EventTypeGaveUp
			evs = append(evs, fatal, gaveUp)
		}
	}
	pr.mu.Unlock()
	pr.p.deliverLocked(pr, evs)
	return err
}

// retryStart retries a start that could not execute the program, unless an
// operator or Close acted meanwhile.
func (pr *program) retryStart() {
	pr.ctl.Lock()
	defer pr.ctl.Unlock()
	pr.mu.Lock()
	due := pr.retry != nil && !pr.stopping && !pr.held
	pr.retry = nil
	pr.mu.Unlock()
	if due {
		_ = pr.start() // reported
	}
}

// cancelRetryLocked cancels a pending retry of a failed start.
func (pr *program) cancelRetryLocked() bool {
	if pr.retry == nil {
		return false
	}
	pr.retry.Stop()
	pr.retry = nil
	return true
}

// decide is the restart policy of a program with start-seconds,
// start-retries or autorestart (see processmanager.WithRestartPolicy). A
// run shorter than start-seconds, or a restart that could not execute the
// program, is a failed start: retried while start-retries allow, then the
// program is fatal. A started run that ends restarts as autorestart says
// (or restarts, without autorestart), within restarts when it is positive.
// The Reason of the decision is the state the program is in until the
// restart, or for good.
func (pr *program) decide(e processmanager.RunEnd) processmanager.RestartDecision {
	pr.mu.Lock()
	defer pr.mu.Unlock()
	if e.Exit == nil || e.Exit.RunTime < pr.startedAfter {
		pr.failedStarts++
		if pr.failedStarts <= pr.conf.StartRetries {
			return processmanager.RestartDecision{Restart: true, Delay: e.Delay, Reason: string(ProgramStateBackoff)}
		}
		cause := e.Err
		if e.Exit != nil {
			cause = fmt.Errorf("%s after %v, before its start-seconds (%v)", e.Exit, e.Exit.RunTime.Round(time.Millisecond), pr.startedAfter)
		}
		pr.fatalErr = fmt.Errorf("%d failed starts in a row (start-retries: %d), the last: %w", pr.failedStarts, pr.conf.StartRetries, cause)
		return processmanager.RestartDecision{Reason: string(ProgramStateFatal)}
	}
	pr.failedStarts = 0
	var restart bool
	switch pr.conf.Autorestart {
	case AutorestartAlways, "true":
		restart = true
	case AutorestartUnexpected:
		restart = !pr.expected(e.Exit)
	case AutorestartNever, "false":
	default:
		restart = pr.conf.Restarts != 0
	}
	if !restart {
		return processmanager.RestartDecision{Reason: string(ProgramStateExited)}
	}
	limit := pr.conf.Restarts
	if pr.conf.Autorestart != "" && limit == 0 {
		limit = -1
	}
	if limit >= 0 && pr.crashes >= limit {
		return processmanager.RestartDecision{Reason: string(ProgramStateGaveUp)}
	}
	pr.crashes++
	return processmanager.RestartDecision{Restart: true, Delay: e.Delay, Reason: string(ProgramStateBackoff)}
}

// expected reports whether e is an expected exit: a code of exit-codes
// (default 0), not a signal.
func (pr *program) expected(e *processmanager.ExitStatus) bool {
	if e.Signal != 0 || e.Code < 0 {
		return false
	}
	if len(pr.conf.ExitCodes) == 0 {
		return e.Code == 0
	}
	return slices.Contains(pr.conf.ExitCodes, e.Code)
}

// armUpTimerLocked ends the start-seconds of the run pid, which started at
// began: the program is running then, unless the run ended before.
func (pr *program) armUpTimerLocked(pid int, began time.Time) {
	if pr.upTimer != nil {
		pr.upTimer.Stop()
	}
	pr.upTimer = pr.p.afterFunc(pr.startedAfter-time.Since(began), func() {
		// deliverMu first: the running event must not overtake the
		// events of the notifications handled before it.
		pr.p.deliverMu.Lock()
		defer pr.p.deliverMu.Unlock()
		ev := pr.stateEvent(EventTypeRunning, pid)
		pr.mu.Lock()
		up := pr.runPid == pid && pr.state == ProgramStateStarting
		if up {
			pr.state = ProgramStateRunning
			pr.failedStarts = 0
		}
		pr.mu.Unlock()
		if up {
			pr.p.Log.Debugf("%s (pid %d) has been running for its start-seconds (%v)", pr.name, pid, pr.startedAfter)
			pr.p.deliverLocked(pr, []Event{ev})
			pr.p.wakeStarter()
		}
	})
}

// isWaiting reports whether the program waits for its dependencies.
func (pr *program) isWaiting() bool {
	pr.mu.Lock()
	defer pr.mu.Unlock()
	return pr.waiting && !pr.stopping
}

// up reports whether the program runs and has been running for its
// start-seconds.
func (pr *program) up() bool {
	pr.mu.Lock()
	defer pr.mu.Unlock()
	return pr.state == ProgramStateRunning && pr.runPid != 0
}

// depsUp reports whether every dependency of the program is up.
func (pr *program) depsUp() bool {
	for _, name := range pr.conf.DependsOn {
		if d := pr.p.program(name); d == nil || !d.up() {
			return false
		}
	}
	return true
}

// waitingFor lists the dependencies that are not up, while the program
// waits for them.
func (pr *program) waitingFor() []string {
	if !pr.isWaiting() {
		return nil
	}
	var names []string
	for _, name := range pr.conf.DependsOn {
		if d := pr.p.program(name); d == nil || !d.up() {
			names = append(names, name)
		}
	}
	return names
}

// startWaiting starts the program for the starter, unless an operator
// started or stopped it meanwhile, or the agent stops.
func (pr *program) startWaiting() {
	pr.ctl.Lock()
	defer pr.ctl.Unlock()
	if !pr.isWaiting() {
		return
	}
	pr.p.Log.Infof("%s: its dependencies run: starting it", pr.name)
	_ = pr.freshStart() // reported
}

// handle turns a notification of the process manager into events.
func (pr *program) handle(n processmanager.Notification) []Event {
	pr.mu.Lock()
	defer pr.mu.Unlock()
	// Wake an operator's action waiting for its run to be seen (awaitSeen).
	defer func() {
		select {
		case pr.handled <- struct{}{}:
		default:
		}
	}()
	if pr.stopping {
		// Close reports the end of the program itself.
		return nil
	}
	var evs []Event
	switch {
	case n.State == status.Terminated:
		wasRunning := pr.state == ProgramStateRunning && n.Pid != 0 && n.Pid == pr.runPid
		var ev Event
		if n.Exit == nil && n.Err != nil {
			// An automatic restart could not start the program.
			ev = pr.event(EventTypeFailed, string(ProgramStateFailed), 0)
			ev.Err, pr.lastErr = n.Err, n.Err
		} else {
			ev = pr.event(EventTypeTerminated, string(status.Terminated), n.Pid)
			ev.Exit = n.Exit
			if n.Pid != pr.runPid && n.Pid != pr.lastTerm {
				// The notifications of its start were dropped.
				pr.countRunLocked()
			}
			pr.lastTerm = n.Pid
		}
		ev.Restarts, ev.Restarting, ev.RestartIn, ev.Time = n.Restarts, n.Restarting, n.RestartIn, n.Time
		pr.runPid, pr.procState = 0, status.Terminated
		if pr.upTimer != nil {
			pr.upTimer.Stop()
			pr.upTimer = nil
		}
		switch {
		case n.Restarting:
			pr.state = ProgramStateBackoff
		case pr.held && ev.Type == EventTypeTerminated:
			// The operator stopped it (StopProgram, RestartProgram):
			// neither a crash nor the end of the restarts.
			pr.state = ProgramStateStopped
			ev.Type, ev.State = EventTypeStopped, string(ProgramStateStopped)
		case n.Reason != "":
			// The restart policy of start-seconds, start-retries or
			// autorestart said what the program is now.
			pr.state = ProgramState(n.Reason)
		case pr.conf.Restarts == 0:
			pr.state = ProgramStateExited
			if ev.Type == EventTypeFailed {
				pr.state = ProgramStateFailed
			}
		default:
			pr.state = ProgramStateGaveUp
		}
		evs = append(evs, ev)
		if ev.Type == EventTypeTerminated && wasRunning {
			// supervisord's EXITED: a run that had started ended on its
			// own, restarted or not.
			exited := ev
			exited.Type, exited.State = EventTypeExited, string(ProgramStateExited)
			evs = append(evs, exited)
		}
		switch pr.state {
		case ProgramStateBackoff:
			backoff := ev
			backoff.Type, backoff.State = EventTypeBackoff, string(ProgramStateBackoff)
			evs = append(evs, backoff)
		case ProgramStateGaveUp:
			gaveUp := ev
			gaveUp.Type, gaveUp.State, gaveUp.Err = EventTypeGaveUp, string(ProgramStateGaveUp), nil
			evs = append(evs, gaveUp)
		case ProgramStateFatal:
			fatal := ev
			fatal.Type, fatal.State, fatal.Err = EventTypeFatal, string(ProgramStateFatal), pr.fatalErr
			gaveUp := fatal
			gaveUp.Type = EventTypeGaveUp
			evs = append(evs, fatal, gaveUp)
		}
	case n.State == status.Initial || n.Pid == 0:
	default:
		if n.Pid != pr.runPid {
			pr.countRunLocked()
			pr.runPid, pr.state = n.Pid, ProgramStateRunning
			if pr.startedAfter > 0 {
				pr.state = ProgramStateStarting
				pr.armUpTimerLocked(n.Pid, n.Time)
			} else {
				pr.p.wakeStarter()
			}
			ev := pr.event(EventTypeStarted, string(EventTypeStarted), n.Pid)
			ev.Restarts, ev.Time = n.Restarts, n.Time
			starting := ev
			starting.Type, starting.State = EventTypeStarting, string(ProgramStateStarting)
			evs = append(evs, ev, starting)
			if pr.startedAfter == 0 {
				running := ev
				running.Type, running.State = EventTypeRunning, string(ProgramStateRunning)
				evs = append(evs, running)
			}
		} else if n.State == pr.procState {
			return nil
		}
		pr.procState = n.State
		ev := pr.event(EventTypeStatus, string(n.State), n.Pid)
		ev.Restarts, ev.Time = n.Restarts, n.Time
		evs = append(evs, ev)
	}
	return evs
}

// countRunLocked counts a run seen started: every run after the first is a
// restart, whoever started it.
func (pr *program) countRunLocked() {
	if pr.runs > 0 {
		pr.restarts++
	}
	pr.runs++
}

// stop stops the program for Close and reports it stopped.
func (pr *program) stop() error {
	// An operator's action in progress ends first; the next one finds
	// stopping set.
	pr.ctl.Lock()
	defer pr.ctl.Unlock()
	stopping := pr.stateEvent(EventTypeStopping, 0)
	pr.p.deliverMu.Lock()
	pr.mu.Lock()
	was := pr.state
	pr.stopping = true
	if pr.upTimer != nil {
		pr.upTimer.Stop()
	}
	retrying := pr.cancelRetryLocked()
	alive := pr.runPid != 0 && !retrying
	if alive {
		pr.state, stopping.Pid = ProgramStateStopping, pr.runPid
	}
	pr.mu.Unlock()
	if alive {
		pr.p.deliverLocked(pr, []Event{stopping})
	}
	pr.p.deliverMu.Unlock()
	if retrying {
		// A start that failed was to be retried: that retry is cancelled.
		pr.mu.Lock()
		pr.state = ProgramStateStopped
		pr.mu.Unlock()
		ev := pr.event(EventTypeStopped, string(ProgramStateStopped), 0)
		pr.p.deliver(pr, []Event{ev})
		return nil
	}
	es, err := pr.proc.StopAndWait()
	if errors.Is(err, processmanager.ErrNotStarted) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("supervisor: stop %s: %w", pr.name, err)
	}
	pr.mu.Lock()
	// A run not yet reported terminated was stopped now; a program in
	// backoff lost its pending restart.
	stopped := es.Pid != pr.lastTerm || was == ProgramStateBackoff
	if stopped {
		pr.state, pr.runPid = ProgramStateStopped, 0
	}
	pr.mu.Unlock()
	restarts := pr.proc.Info().Restarts
	if stopped {
		ev := pr.event(EventTypeStopped, string(ProgramStateStopped), es.Pid)
		ev.Exit, ev.Restarts = &es, restarts
		pr.p.deliver(pr, []Event{ev})
	}
	return nil
}

// report sends the state an event leads to to the status check.
func (pr *program) report(ev Event) {
	sc := pr.p.StatusCheck
	if sc == nil {
		return
	}
	state, cause := statuscheck.StateOK, error(nil)
	switch ev.Type {
	case EventTypeStarted:
	case EventTypeTerminated:
		switch {
		case ev.Restarting:
			state, cause = statuscheck.StateError, fmt.Errorf("%s terminated (%s), restarting in %v", pr.name, ev.Exit, ev.RestartIn)
		case !ev.Exit.Success():
			state, cause = statuscheck.StateError, fmt.Errorf("%s terminated (%s)", pr.name, ev.Exit)
		}
	case EventTypeGaveUp:
		state = statuscheck.StateError
		if ev.State == string(ProgramStateFatal) {
			cause = fmt.Errorf("%s is fatal: %w", pr.name, ev.Err)
			break
		}
		cause = fmt.Errorf("%s gave up after %d restarts", pr.name, ev.Restarts)
		if ev.Exit != nil {
			cause = fmt.Errorf("%s gave up after %d restarts: %s", pr.name, ev.Restarts, ev.Exit)
		}
	case EventTypeFailed:
		state, cause = statuscheck.StateError, fmt.Errorf("%s failed to start: %w", pr.name, ev.Err)
	default:
		// Kernel states change often and say nothing of health; a stop
		// is wanted, by the agent stopping or an operator, and keeps the
		// last state until the program runs again.
		return
	}
	if err := sc.ReportStateChange(StatusPrefix+pr.name, state, cause); err != nil {
		pr.p.Log.Warnf("%s: status check: %v", pr.name, err)
	}
}

// queue hands ev to the hook worker of the program.
func (pr *program) queue(ev Event) {
	pr.mu.Lock()
	var hooks []hookRun
	for _, h := range pr.hooks {
		if h.matches(ev) {
			hooks = append(hooks, h)
		}
	}
	if len(hooks) == 0 || pr.closed {
		pr.mu.Unlock()
		return
	}
	if len(pr.events) == maxQueuedEvents {
		pr.events = slices.Delete(pr.events, 0, 1)
		pr.dropped++
		if pr.dropped == 1 || pr.dropped%100 == 0 {
			pr.p.Log.Warnf("%s: hooks fall behind: %d events dropped so far", pr.name, pr.dropped)
		}
	}
	pr.events = append(pr.events, queuedEvent{ev: ev, hooks: hooks})
	pr.mu.Unlock()
	pr.signal()
}

func (pr *program) signal() {
	select {
	case pr.wake <- struct{}{}:
	default:
	}
}

func (pr *program) closeQueue() {
	pr.mu.Lock()
	pr.closed = true
	pr.mu.Unlock()
	pr.signal()
}

// next returns the next event for the hooks, waiting for one; false when
// the queue is closed and empty or the plugin's context ended.
func (pr *program) next() (queuedEvent, bool) {
	for {
		pr.mu.Lock()
		if len(pr.events) > 0 {
			q := pr.events[0]
			pr.events = slices.Delete(pr.events, 0, 1)
			pr.mu.Unlock()
			return q, true
		}
		closed := pr.closed
		pr.mu.Unlock()
		if closed {
			return queuedEvent{}, false
		}
		select {
		case <-pr.wake:
		case <-pr.p.ctx.Done():
			return queuedEvent{}, false
		}
	}
}

// runHooks runs the hooks of the program's events one event after the
// other, until Close.
func (pr *program) runHooks() {
	for {
		q, ok := pr.next()
		if !ok {
			break
		}
		for _, h := range q.hooks {
			pr.p.runHook(h, q.ev)
		}
	}
	pr.mu.Lock()
	left := len(pr.events)
	pr.events = nil
	pr.mu.Unlock()
	if left > 0 {
		pr.p.Log.Warnf("%s: hooks of %d events skipped: the agent stopped", pr.name, left)
	}
}

// ProgramStatus is the state of a program, as GET /supervisor/programs
// serves it.
type ProgramStatus struct {
	Name  string       `json:"name"`
	State ProgramState `json:"state"`
	// ProcessState is the state the kernel reports for the running program
	// ("sleeping"), or "terminated".
	ProcessState status.State `json:"process_state"`
	// Pid is the pid of the running program, or 0.
	Pid int `json:"pid"`
	// Restarts counts the runs started after the program's first one,
	// whoever started them: automatic restarts, and the operator's starts
	// and restarts (StartProgram, RestartProgram, the REST API, agentctl,
	// the dashboard). It never starts again from zero while the agent runs.
	// RestartLimit is the restarts setting (-1: always), which still bounds
	// only the automatic restarts in a row: those since the program was
	// last started by the supervisor or the operator.
	Restarts     int       `json:"restarts"`
	RestartLimit int       `json:"restart_limit"`
	StartTime    time.Time `json:"start_time,omitzero"`
	// UpTime is for how long the current run has been running.
	UpTime time.Duration `json:"up_time_ns"`
	// LastExitCode is the exit code of the last run that ended, absent when
	// none ended or a signal ended it (LastExitSignal, e.g. "SIGKILL").
	LastExitCode   *int   `json:"last_exit_code,omitempty"`
	LastExitSignal string `json:"last_exit_signal,omitempty"`
	// LastError is the last failure to start the program or to bind it to
	// its CPUs.
	LastError string `json:"last_error,omitempty"`
	// AffinityError says why the current or last run is not bound to the
	// CPUs of cpu-affinity-mask or cpu-affinity-list ("CPU 2 does not exist
	// on this machine (CPUs 0-1)"); empty when it is.
	AffinityError string   `json:"affinity_error,omitempty"`
	Executable    string   `json:"executable"`
	Args          []string `json:"args,omitempty"`
	// HookEventsDropped counts events whose hooks were skipped because the
	// hooks of the program fell more than 64 events behind.
	HookEventsDropped uint64 `json:"hook_events_dropped"`
	// WaitingFor names the dependencies (depends-on) that the program waits
	// for before its first start: those not yet running for their
	// start-seconds.
	WaitingFor []string `json:"waiting_for,omitempty"`
}

func (pr *program) status() ProgramStatus {
	in := pr.proc.Info()
	waitingFor := pr.waitingFor()
	pr.mu.Lock()
	defer pr.mu.Unlock()
	s := ProgramStatus{
		Name:              pr.name,
		State:             pr.state,
		ProcessState:      in.State,
		Restarts:          pr.restarts,
		RestartLimit:      pr.conf.Restarts,
		StartTime:         in.StartTime,
		UpTime:            in.UpTime,
		LastError:         in.LastError,
		AffinityError:     in.AffinityError,
		Executable:        pr.path,
		Args:              in.Args,
		HookEventsDropped: pr.dropped,
		WaitingFor:        waitingFor,
	}
	if in.Alive {
		s.Pid = in.Pid
		// The notification of the start may still be on its way. With
		// start-seconds, only the end of its start-seconds makes a run
		// running.
		switch {
		case pr.state == ProgramStateStopping:
			s.State = ProgramStateStopping
		case pr.startedAfter == 0 || (pr.runPid == in.Pid && pr.state == ProgramStateRunning):
			s.State = ProgramStateRunning
		default:
			s.State = ProgramStateStarting
		}
	}
	if s.LastError == "" && pr.lastErr != nil {
		s.LastError = pr.lastErr.Error()
	}
	if pr.state == ProgramStateFatal && pr.fatalErr != nil {
		s.LastError = pr.fatalErr.Error()
	}
	if e := in.LastExit; e != nil {
		if e.Signal != 0 {
			s.LastExitSignal = signalName(e.Signal)
		} else if e.Code >= 0 {
			code := e.Code
			s.LastExitCode = &code
		}
	}
	return s
}
