package agent

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"path/filepath"
	"runtime/debug"
	"slices"
	"sync"
	"syscall"
	"time"

	"github.com/plinth-go/plinth/infra"
	"github.com/plinth-go/plinth/infra/config"
	"github.com/plinth-go/plinth/logging"
	"github.com/plinth-go/plinth/logging/measure"
)

// Errors returned by the lifecycle methods.
var (
	// ErrNotStarted is returned by Stop and Wait on an agent whose Start was
	// never called.
	ErrNotStarted = errors.New("agent: not started")
	// ErrAlreadyStarted is returned by a second call of Start or Run.
	ErrAlreadyStarted = errors.New("agent: already started")
	// errStopRequested is the cause of a start cancelled by Stop.
	errStopRequested = errors.New("stop requested")
)

// InitialLogLevelEnv names the environment variable that sets the level of
// every logger at start; it wins over any per-logger configuration.
const InitialLogLevelEnv = "INITIAL_LOGLVL"

// slowPhase is the duration above which a plugin's Init or AfterInit is
// logged at info level rather than debug, so slow plugins stand out.
const slowPhase = 100 * time.Millisecond

// closeGrace is how long a Close is awaited once the stop timeout has passed:
// every plugin still gets its Close, but a hung one cannot hold the rest.
const closeGrace = time.Second

// PluginError reports the failure of one plugin in one lifecycle phase.
type PluginError struct {
	Plugin string // plugin name
	Phase  string // "Init", "AfterInit" or "Close"
	Err    error
}

func (e *PluginError) Error() string {
	return fmt.Sprintf("agent: plugin %q %s: %v", e.Plugin, e.Phase, e.Err)
}

func (e *PluginError) Unwrap() error { return e.Err }

type state int

const (
	stateNew state = iota
	stateStarting
	stateStarted
	stateStopping
	stateStopped
)

// Agent runs a set of plugins: Init all (dependencies first), then AfterInit
// all, and Close in reverse order when stopped. Its methods are safe for
// concurrent use.
type Agent struct {
	opts      options
	order     []*node
	dependent map[*node][]*node
	fs        *flag.FlagSet
	logs      *logging.Registry
	log       *logging.Log
	tracer    *measure.Tracer
	info      *infra.AgentInfo // shared with the plugins that inject it

	stopReq     chan struct{} // closed by the first Stop
	stopReqOnce sync.Once
	stopped     chan struct{}  // closed when the agent has stopped
	ready       chan struct{}  // closed when Start has succeeded
	calls       sync.WaitGroup // lifecycle calls of Start, abandoned ones included

	mu        sync.Mutex // guards the fields below
	state     state
	inited    []*node        // plugins whose Init succeeded, in start order
	inflight  map[*node]bool // plugins abandoned while running AfterInit
	abandoned bool           // start gave up waiting for running calls
	stopErr   error          // result of stopping, returned by Stop and Wait
	started   time.Time      // when Start completed
}

// New discovers the plugins, fills their dependencies, orders them, defines
// their flags on the agent's own FlagSet and parses the command-line
// arguments. It starts nothing. Every wiring error is returned here, with the
// path of the field involved.
//
// When the arguments contain -h or -help, New prints the usage and returns an
// error that matches flag.ErrHelp.
func New(opts ...Option) (*Agent, error) {
	o := options{ctx: context.Background(), getenv: os.Getenv}
	var errs []error
	for _, opt := range opts {
		if opt == nil {
			errs = append(errs, errors.New("agent: nil Option"))
			continue
		}
		if err := opt.apply(&o); err != nil {
			errs = append(errs, err)
		}
	}
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	if o.startTimeout == 0 {
		o.startTimeout = DefaultStartTimeout
	}
	if o.stopTimeout == 0 {
		o.stopTimeout = DefaultStopTimeout
	}
	if !o.signalsSet {
		o.signals = []os.Signal{os.Interrupt, syscall.SIGTERM}
	}
	if !o.argsSet && len(os.Args) > 1 {
		o.args = os.Args[1:]
	}
	if o.name == "" {
		o.name = "agent"
		if len(os.Args) > 0 {
			o.name = filepath.Base(os.Args[0])
		}
	}
	if o.logs == nil {
		o.logs = logging.NewRegistry()
	}
	if v := o.getenv(InitialLogLevelEnv); v != "" {
		lvl, err := logging.ParseLevel(v)
		if err != nil {
			return nil, fmt.Errorf("agent: env %s=%q: %w", InitialLogLevelEnv, v, err)
		}
		o.logs.SetGlobalLevel(lvl)
	}

	g, err := discover(o.roots)
	if err != nil {
		return nil, err
	}
	a := &Agent{
		opts:      o,
		dependent: make(map[*node][]*node),
		logs:      o.logs,
		log:       o.logs.Get("agent"),
		stopReq:   make(chan struct{}),
		stopped:   make(chan struct{}),
		ready:     make(chan struct{}),
		inflight:  make(map[*node]bool),
	}
	a.tracer = measure.NewTracer("agent", a.log)
	a.fs = flag.NewFlagSet(o.name, flag.ContinueOnError)
	src := config.NewSource(a.fs, o.getenv)
	host := infra.Host{Logs: o.logs, Config: src}
	for _, n := range g.nodes {
		if s, ok := n.plugin.(infra.DepsSetter); ok {
			s.SetupDeps(host)
		}
	}
	a.info = &infra.AgentInfo{Name: o.name, Version: o.version.Version, BuildDate: o.version.BuildDate, Commit: o.version.Commit}
	if err := g.inject(o.logs, a.info); err != nil {
		return nil, err
	}
	if a.order, err = g.sort(); err != nil {
		return nil, err
	}
	a.info.Plugins = a.Order()
	for _, n := range a.order {
		for _, d := range n.deps {
			a.dependent[d] = append(a.dependent[d], n)
		}
	}
	if err := a.defineFlags(); err != nil {
		return nil, err
	}
	if err := a.fs.Parse(o.args); err != nil {
		return nil, fmt.Errorf("agent: parse arguments: %w", err)
	}
	if args := a.fs.Args(); len(args) > 0 {
		return nil, fmt.Errorf("agent: unexpected argument %q (flags are written -name=value)", args[0])
	}
	return a, nil
}

// defineFlags lets every FlagRegistrar define its flags on the agent's
// FlagSet, refusing a flag defined twice and naming both owners.
func (a *Agent) defineFlags() error {
	owner := make(map[string]string)
	a.fs.VisitAll(func(f *flag.Flag) { owner[f.Name] = "agent" })
	for _, n := range a.order {
		if _, ok := owner[config.FlagName(n.name)]; ok {
			owner[config.FlagName(n.name)] = fmt.Sprintf("plugin %q", n.name)
		}
	}
	var errs []error
	for _, n := range a.order {
		r, ok := n.plugin.(infra.FlagRegistrar)
		if !ok {
			continue
		}
		scratch := flag.NewFlagSet(n.name, flag.ContinueOnError)
		r.RegisterFlags(scratch)
		me := fmt.Sprintf("plugin %q", n.name)
		scratch.VisitAll(func(f *flag.Flag) {
			if prev, ok := owner[f.Name]; ok {
				errs = append(errs, fmt.Errorf("agent: flag -%s defined by %s and by %s", f.Name, prev, me))
				return
			}
			owner[f.Name] = me
			a.fs.Var(f.Value, f.Name, f.Usage)
		})
	}
	return errors.Join(errs...)
}

// Order returns the plugin names in start order.
func (a *Agent) Order() []string {
	names := make([]string, len(a.order))
	for i, n := range a.order {
		names[i] = n.name
	}
	return names
}

// Plugins returns the plugins in start order.
func (a *Agent) Plugins() []infra.Plugin {
	ps := make([]infra.Plugin, len(a.order))
	for i, n := range a.order {
		ps[i] = n.plugin
	}
	return ps
}

// Graph describes the start order and, under each plugin, the plugins it
// depends on and the field that holds each.
func (a *Agent) Graph() string { return text(a.order) }

// DOT returns the dependency graph in Graphviz dot format.
func (a *Agent) DOT() string { return dot(a.order) }

// FlagSet returns the agent's FlagSet, already parsed by New.
func (a *Agent) FlagSet() *flag.FlagSet { return a.fs }

// Logs returns the logger registry of the agent.
func (a *Agent) Logs() *logging.Registry { return a.logs }

// Trace returns how long each plugin's Init and AfterInit took.
func (a *Agent) Trace() *measure.Trace { return a.tracer.Get() }

// Info returns the description of the agent that plugins inject as
// *infra.AgentInfo. Callers must not modify it.
func (a *Agent) Info() *infra.AgentInfo { return a.info }

// Version returns the build information given with the Version option.
func (a *Agent) Version() VersionInfo { return a.opts.version }

// Ready returns a channel closed once Start has succeeded: every plugin has
// completed Init and AfterInit.
func (a *Agent) Ready() <-chan struct{} { return a.ready }

// Done returns a channel closed when the agent has stopped, after a Stop or
// a failed Start.
func (a *Agent) Done() <-chan struct{} { return a.stopped }

// Start runs Init on every plugin, then AfterInit, within the start timeout.
// If a plugin fails or the timeout passes, the plugins already initialised
// are closed in reverse order and the error names the plugin. A plugin whose
// Init or AfterInit is still running when the start is abandoned is closed
// as soon as that call returns.
func (a *Agent) Start() error { return a.start(a.opts.ctx) }

func (a *Agent) start(parent context.Context) error {
	a.mu.Lock()
	if a.state != stateNew {
		a.mu.Unlock()
		return ErrAlreadyStarted
	}
	a.state = stateStarting
	a.mu.Unlock()

	ctx, cancel := context.WithTimeoutCause(parent, a.opts.startTimeout,
		fmt.Errorf("start timeout of %v passed: %w", a.opts.startTimeout, context.DeadlineExceeded))
	defer cancel()
	go func() {
		select {
		case <-a.stopReq:
			cancel()
		case <-ctx.Done():
		}
	}()

	var startLog logging.Logger = a.log
	if v := a.opts.version; v != (VersionInfo{}) {
		startLog = a.log.WithFields(logging.Fields{"version": v.Version, "commit": v.Commit, "built": v.BuildDate})
	}
	startLog.Infof("starting agent with %d plugins", len(a.order))
	t0 := time.Now()
	err := a.runPhase(ctx, "Init", func(n *node) func() error { return n.plugin.Init })
	if err == nil {
		err = a.runPhase(ctx, "AfterInit", func(n *node) func() error {
			if p, ok := n.plugin.(infra.PostInit); ok {
				return p.AfterInit
			}
			return nil
		})
	}
	a.mu.Lock()
	if err == nil && a.stopRequested() {
		// Stop came after the last plugin started but before the agent
		// counted as started: Stop waits for this start to close them.
		err = errStopRequested
	}
	if err == nil {
		a.state = stateStarted
		a.started = time.Now()
	}
	a.mu.Unlock()
	if err != nil {
		a.log.WithError(err).Error("agent failed to start, closing the plugins already started")
		closeErr := errors.Join(a.closeAll(), a.waitAbandoned())
		a.finish(closeErr)
		return errors.Join(err, closeErr)
	}
	close(a.ready)
	a.log.Infof("agent started with %d plugins in %v", len(a.order), time.Since(t0).Round(time.Microsecond))
	return nil
}

type result struct {
	n   *node
	err error
}

// runPhase calls the function that phase returns for each plugin, dependencies
// first: one at a time in start order, or, with ParallelInit, each as soon as
// its dependencies are done. It returns the first error; calls already
// running are awaited until ctx is done.
func (a *Agent) runPhase(ctx context.Context, phase string, fnOf func(*node) func() error) error {
	if ctx.Err() != nil {
		// The previous phase ended as the start was cancelled: this one
		// must not begin (its calls would find the start abandoned).
		cause := context.Cause(ctx)
		if errors.Is(cause, context.Canceled) && a.stopRequested() {
			cause = errStopRequested
		}
		return fmt.Errorf("%s not begun: %w", phase, cause)
	}
	pending := make(map[*node]int, len(a.order))
	var ready []*node
	for _, n := range a.order {
		pending[n] = len(n.deps)
		if len(n.deps) == 0 {
			ready = append(ready, n)
		}
	}
	results := make(chan result, len(a.order)) // never blocks a runner
	running := make(map[*node]time.Time)
	var errs []error
	done := 0
	complete := func(n *node) {
		done++
		for _, d := range a.dependent[n] {
			if pending[d]--; pending[d] == 0 {
				i, _ := slices.BinarySearchFunc(ready, d, func(x, y *node) int { return x.index - y.index })
				ready = slices.Insert(ready, i, d)
			}
		}
	}
	for done < len(a.order) {
		for len(errs) == 0 && len(ready) > 0 && (a.opts.parallel || len(running) == 0) {
			n := ready[0]
			ready = ready[1:]
			fn := fnOf(n)
			if fn == nil {
				complete(n)
				continue
			}
			running[n] = time.Now()
			a.calls.Add(1)
			go a.call(n, phase, fn, results)
		}
		if len(running) == 0 {
			break // an error stopped the launches and nothing is running
		}
		process := func(r result) {
			start := running[r.n]
			delete(running, r.n)
			a.tracer.LogTime(r.n.name+"."+phase, start)
			if r.err != nil {
				errs = append(errs, &PluginError{Plugin: r.n.name, Phase: phase, Err: r.err})
				return
			}
			if took := time.Since(start); took > slowPhase {
				a.log.WithField("plugin", r.n.name).Infof("%s took %v", phase, took.Round(time.Millisecond))
			}
			complete(r.n)
		}
		select {
		case r := <-results:
			process(r)
		case <-ctx.Done():
			cause := context.Cause(ctx)
			if errors.Is(cause, context.Canceled) && a.stopRequested() {
				cause = errStopRequested
			}
			// Calls report while holding a.mu, so once abandoned is set every
			// call that did not see it has its result in the channel.
			a.mu.Lock()
			a.abandoned = true
		drain:
			for {
				select {
				case r := <-results:
					process(r)
				default:
					break drain
				}
			}
			for n, start := range running {
				a.inflight[n] = true
				errs = append(errs, &PluginError{Plugin: n.name, Phase: phase,
					Err: fmt.Errorf("abandoned after %v: %w", time.Since(start).Round(time.Millisecond), cause)})
			}
			a.mu.Unlock()
			if len(errs) == 0 && done < len(a.order) {
				// Cancelled between two launches: the plugins not yet run
				// make the phase fail as surely as one that was running.
				errs = append(errs, fmt.Errorf("%s stopped before %d of %d plugins ran: %w",
					phase, len(a.order)-done, len(a.order), cause))
			}
			return errors.Join(errs...)
		}
	}
	return errors.Join(errs...)
}

func (a *Agent) stopRequested() bool {
	select {
	case <-a.stopReq:
		return true
	default:
		return false
	}
}

// call runs one phase of one plugin and reports the result. If the agent
// abandoned the call meanwhile, the plugin is closed here once it returns.
func (a *Agent) call(n *node, phase string, fn func() error, results chan<- result) {
	defer a.calls.Done()
	err := a.protect(n, phase, fn)
	a.mu.Lock()
	abandoned := a.abandoned
	if !abandoned && phase == "Init" && err == nil {
		a.inited = append(a.inited, n)
	}
	results <- result{n, err} // buffered for every plugin: never blocks
	a.mu.Unlock()
	// An abandoned plugin is left out of the rollback; it is closed here,
	// after its call returned, unless its Init failed.
	if abandoned && (phase != "Init" || err == nil) {
		if cerr := a.protect(n, "Close", n.plugin.Close); cerr != nil {
			a.log.WithError(cerr).WithField("plugin", n.name).Error("close after abandoned start failed")
		}
	}
}

// protect calls fn, turning a panic into an error.
func (a *Agent) protect(n *node, phase string, fn func() error) (err error) {
	defer func() {
		if r := recover(); r != nil {
			a.log.WithField("plugin", n.name).Errorf("%s panicked: %v\n%s", phase, r, debug.Stack())
			err = fmt.Errorf("panic: %v", r)
		}
	}()
	return fn()
}

// Stop closes every started plugin in reverse start order, also when some
// fail, and returns their errors joined. A Stop during Start abandons the
// start. Stop is idempotent: later calls wait and return the same result.
func (a *Agent) Stop() error {
	a.mu.Lock()
	st := a.state
	if st == stateNew {
		a.mu.Unlock()
		return ErrNotStarted
	}
	if st == stateStarted {
		a.state = stateStopping
	}
	// Under a.mu, so that a start that has just run its last plugin either
	// sees the request or has set stateStarted before Stop read the state.
	a.stopReqOnce.Do(func() { close(a.stopReq) })
	a.mu.Unlock()
	if st == stateStarted {
		a.log.Info("stopping agent")
		err := a.closeAll()
		a.finish(err)
		if err != nil {
			a.log.WithError(err).Error("agent stopped with errors")
		} else {
			a.log.Info("agent stopped")
		}
	}
	<-a.stopped
	return a.stopResult()
}

func (a *Agent) stopResult() error {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.stopErr
}

// Wait blocks until the agent has stopped and returns the result of Stop.
func (a *Agent) Wait() error {
	a.mu.Lock()
	st := a.state
	a.mu.Unlock()
	if st == stateNew {
		return ErrNotStarted
	}
	<-a.stopped
	return a.stopResult()
}

func (a *Agent) finish(err error) {
	a.mu.Lock()
	a.state = stateStopped
	a.stopErr = err
	a.mu.Unlock()
	close(a.stopped)
}

// waitAbandoned waits, within the stop timeout, for the calls that an
// abandoned start left running: each closes its plugin when it returns, and
// the agent counts as stopped only then. A call still running after the
// timeout is reported and left to close its plugin whenever it returns.
func (a *Agent) waitAbandoned() error {
	done := make(chan struct{})
	go func() { a.calls.Wait(); close(done) }()
	timer := time.NewTimer(a.opts.stopTimeout)
	defer timer.Stop()
	select {
	case <-done:
		return nil
	case <-timer.C:
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	var errs []error
	for n := range a.inflight {
		errs = append(errs, &PluginError{Plugin: n.name, Phase: "Close",
			Err: fmt.Errorf("its abandoned start call still runs after the stop timeout %v; it is closed when that returns: %w",
				a.opts.stopTimeout, context.DeadlineExceeded)})
	}
	if len(errs) == 0 {
		errs = append(errs, fmt.Errorf("an abandoned Init still runs after the stop timeout %v: %w", a.opts.stopTimeout, context.DeadlineExceeded))
	}
	return errors.Join(errs...)
}

// closeAll closes the initialised plugins that are not running a lifecycle
// call, in reverse start order, within the stop timeout.
func (a *Agent) closeAll() error {
	a.mu.Lock()
	todo := make([]*node, 0, len(a.inited))
	for _, n := range a.inited {
		if !a.inflight[n] {
			todo = append(todo, n)
		}
	}
	a.mu.Unlock()
	slices.SortFunc(todo, func(x, y *node) int { return y.index - x.index })

	deadline := time.Now().Add(a.opts.stopTimeout)
	var errs []error
	for _, n := range todo {
		wait := time.Until(deadline)
		if wait <= 0 {
			wait = closeGrace
		}
		res := make(chan error, 1)
		start := time.Now()
		go func() { res <- a.protect(n, "Close", n.plugin.Close) }()
		timer := time.NewTimer(wait)
		select {
		case err := <-res:
			if err != nil {
				errs = append(errs, &PluginError{Plugin: n.name, Phase: "Close", Err: err})
			}
		case <-timer.C:
			errs = append(errs, &PluginError{Plugin: n.name, Phase: "Close",
				Err: fmt.Errorf("still running after %v (stop timeout %v): %w",
					time.Since(start).Round(time.Millisecond), a.opts.stopTimeout, context.DeadlineExceeded)})
		}
		timer.Stop()
	}
	return errors.Join(errs...)
}

// Run starts the agent, waits for a quit signal, the end of the Context
// option's context, or a Stop call, and then stops the agent. A signal
// during start abandons the start. A second signal during stop makes Run
// return at once with an error, leaving the remaining Close calls running.
//
// Run never exits the process; main decides the exit code.
func (a *Agent) Run() error {
	var sigs chan os.Signal
	if len(a.opts.signals) > 0 {
		sigs = make(chan os.Signal, 2)
		signal.Notify(sigs, a.opts.signals...)
		defer signal.Stop(sigs)
	}
	ctx, cancel := context.WithCancelCause(a.opts.ctx)
	defer cancel(nil)
	relayDone := make(chan struct{})
	startDone := make(chan struct{})
	interrupted := false // a signal arrived during start
	go func() {
		defer close(relayDone)
		select {
		case s := <-sigs:
			a.log.Warnf("received %v during start", s)
			interrupted = true
			cancel(fmt.Errorf("signal %v", s))
		case <-startDone:
		}
	}()
	err := a.start(ctx)
	close(startDone)
	<-relayDone
	if err != nil {
		return err
	}
	if !interrupted {
		select {
		case s := <-sigs:
			a.log.Infof("received %v", s)
		case <-a.opts.ctx.Done():
			a.log.Infof("context done: %v", context.Cause(a.opts.ctx))
		case <-a.stopReq:
		}
	}
	res := make(chan error, 1)
	go func() { res <- a.Stop() }()
	select {
	case err := <-res:
		return err
	case s := <-sigs:
		return fmt.Errorf("agent: stop interrupted by a second signal (%v)", s)
	}
}
