package agent

import (
	"context"
	"fmt"
	"os"
	"strings"
	"time"

	"github.com/plinth-go/plinth/infra"
	"github.com/plinth-go/plinth/logging"
)

// Defaults used when the corresponding option is not given.
const (
	DefaultStartTimeout = 15 * time.Second
	DefaultStopTimeout  = 10 * time.Second
)

// An Option configures an agent. Options are created by the functions of
// this package; String returns the call that created the option.
type Option interface {
	fmt.Stringer
	apply(*options) error
}

type options struct {
	roots        []infra.Plugin
	startTimeout time.Duration
	stopTimeout  time.Duration
	ctx          context.Context
	signals      []os.Signal
	signalsSet   bool
	args         []string
	argsSet      bool
	getenv       func(string) string
	logs         *logging.Registry
	name         string
	version      VersionInfo
	parallel     bool
}

// VersionInfo describes the build of the agent.
type VersionInfo struct {
	Version   string
	BuildDate string
	Commit    string
}

type optionFunc struct {
	desc string
	fn   func(*options) error
}

func (o optionFunc) String() string            { return o.desc }
func (o optionFunc) apply(opts *options) error { return o.fn(opts) }

func newOption(desc string, fn func(*options) error) Option { return optionFunc{desc, fn} }

// AllPlugins adds the plugins and every plugin reachable from them through
// their exported fields (embedded structs such as Deps included, and slices).
// It may be given several times; a plugin found twice is started once.
func AllPlugins(plugins ...infra.Plugin) Option {
	names := make([]string, len(plugins))
	for i, p := range plugins {
		names[i] = fmt.Sprintf("%T", p)
	}
	return newOption("agent.AllPlugins("+strings.Join(names, ", ")+")", func(o *options) error {
		o.roots = append(o.roots, plugins...)
		return nil
	})
}

// StartTimeout bounds Start: Init and AfterInit of all plugins. If zero,
// DefaultStartTimeout is used; a negative value is an error.
func StartTimeout(d time.Duration) Option {
	return newOption(fmt.Sprintf("agent.StartTimeout(%v)", d), func(o *options) error {
		if d < 0 {
			return fmt.Errorf("agent: StartTimeout(%v): must not be negative", d)
		}
		o.startTimeout = d
		return nil
	})
}

// StopTimeout bounds Stop: Close of all plugins. If zero,
// DefaultStopTimeout is used; a negative value is an error.
func StopTimeout(d time.Duration) Option {
	return newOption(fmt.Sprintf("agent.StopTimeout(%v)", d), func(o *options) error {
		if d < 0 {
			return fmt.Errorf("agent: StopTimeout(%v): must not be negative", d)
		}
		o.stopTimeout = d
		return nil
	})
}

// Context makes Run stop the agent when ctx is done; a start in progress is
// abandoned and rolled back.
func Context(ctx context.Context) Option {
	return newOption("agent.Context(ctx)", func(o *options) error {
		if ctx == nil {
			return fmt.Errorf("agent: Context(nil): use context.Background()")
		}
		o.ctx = ctx
		return nil
	})
}

// QuitSignals sets the signals on which Run stops the agent (default
// SIGINT and SIGTERM). With no signals, Run does not listen to any.
func QuitSignals(sigs ...os.Signal) Option {
	return newOption(fmt.Sprintf("agent.QuitSignals(%v)", sigs), func(o *options) error {
		o.signals = sigs
		o.signalsSet = true
		return nil
	})
}

// Args sets the command-line arguments that New parses with the agent's own
// FlagSet (default os.Args[1:]). Tests usually pass Args() so that the test
// binary's flags are not parsed.
func Args(args ...string) Option {
	return newOption(fmt.Sprintf("agent.Args(%q)", args), func(o *options) error {
		o.args = args
		o.argsSet = true
		return nil
	})
}

// Getenv sets the function the agent and its plugins use to read environment
// variables (default os.Getenv).
func Getenv(getenv func(string) string) Option {
	return newOption("agent.Getenv(fn)", func(o *options) error {
		if getenv == nil {
			return fmt.Errorf("agent: Getenv(nil): use os.Getenv")
		}
		o.getenv = getenv
		return nil
	})
}

// Logs sets the logger registry shared by the agent and its plugins (default
// a new logging.NewRegistry()).
func Logs(r *logging.Registry) Option {
	return newOption("agent.Logs(registry)", func(o *options) error {
		if r == nil {
			return fmt.Errorf("agent: Logs(nil): use logging.NewRegistry()")
		}
		o.logs = r
		return nil
	})
}

// Name sets the program name shown in the usage message (default the base
// name of os.Args[0]).
func Name(name string) Option {
	return newOption(fmt.Sprintf("agent.Name(%q)", name), func(o *options) error {
		o.name = name
		return nil
	})
}

// Version records the build of the agent; it is logged at start and
// available from Agent.Version.
func Version(version, buildDate, commit string) Option {
	return newOption(fmt.Sprintf("agent.Version(%q, %q, %q)", version, buildDate, commit), func(o *options) error {
		o.version = VersionInfo{Version: version, BuildDate: buildDate, Commit: commit}
		return nil
	})
}

// ParallelInit starts plugins concurrently: a plugin's Init (and AfterInit)
// runs as soon as those of all its dependencies have completed. The total
// start time then approaches the longest dependency chain instead of the
// sum of all plugins. Plugins still close one by one in reverse order.
func ParallelInit() Option {
	return newOption("agent.ParallelInit()", func(o *options) error {
		o.parallel = true
		return nil
	})
}
