package supervisor

import (
	"cmp"
	"errors"
	"fmt"
	"slices"
	"sync"
	"time"

	"golang.org/x/sys/unix"

	"github.com/plinth-go/plinth/exec/processmanager"
	"github.com/plinth-go/plinth/exec/processmanager/status"
	"github.com/plinth-go/plinth/health/statuscheck"
)

// maxQueuedEvents bounds the events of one program waiting for its hooks:
// a burst of restarts (three events each) fits, while a hook that hangs
// until its timeout on every event cannot make the queue grow without end.
// When full, the oldest event is dropped and counted
// (ProgramStatus.HookEventsDropped).
const maxQueuedEvents = 64

// program is a program of the conf and what the supervisor knows of it.
type program struct {
	p     *Plugin
	name  string
	path  string // the executable, resolved
	conf  Program
	proc  *processmanager.Process
	hooks []hookRun // the hooks that apply to this program

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
	events    []Event       // waiting for the hooks
	closed    bool          // no more events: the hook worker ends when events is empty
	dropped   uint64        // events dropped from a full queue
	wake      chan struct{} // cap 1: events has grown or closed was set
	handled   chan struct{} // cap 1: handle processed a notification
}

func newProgram(p *Plugin, pc Program, path string) *program {
	prog := &program{p: p, name: pc.Name, path: path, conf: pc, state: ProgramStateInitial,
		wake: make(chan struct{}, 1), handled: make(chan struct{}, 1)}
	for _, h := range p.hooks {
		if h.ProgramName == "" || h.ProgramName == pc.Name {
			prog.hooks = append(prog.hooks, h)
		}
	}
	return prog
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

// start starts the program. A failure is also reported: logged, state
// failed and a failed event; AfterInit goes on with the other programs.
func (pr *program) start() error {
	err := pr.proc.Start()
	if err == nil || errors.Is(err, processmanager.ErrRunning) || errors.Is(err, processmanager.ErrClosed) {
		// The process manager notifies a start; the caller tells of a
		// conflict.
		return err
	}
	pr.p.Log.Errorf("%s: %v", pr.name, err)
	pr.mu.Lock()
	pr.state, pr.lastErr = ProgramStateFailed, err
	pr.mu.Unlock()
	ev := pr.event(EventTypeFailed, string(ProgramStateFailed), 0)
	ev.Err = err
	pr.p.deliver([]Event{ev})
	return err
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
		switch {
		case n.Restarting:
			pr.state = ProgramStateBackoff
		case pr.held && ev.Type == EventTypeTerminated:
			// The operator stopped it (StopProgram, RestartProgram):
			// neither a crash nor the end of the restarts.
			pr.state = ProgramStateStopped
			ev.Type, ev.State = EventTypeStopped, string(ProgramStateStopped)
		case pr.conf.Restarts == 0:
			pr.state = ProgramStateExited
			if ev.Type == EventTypeFailed {
				pr.state = ProgramStateFailed
			}
		default:
			pr.state = ProgramStateGaveUp
		}
		evs = append(evs, ev)
		if pr.state == ProgramStateGaveUp {
			gaveUp := ev
			gaveUp.Type, gaveUp.State, gaveUp.Err = EventTypeGaveUp, string(ProgramStateGaveUp), nil
			evs = append(evs, gaveUp)
		}
	case n.State == status.Initial || n.Pid == 0:
	default:
		if n.Pid != pr.runPid {
			pr.countRunLocked()
			pr.runPid, pr.state = n.Pid, ProgramStateRunning
			ev := pr.event(EventTypeStarted, string(EventTypeStarted), n.Pid)
			ev.Restarts, ev.Time = n.Restarts, n.Time
			evs = append(evs, ev)
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
	pr.mu.Lock()
	was := pr.state
	pr.stopping = true
	pr.mu.Unlock()
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
		pr.p.deliver([]Event{ev})
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
	if !slices.ContainsFunc(pr.hooks, func(h hookRun) bool { return h.matches(ev) }) {
		return
	}
	pr.mu.Lock()
	if pr.closed {
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
	pr.events = append(pr.events, ev)
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
func (pr *program) next() (Event, bool) {
	for {
		pr.mu.Lock()
		if len(pr.events) > 0 {
			ev := pr.events[0]
			pr.events = slices.Delete(pr.events, 0, 1)
			pr.mu.Unlock()
			return ev, true
		}
		closed := pr.closed
		pr.mu.Unlock()
		if closed {
			return Event{}, false
		}
		select {
		case <-pr.wake:
		case <-pr.p.ctx.Done():
			return Event{}, false
		}
	}
}

// runHooks runs the hooks of the program's events one event after the
// other, until Close.
func (pr *program) runHooks() {
	for {
		ev, ok := pr.next()
		if !ok {
			break
		}
		for _, h := range pr.hooks {
			if h.matches(ev) {
				pr.p.runHook(h, ev)
			}
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
	LastError  string   `json:"last_error,omitempty"`
	Executable string   `json:"executable"`
	Args       []string `json:"args,omitempty"`
	// HookEventsDropped counts events whose hooks were skipped because the
	// hooks of the program fell more than 64 events behind.
	HookEventsDropped uint64 `json:"hook_events_dropped"`
}

func (pr *program) status() ProgramStatus {
	in := pr.proc.Info()
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
		Executable:        pr.path,
		Args:              in.Args,
		HookEventsDropped: pr.dropped,
	}
	if in.Alive {
		// The notification of the start may still be on its way.
		s.Pid, s.State = in.Pid, ProgramStateRunning
	}
	if s.LastError == "" && pr.lastErr != nil {
		s.LastError = pr.lastErr.Error()
	}
	if e := in.LastExit; e != nil {
		if e.Signal != 0 {
			s.LastExitSignal = unix.SignalName(e.Signal)
		} else if e.Code >= 0 {
			code := e.Code
			s.LastExitCode = &code
		}
	}
	return s
}
