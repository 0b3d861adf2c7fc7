package supervisor

import (
	"strconv"
	"strings"
	"time"

	"github.com/plinth-go/plinth/exec/processmanager"
)

// EventType is the type of an event of a program: the value of
// SUPERVISOR_EVENT_TYPE and of the event-type filter of hooks.
type EventType string

// The events of a program. A program that exits and is restarted produces
// terminated, started, then status (the state the kernel reports for the
// new process, such as sleeping or idle).
const (
	// EventTypeStarted: a run of the program began (its first start or an
	// automatic restart); the state is "started".
	EventTypeStarted EventType = "started"
	// EventTypeStatus: the state the kernel reports for the running
	// program changed; the state is that state ("running", "sleeping",
	// "idle", "disk-sleep", "stopped", "zombie", "unavailable"…). It is
	// polled by the process manager, so short-lived states may be missed.
	EventTypeStatus EventType = "status"
	// EventTypeTerminated: a run ended on its own (it exited or was killed
	// by someone else); the state is "terminated", the exit code or signal
	// is known, and a restart may follow.
	EventTypeTerminated EventType = "terminated"
	// EventTypeGaveUp: the program terminated with no restart left; the
	// state is "gave-up". It follows a terminated or failed event.
	EventTypeGaveUp EventType = "gave-up"
	// EventTypeFailed: the program could not be started (its first start
	// or a restart); the state is "failed" and SUPERVISOR_ERROR says why.
	EventTypeFailed EventType = "failed"
	// EventTypeStopped: the supervisor stopped the program as the agent
	// stops, or an operator stopped it (StopProgram, RestartProgram, which
	// cancel a pending restart too); the state is "stopped", with the exit
	// code or signal. No terminated or gave-up event is sent for that run.
	EventTypeStopped EventType = "stopped"
)

// The events of the changes of the state of a program, as supervisord
// names its process states: each fires when the program enters the state
// of its name, and its SUPERVISOR_PROCESS_STATE is that name. They come
// with the events above, after them for the same change: a run that
// begins produces started, starting, then running (at once without
// start-seconds); a run that ends produces terminated, then exited when it
// had been running, then backoff (a restart or a retry follows), or fatal
// (start-retries ran out; gave-up follows), or nothing more.
const (
	// EventTypeStarting: a run began; it counts as started once it has
	// lasted start-seconds (at once without them).
	EventTypeStarting EventType = "starting"
	// EventTypeRunning: the run has lasted its start-seconds (at once
	// without them); programs that depend on it may start.
	EventTypeRunning EventType = "running"
	// EventTypeBackoff: the run ended or the start failed, and the program
	// restarts, or retries its start, after a delay
	// (SUPERVISOR_RESTART_IN).
	EventTypeBackoff EventType = "backoff"
	// EventTypeStopping: the supervisor sent the program its stop signal,
	// as the agent stops, for an operator or for a reload; stopped
	// follows once it has exited.
	EventTypeStopping EventType = "stopping"
	// EventTypeExited: a run that had been running (past its
	// start-seconds) ended on its own or was killed by someone else, with
	// the exit code or signal; a restart may follow (backoff). It follows
	// terminated.
	EventTypeExited EventType = "exited"
	// EventTypeFatal: start-retries ran out: the program failed to start
	// that many times in a row after its first try, and stays so until an
	// operator starts it. SUPERVISOR_ERROR says why; gave-up (state fatal)
	// follows.
	EventTypeFatal EventType = "fatal"
)

// EventTypes lists the event types: those of the original conf, then the
// changes of state.
var EventTypes = []EventType{EventTypeStarted, EventTypeStatus, EventTypeTerminated, EventTypeGaveUp, EventTypeFailed, EventTypeStopped,
	EventTypeStarting, EventTypeRunning, EventTypeBackoff, EventTypeStopping, EventTypeExited, EventTypeFatal}

func eventTypeList() string {
	s := make([]string, len(EventTypes))
	for i, t := range EventTypes {
		s[i] = string(t)
	}
	return strings.Join(s, ", ")
}

// The environment variables of hooks. The first three are set for every
// event; the others when known.
const (
	EnvProcessName  = "SUPERVISOR_PROCESS_NAME"  // the program name
	EnvProcessState = "SUPERVISOR_PROCESS_STATE" // started, sleeping, idle, terminated, gave-up…
	EnvEventType    = "SUPERVISOR_EVENT_TYPE"    // an EventType
	EnvProcessPid   = "SUPERVISOR_PROCESS_PID"   // pid of the run the event is about
	EnvProcessPath  = "SUPERVISOR_PROCESS_PATH"  // the executable, as resolved at load
	EnvExitCode     = "SUPERVISOR_EXIT_CODE"     // exit code of the run that ended
	EnvExitSignal   = "SUPERVISOR_EXIT_SIGNAL"   // signal that ended it ("SIGKILL")
	EnvRestarts     = "SUPERVISOR_RESTARTS"      // automatic restarts since the program was last started
	EnvError        = "SUPERVISOR_ERROR"         // why a start failed
	EnvRestartIn    = "SUPERVISOR_RESTART_IN"    // delay before the restart or retry, for backoff events ("200ms")
)

// Event is something that happened to a program. Hooks receive it as
// environment variables (see Env); handlers given with WithEventHandler
// receive it as is.
type Event struct {
	Program string
	Type    EventType
	// State is SUPERVISOR_PROCESS_STATE: "started", a kernel state for
	// status events, "terminated", "gave-up", "failed" or "stopped".
	State string
	// Pid is the pid of the run the event is about; 0 if none.
	Pid int
	// Executable is the path of the program's executable.
	Executable string
	// Exit is how the run ended, for terminated, gave-up and stopped
	// events; nil otherwise.
	Exit *processmanager.ExitStatus
	// Restarts counts the automatic restarts in a row: those since the
	// program was last started by the supervisor or an operator, which the
	// restarts setting bounds. ProgramStatus.Restarts counts every run.
	Restarts int
	// RestartIn is the delay before the next restart, for a terminated
	// event that a restart follows (Restarting).
	Restarting bool
	RestartIn  time.Duration
	// Err is why a start failed, for failed events.
	Err  error
	Time time.Time
}

// Env returns the SUPERVISOR_* variables of the event as KEY=value
// strings.
func (e Event) Env() []string {
	env := []string{
		EnvProcessName + "=" + e.Program,
		EnvProcessState + "=" + e.State,
		EnvEventType + "=" + string(e.Type),
		EnvProcessPath + "=" + e.Executable,
		EnvRestarts + "=" + strconv.Itoa(e.Restarts),
	}
	if e.Pid > 0 {
		env = append(env, EnvProcessPid+"="+strconv.Itoa(e.Pid))
	}
	if e.Exit != nil {
		if e.Exit.Signal != 0 {
			env = append(env, EnvExitSignal+"="+signalName(e.Exit.Signal))
		} else if e.Exit.Code >= 0 {
			env = append(env, EnvExitCode+"="+strconv.Itoa(e.Exit.Code))
		}
	}
	if e.Err != nil {
		env = append(env, EnvError+"="+strings.ReplaceAll(e.Err.Error(), "\n", " "))
	}
	if e.Type == EventTypeBackoff && e.Restarting {
		env = append(env, EnvRestartIn+"="+e.RestartIn.String())
	}
	return env
}

// ProgramState is the state of a program as the supervisor sees it.
type ProgramState string

// The states of a program.
const (
	// ProgramStateInitial: not started yet.
	ProgramStateInitial ProgramState = "initial"
	// ProgramStateRunning: a run is alive.
	ProgramStateRunning ProgramState = "running"
	// ProgramStateBackoff: the program exited and restarts after a delay.
	ProgramStateBackoff ProgramState = "backoff"
	// ProgramStateExited: the program exited and is not to be restarted
	// (restarts: 0).
	ProgramStateExited ProgramState = "exited"
	// ProgramStateGaveUp: the program exited with no restart left.
	ProgramStateGaveUp ProgramState = "gave-up"
	// ProgramStateFailed: the program could not be started.
	ProgramStateFailed ProgramState = "failed"
	// ProgramStateStopped: the supervisor stopped it (the agent stops), or
	// an operator did (StopProgram, RestartProgram).
	ProgramStateStopped ProgramState = "stopped"
	// ProgramStateStopping: the supervisor sent the program its stop
	// signal and waits for it to exit.
	ProgramStateStopping ProgramState = "stopping"
	// ProgramStateStarting: a run began and has not lasted start-seconds
	// yet (only with start-seconds).
	ProgramStateStarting ProgramState = "starting"
	// ProgramStateFatal: start-retries ran out: the program failed to
	// start (ended before start-seconds, or could not be executed) that
	// many times in a row after its first try. The cause is in
	// ProgramStatus.LastError.
	ProgramStateFatal ProgramState = "fatal"
)
