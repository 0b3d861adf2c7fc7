package processmanager

import (
	"errors"
	"fmt"
	"io"
	"os"
	"runtime"
	"slices"
	"syscall"
	"time"
)

// Option configures a process; pass options to NewProcess or AttachProcess.
// Args, Restarts, Writer, Detach, EnvVar and Template describe how to start
// a process, so AttachProcess rejects them with ErrInvalidOption.
type Option func(*options) error

// Defaults of the process options.
const (
	// DefaultStopTimeout is how long a graceful stop waits for the process
	// to exit after SIGTERM before it sends SIGKILL (supervisord's
	// stopwaitsecs).
	DefaultStopTimeout = 10 * time.Second
	// DefaultBackoffInitial, DefaultBackoffMax and DefaultBackoffReset are
	// the default restart backoff: 100ms doubling up to 30s, reset after 10s
	// of running (see WithBackoff).
	DefaultBackoffInitial = 100 * time.Millisecond
	DefaultBackoffMax     = 30 * time.Second
	DefaultBackoffReset   = 10 * time.Second
)

type options struct {
	name          string
	args          []string
	restarts      int32
	stdout        io.Writer
	stderr        io.Writer
	detach        bool
	env           []string
	template      bool
	runOnStartup  bool
	notify        chan Notification
	ownNotify     bool // notify was created by the manager, which closes it
	autoTerminate bool
	affinity      []int // CPUs; nil for no affinity
	affinityMask  string
	affinityList  string
	affinityDelay time.Duration
	dir           string
	stopTimeout   time.Duration
	stopSignal    syscall.Signal
	stopAsGroup   bool // the stop signal goes to the process group
	killAsGroup   bool // SIGKILL goes to the process group
	restartPolicy RestartPolicy
	user          *credential // nil: the agent's user
	umask         int         // -1: the agent's umask
	backoff       restartBackoff
	statusCheck   bool
	statusName    string
	managedBy     string

	// startOnly names the options given that apply only to processes the
	// manager starts, so that AttachProcess can reject them.
	startOnly []string
}

type restartBackoff struct {
	initial, max, reset time.Duration
}

func defaultOptions() options {
	return options{
		stopTimeout: DefaultStopTimeout,
		stopSignal:  syscall.SIGTERM,
		stopAsGroup: true,
		killAsGroup: true,
		umask:       -1,
		backoff:     restartBackoff{DefaultBackoffInitial, DefaultBackoffMax, DefaultBackoffReset},
	}
}

func (o *options) startOption(name string) { o.startOnly = append(o.startOnly, name) }

// Args sets the arguments of the process, without the command itself.
func Args(args ...string) Option {
	return func(o *options) error {
		o.args = slices.Clone(args)
		o.startOption("Args")
		return nil
	}
}

// Restarts sets how many times the process is restarted automatically after
// it is found terminated; a negative count means always. The count starts
// again at every Start and Restart. Stop, StopAndWait and Kill turn automatic
// restarts off until the next Start. Restarts back off exponentially; see
// WithBackoff.
func Restarts(count int32) Option {
	return func(o *options) error {
		o.restarts = count
		o.startOption("Restarts")
		return nil
	}
}

// Writer sends the standard output and error of the process to the given
// writers; nil discards. An *os.File is handed to the process itself;
// any other writer is fed by the manager through a pipe that lasts for the
// life of the process across restarts, and receives no more output once the
// process is deleted or the manager closed. Writes to the same writer from
// both streams are never concurrent.
//
// The manager reads the pipe whatever the writer does, so a failing writer
// never blocks the process: output the writer refuses (an error or a short
// write) is dropped, counted in Info.OutputBytesDropped and logged (the
// first failure, then with a doubling interval up to a minute), and the
// writer is offered the output that follows, so output flows again once it
// recovers. A writer that blocks in Write holds the process back once the
// pipe (64 KiB) is full.
func Writer(stdout, stderr io.Writer) Option {
	return func(o *options) error {
		o.stdout, o.stderr = stdout, stderr
		o.startOption("Writer")
		return nil
	}
}

// Detach lets the process survive the agent: it runs in a session of its
// own, receives no signal when the agent dies, and the manager leaves it
// running when it closes or deletes it. A detached process that outputs to
// a Writer that is not an *os.File loses that output when the agent stops.
func Detach() Option {
	return func(o *options) error {
		o.detach = true
		o.startOption("Detach")
		return nil
	}
}

// EnvVar sets the environment of the process, as KEY=value strings; pass
// os.Environ() to extend the agent's. Without it, the process inherits the
// environment of the agent.
func EnvVar(env []string) Option {
	return func(o *options) error {
		o.env = slices.Clone(env)
		if o.env == nil {
			o.env = []string{}
		}
		o.startOption("EnvVar")
		return nil
	}
}

// Template saves the process as a template file in the template path when
// it is created, so that the manager recreates it on its next start, and
// starts it then when runOnStartup is true. Creating the process fails with
// ErrNoTemplatePath when no template path is configured. A Writer other than
// os.Stdout and os.Stderr and a Notify channel cannot be saved: the template
// records whether output goes to the agent's and whether to notify.
func Template(runOnStartup bool) Option {
	return func(o *options) error {
		o.template, o.runOnStartup = true, runOnStartup
		o.startOption("Template")
		return nil
	}
}

// Notify sends the status changes of the process to ch. The manager never
// blocks on ch: notifications wait in a queue of 16 per process, and when a
// reader falls further behind the oldest are dropped and counted
// (Info.NotificationsDropped), so the latest state always arrives. The
// manager does not close ch, which may be shared between processes.
func Notify(ch chan Notification) Option {
	return func(o *options) error {
		if ch == nil {
			return fmt.Errorf("%w: Notify with a nil channel", ErrInvalidOption)
		}
		o.notify, o.ownNotify = ch, false
		return nil
	}
}

// AutoTerminate makes the manager kill what remains of the process group
// (grandchildren) with SIGKILL when the process exits, and reap those that
// became its children: zombies are left behind neither by the process nor by
// its group. Without it, grandchildren outlive a process that exits on its
// own, but never a Stop, Kill or Close, which signal the whole group.
func AutoTerminate() Option {
	return func(o *options) error {
		o.autoTerminate = true
		return nil
	}
}

// ManagedBy marks the process as owned by another plugin, which starts,
// stops and restarts it through this API: owner says who, and how to reach
// it, in words an operator can follow ("the supervisor: POST
// /supervisor/programs/web/stop"). The REST control endpoints of the process
// manager (POST /process/{name}/start, stop, restart) then refuse the
// process with 409 and that text, instead of acting behind its owner's back;
// the Go API is unaffected. Info shows owner as managed_by.
func ManagedBy(owner string) Option {
	return func(o *options) error {
		if owner == "" {
			return fmt.Errorf("%w: ManagedBy: empty owner", ErrInvalidOption)
		}
		o.managedBy = owner
		return nil
	}
}

// CPUAffinity binds every thread of the process to a set of CPUs, given as
// a hexadecimal mask ("0x5", "5", "ff,ffffffff" as taskset takes it) or as a
// list ("0-2,5", "0-7:2"); set one of the two. Without a delay the process
// starts bound, and so does every thread it creates. delay postpones the
// setting, for processes that set up their own threads first: the threads
// are bound after it, and listed again 100ms later to bind those whose
// creation was under way (see the package doc). It is applied again at every
// restart. An invalid mask or list fails the creation of the process, and
// so does the option outside Linux (ErrInvalidOption wrapping
// errors.ErrUnsupported). A failure to apply it (a CPU the machine lacks
// or the agent may not use) is logged and kept in Info.AffinityError, and
// the process keeps running, bound to the usable CPUs of the set if any.
func CPUAffinity(mask, list string, delay time.Duration) Option {
	return func(o *options) error {
		if !affinitySupported {
			return fmt.Errorf("%w: CPUAffinity: %w", ErrInvalidOption, errAffinityUnsupported)
		}
		cpus, err := parseAffinity(mask, list)
		if err != nil {
			return fmt.Errorf("%w: CPUAffinity: %w", ErrInvalidOption, err)
		}
		if delay < 0 {
			return fmt.Errorf("%w: CPUAffinity: negative delay %v", ErrInvalidOption, delay)
		}
		o.affinity, o.affinityMask, o.affinityList, o.affinityDelay = cpus, mask, list, delay
		return nil
	}
}

// WithName sets the name of the process in the manager. The default is the
// base name of the command, or the command name of an attached process.
func WithName(name string) Option {
	return func(o *options) error {
		if name == "" {
			return fmt.Errorf("%w: WithName with an empty name", ErrInvalidOption)
		}
		o.name = name
		return nil
	}
}

// WithDir sets the working directory of the process; the default is the
// agent's.
func WithDir(dir string) Option {
	return func(o *options) error {
		o.dir = dir
		o.startOption("WithDir")
		return nil
	}
}

// WithStopTimeout sets how long StopAndWait, Restart, Delete and Close wait
// for the process to exit after SIGTERM before they send SIGKILL. If zero or
// negative, DefaultStopTimeout (10s) is used.
func WithStopTimeout(d time.Duration) Option {
	return func(o *options) error {
		if d <= 0 {
			d = DefaultStopTimeout
		}
		o.stopTimeout = d
		return nil
	}
}

// WithStopSignal sets the signal that Stop, StopAndWait, Restart, Delete
// and Close send to the process group to ask the process to exit, for
// programs that exit cleanly on another signal than SIGTERM (supervisord's
// stopsignal). SIGKILL still follows after the stop timeout. The default is
// SIGTERM; the signal is not saved in templates.
func WithStopSignal(sig syscall.Signal) Option {
	return func(o *options) error {
		if sig <= 0 || sig > 64 {
			return fmt.Errorf("%w: WithStopSignal(%d): not a signal", ErrInvalidOption, int(sig))
		}
		o.stopSignal = sig
		return nil
	}
}

// WithBackoff sets the delays of automatic restarts: the first restart
// waits initial, each further one twice the previous, up to max. A run that
// lasted at least reset resets the delay to initial. initial zero restarts
// at once, every time. Without this option the defaults are 100ms, 30s and
// 10s.
func WithBackoff(initial, max, reset time.Duration) Option {
	return func(o *options) error {
		if initial < 0 || max < initial || reset < 0 {
			return fmt.Errorf("%w: WithBackoff(%v, %v, %v): want 0 <= initial <= max and reset >= 0",
				ErrInvalidOption, initial, max, reset)
		}
		o.backoff = restartBackoff{initial, max, reset}
		o.startOption("WithBackoff")
		return nil
	}
}

// WithStatusCheck reports the state of the process through the status check
// of the agent under statusName (the process name if empty): OK while it
// runs, INIT before its first start, ERROR when it has terminated or is
// stopped, with the exit status as error. Without a status check plugin in
// the agent the option does nothing.
func WithStatusCheck(statusName string) Option {
	return func(o *options) error {
		o.statusCheck, o.statusName = true, statusName
		return nil
	}
}

// WithStopAsGroup says whether the stop signal of Stop, StopAndWait,
// Restart, Delete and Close goes to the process group of the process (true,
// the default) or to the process alone (supervisord's stopasgroup). In
// either case, what is left of the group once the process has exited after
// a stop is killed. Attached processes are always signalled alone.
func WithStopAsGroup(group bool) Option {
	return func(o *options) error {
		o.stopAsGroup = group
		return nil
	}
}

// WithKillAsGroup says whether the SIGKILL of Kill, and of a stop that
// outlasts the stop timeout, goes to the process group of the process
// (true, the default) or to the process alone (supervisord's killasgroup).
func WithKillAsGroup(group bool) Option {
	return func(o *options) error {
		o.killAsGroup = group
		return nil
	}
}

// RunEnd is what a RestartPolicy decides on: the end of a run, or an
// automatic restart that could not start the process.
type RunEnd struct {
	// Exit is how the run ended; nil when an automatic restart failed, with
	// Err saying why.
	Exit *ExitStatus
	Err  error
	// Restarts counts the automatic restarts since the last Start.
	Restarts int
	// Restart and Delay are what the Restarts and WithBackoff options
	// decide: whether a restart is left, and the delay before it.
	Restart bool
	Delay   time.Duration
}

// RestartDecision is the answer of a RestartPolicy.
type RestartDecision struct {
	// Restart restarts the process after Delay.
	Restart bool
	Delay   time.Duration
	// Reason is passed on as Notification.Reason.
	Reason string
}

// RestartPolicy decides whether a process restarts after a run ended. The
// manager calls it with the lock of the process held, from the goroutine
// that watches the process: it must return quickly and must not call
// methods of the process. It is not called when restarts are off (after
// Stop, StopAndWait or Kill, while the process is deleted or the manager
// closes).
type RestartPolicy func(RunEnd) RestartDecision

// WithRestartPolicy lets f decide on every automatic restart, in place of
// the Restarts count; RunEnd carries what the count and the backoff would
// decide, so that f may keep it. Without a Restarts option, automatic
// restarts are on while f says so.
func WithRestartPolicy(f RestartPolicy) Option {
	return func(o *options) error {
		if f == nil {
			return fmt.Errorf("%w: WithRestartPolicy(nil)", ErrInvalidOption)
		}
		o.restartPolicy = f
		o.startOption("WithRestartPolicy")
		return nil
	}
}

// WithUser runs the process as another user, a name or a numeric id: its
// user id, primary group and supplementary groups (supervisord's user). The
// agent must run as root to switch to another user; the option fails with
// ErrInvalidOption otherwise, for an unknown user, and outside Unix.
func WithUser(name string) Option {
	return func(o *options) error {
		c, err := lookupUser(name)
		if err != nil {
			return fmt.Errorf("%w: WithUser(%q): %w", ErrInvalidOption, name, err)
		}
		o.user = c
		o.startOption("WithUser")
		return nil
	}
}

// errUmaskUnsupported is the error of WithUmask outside Linux.
var errUmaskUnsupported = fmt.Errorf("%w: a umask of its own for a process on %s (Linux only)", errors.ErrUnsupported, runtime.GOOS)

// WithUmask sets the file mode creation mask of the process (supervisord's
// umask), such as 0o022; without it the process inherits the agent's. Only
// Linux can set it for one child without changing the agent's own: the
// option fails with ErrInvalidOption elsewhere.
func WithUmask(mask os.FileMode) Option {
	return func(o *options) error {
		if mask > 0o777 {
			return fmt.Errorf("%w: WithUmask(%#o): not a permission mask", ErrInvalidOption, mask)
		}
		if !umaskSupported {
			return fmt.Errorf("%w: WithUmask: %w", ErrInvalidOption, errUmaskUnsupported)
		}
		o.umask = int(mask)
		o.startOption("WithUmask")
		return nil
	}
}
