package supervisor

import (
	"errors"
	"fmt"
	"time"

	"github.com/plinth-go/plinth/exec/processmanager"
)

// Errors of StartProgram, StopProgram and RestartProgram, which wrap them
// with the program's name.
var (
	// ErrUnknownProgram is returned for a name that no program of the conf
	// has. POST /supervisor/programs/{name}/{action} answers 404.
	ErrUnknownProgram = errors.New("unknown program")
	// ErrStateConflict is returned when the state of the program forbids
	// the action: starting a program that runs, or any action once the
	// agent stops (Close). POST /supervisor/programs/{name}/{action}
	// answers 409.
	ErrStateConflict = errors.New("state conflict")
)

// awaitBound bounds how long an operator's action waits for the supervisor
// to see the run it started or stopped. The process manager notifies at
// once, so only event handlers slower than they may be make it wait; past
// the bound the action returns all the same, and the status catches up.
const awaitBound = 5 * time.Second

// StartProgram starts the program named name, as an operator would: at
// once, also when it waits for an automatic restart, and with its automatic
// restarts turned on again (the restarts limit counts from zero again). It
// returns once the supervisor has seen the new run, so that Program shows
// it; the run counts in ProgramStatus.Restarts unless it is the program's
// first. Starting a program that runs fails with ErrStateConflict; a
// failure to start is reported as AfterInit reports it (state failed, a
// failed event) and returned.
//
// Event handlers (WithEventHandler) must not call StartProgram,
// StopProgram or RestartProgram: those wait for the events they cause.
func (p *Plugin) StartProgram(name string) error {
	prog, err := p.lookup(name)
	if err != nil {
		return err
	}
	prog.ctl.Lock()
	defer prog.ctl.Unlock()
	return prog.operatorStart("start")
}

// StopProgram stops the program named name, as an operator would: it sends
// the program's stop signal to its process group, SIGKILL after its stop
// timeout, and returns once the program has exited. The program stays
// stopped (state stopped, a stopped event rather than terminated) until
// StartProgram or RestartProgram; a pending automatic restart is
// cancelled. Stopping a program that does not run does nothing.
func (p *Plugin) StopProgram(name string) error {
	prog, err := p.lookup(name)
	if err != nil {
		return err
	}
	prog.ctl.Lock()
	defer prog.ctl.Unlock()
	return prog.operatorStop("stop")
}

// RestartProgram stops the program named name as StopProgram does, then
// starts it as StartProgram does, and returns once the supervisor has seen
// the new run. A program that does not run is just started. The new run
// counts in ProgramStatus.Restarts unless it is the program's first.
func (p *Plugin) RestartProgram(name string) error {
	prog, err := p.lookup(name)
	if err != nil {
		return err
	}
	prog.ctl.Lock()
	defer prog.ctl.Unlock()
	if err := prog.operatorStop("restart"); err != nil {
		return err
	}
	return prog.operatorStart("restart")
}

func (p *Plugin) lookup(name string) (*program, error) {
	prog := p.program(name)
	if prog == nil {
		return nil, fmt.Errorf("supervisor: %w %q (GET %s lists them)", ErrUnknownProgram, name, ProgramsPath)
	}
	return prog, nil
}

// operatorStart starts the program for the operator's action; pr.ctl is
// held.
func (pr *program) operatorStart(action string) error {
	pr.mu.Lock()
	if pr.stopping {
		pr.mu.Unlock()
		return fmt.Errorf("supervisor: %s %s: %w: the agent is stopping", action, pr.name, ErrStateConflict)
	}
	// Its runs end as crashes again, restarted or not as the conf says.
	pr.held = false
	pr.mu.Unlock()
	if err := pr.freshStart(); err != nil {
		switch {
		case errors.Is(err, processmanager.ErrRunning):
			return fmt.Errorf("supervisor: %s %s: %w: the program runs (pid %d); restart it instead",
				action, pr.name, ErrStateConflict, pr.proc.GetPid())
		case errors.Is(err, processmanager.ErrClosed):
			return fmt.Errorf("supervisor: %s %s: %w: the agent is stopping", action, pr.name, ErrStateConflict)
		}
		return fmt.Errorf("supervisor: %s %s: %w", action, pr.name, err)
	}
	pid := pr.proc.GetPid()
	pr.awaitSeen(action, func() bool { return pr.runPid == pid || pr.lastTerm == pid })
	return nil
}

// operatorStop stops the program for the operator's action; pr.ctl is
// held.
func (pr *program) operatorStop(action string) error {
	stoppingEv := pr.stateEvent(EventTypeStopping, 0)
	pr.p.deliverMu.Lock()
	pr.mu.Lock()
	if pr.stopping {
		pr.mu.Unlock()
		pr.p.deliverMu.Unlock()
		return fmt.Errorf("supervisor: %s %s: %w: the agent is stopping", action, pr.name, ErrStateConflict)
	}
	// Set before the stop, so that handle sees the end of the run as a
	// stop, not as a crash or the end of the restarts.
	pr.held = true
	// A program waiting for its dependencies, or for the retry of a start
	// that failed, stays stopped.
	retrying := pr.cancelRetryLocked()
	wasWaiting := pr.waiting
	pr.waiting = false
	if retrying || wasWaiting {
		pr.state = ProgramStateStopped
	}
	alive := pr.runPid != 0 && !retrying
	if alive {
		pr.state, stoppingEv.Pid = ProgramStateStopping, pr.runPid
	}
	pr.mu.Unlock()
	if alive {
		pr.p.deliverLocked(pr, []Event{stoppingEv})
	}
	pr.p.deliverMu.Unlock()
	if retrying {
		pr.p.deliver(pr, []Event{pr.event(EventTypeStopped, string(ProgramStateStopped), 0)})
		return nil
	}
	es, err := pr.proc.StopAndWait()
	if errors.Is(err, processmanager.ErrNotStarted) {
		return nil
	}
	if err != nil {
		if errors.Is(err, processmanager.ErrClosed) {
			return fmt.Errorf("supervisor: %s %s: %w: the agent is stopping", action, pr.name, ErrStateConflict)
		}
		return fmt.Errorf("supervisor: %s %s: %w", action, pr.name, err)
	}
	// Wait for the end of the run to be handled as a stop before a start
	// clears held.
	pr.awaitSeen(action, func() bool { return pr.lastTerm == es.Pid })
	pr.mu.Lock()
	// A program waiting for an automatic restart lost it: no notification
	// says so.
	cancelled := pr.state == ProgramStateBackoff
	if cancelled {
		pr.state = ProgramStateStopped
	}
	pr.mu.Unlock()
	if cancelled {
		ev := pr.event(EventTypeStopped, string(ProgramStateStopped), es.Pid)
		ev.Exit, ev.Restarts = &es, pr.proc.Info().Restarts
		pr.p.deliver(pr, []Event{ev})
	}
	return nil
}

// awaitSeen waits, at most awaitBound, until handle has processed the
// notifications that make seen true; pr.mu is held when seen runs.
func (pr *program) awaitSeen(action string, seen func() bool) {
	t := time.NewTimer(awaitBound)
	defer t.Stop()
	for {
		pr.mu.Lock()
		ok := seen()
		pr.mu.Unlock()
		if ok {
			return
		}
		select {
		case <-pr.handled:
		case <-t.C:
			pr.p.Log.Warnf("%s: %s: the supervisor has not seen the program's new state after %v; its status lags", pr.name, action, awaitBound)
			return
		}
	}
}
