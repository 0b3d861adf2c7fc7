package supervisor

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"slices"
	"sort"
	"sync"
	"time"

	"github.com/plinth-go/plinth/exec/processmanager"
	"github.com/plinth-go/plinth/health/statuscheck"
	"github.com/plinth-go/plinth/infra"
	"github.com/plinth-go/plinth/infra/rest"
)

// PluginName is the name of the plugin: its conf file is supervisor.conf,
// named by the flag -supervisor-config or the environment variable
// SUPERVISOR_CONFIG.
const PluginName = "supervisor"

// StatusPrefix prefixes the name under which each program reports its
// state to the status check: program "vpp" reports as "supervisor.vpp".
const StatusPrefix = PluginName + "."

// Plugin is the supervisor plugin. Build it with NewPlugin.
type Plugin struct {
	Deps

	codeConf *Config
	handlers []func(Event)

	conf     *Config
	hooks    []hookRun
	programs []*program          // in start order; fixed after Init
	byName   map[string]*program // fixed after Init
	files    []*os.File          // log files, closed by Close
	notify   chan processmanager.Notification

	// ctx is the lifecycle context: hooks run under it, and Close cancels
	// it to kill the hooks still running after the shutdown timeout.
	ctx    context.Context
	cancel context.CancelFunc

	stopDispatch chan struct{}  // closed by Close to end dispatch
	deliverMu    sync.Mutex     // serializes deliver: handlers never run concurrently
	wg           sync.WaitGroup // dispatch and the hook workers

	closeOnce sync.Once
	closeErr  error
}

// Deps lists the dependencies of the plugin. The agent fills them.
type Deps struct {
	infra.PluginDeps
	// Processes runs the programs.
	Processes processmanager.ProcessManager
	// StatusCheck receives the state of every program, under
	// StatusPrefix+name. Without it, programs report nothing.
	StatusCheck statuscheck.PluginStatusWriter `plinth:"optional,unordered"`
	// HTTP serves GET /supervisor/programs. Without it, the plugin serves no
	// REST API.
	HTTP rest.HTTPHandlers `plinth:"optional"`
}

// Option customizes the plugin in code.
type Option func(*Plugin)

// UseConf sets the conf in code; it wins over supervisor.conf. It is
// checked as a file would be, at Init.
func UseConf(c Config) Option {
	return func(p *Plugin) { p.codeConf = &c }
}

// WithEventHandler calls h with every event of every program, in the order
// of the events of each program, from the goroutine that supervises them:
// h must return quickly (hand long work to another goroutine), as a slow h
// delays the events of every program. Hooks run after h, elsewhere.
func WithEventHandler(h func(Event)) Option {
	return func(p *Plugin) {
		if h == nil {
			panic("supervisor: WithEventHandler(nil)")
		}
		p.handlers = append(p.handlers, h)
	}
}

var (
	_ infra.Plugin   = (*Plugin)(nil)
	_ infra.PostInit = (*Plugin)(nil)
)

// NewPlugin returns a plugin named "supervisor" with the given options
// applied.
func NewPlugin(opts ...Option) *Plugin {
	p := &Plugin{}
	p.SetName(PluginName)
	for _, o := range opts {
		o(p)
	}
	return p
}

// Init reads and checks the conf, opens the log files and defines every
// program in the process manager, without starting it. A conf with errors
// fails Init with every problem, each naming file and line; invalid CPU
// affinity values are logged and ignored. Without a conf file the
// supervisor runs nothing.
func (p *Plugin) Init() error {
	if p.Processes == nil {
		return errors.New("supervisor: no process manager: add the process-manager plugin to the agent")
	}
	conf, err := p.loadConf()
	if err != nil {
		return err
	}
	p.conf = conf
	for _, w := range conf.Warnings() {
		p.Log.Errorf("%v", w)
	}
	p.ctx, p.cancel = context.WithCancel(context.Background())
	p.stopDispatch = make(chan struct{})
	p.notify = make(chan processmanager.Notification)
	p.byName = make(map[string]*program, len(conf.Programs))
	if err := p.resolveHooks(); err != nil {
		p.cancel()
		return err
	}
	if err := p.definePrograms(); err != nil {
		p.rollback()
		p.cancel()
		return err
	}
	if p.HTTP != nil {
		p.registerHandlers(p.HTTP)
	}
	for _, prog := range p.programs {
		if p.StatusCheck != nil {
			if err := p.StatusCheck.ReportStateChange(StatusPrefix+prog.name, statuscheck.StateInit, nil); err != nil {
				p.Log.Warnf("%s: status check: %v", prog.name, err)
			}
		}
	}
	p.wg.Go(p.dispatch)
	for _, prog := range p.programs {
		p.wg.Go(prog.runHooks)
	}
	return nil
}

func (p *Plugin) loadConf() (*Config, error) {
	if p.codeConf != nil {
		c := *p.codeConf
		c.Programs = slices.Clone(c.Programs)
		if err := c.check("supervisor conf (set in code)", lines{}); err != nil {
			return nil, err
		}
		return &c, nil
	}
	if p.Cfg == nil {
		return &Config{}, nil
	}
	var probe Config
	found, err := p.Cfg.LoadValue(&probe)
	if err != nil {
		return nil, fmt.Errorf("supervisor: %w", err)
	}
	if !found {
		p.Log.Infof("no conf file: no program to run")
		return &Config{}, nil
	}
	// LoadValue found the file and decoded it strictly; ParseConfig adds
	// the checks that need the lines of the file.
	return LoadConfig(p.Cfg.GetConfigName())
}

// definePrograms creates the processes, in start order.
func (p *Plugin) definePrograms() error {
	conf := p.conf
	order := make([]int, len(conf.Programs))
	for i := range order {
		order[i] = i
	}
	// Stable: within one priority, the order of the file.
	sort.SliceStable(order, func(a, b int) bool {
		return conf.Programs[order[a]].Priority < conf.Programs[order[b]].Priority
	})
	files := map[string]*os.File{}
	for _, i := range order {
		pc := conf.Programs[i]
		path, err := exec.LookPath(pc.ExecutablePath)
		if err != nil {
			return fmt.Errorf("supervisor: program %s: %w", pc.Name, lookPathError(pc.ExecutablePath, err))
		}
		out := os.Stdout
		if pc.LogfilePath != "" {
			if out = files[pc.LogfilePath]; out == nil {
				// O_APPEND: every write of every program sharing the
				// file lands at its end, whole.
				f, err := os.OpenFile(pc.LogfilePath, os.O_WRONLY|os.O_CREATE|os.O_APPEND, 0o644)
				if err != nil {
					return fmt.Errorf("supervisor: program %s: logfile-path: %w", pc.Name, err)
				}
				files[pc.LogfilePath] = f
				p.files = append(p.files, f)
				out = f
			}
		}
		prog := newProgram(p, pc, path)
		opts := []processmanager.Option{
			processmanager.WithName(pc.Name),
			processmanager.Args(pc.ExecutableArgs...),
			processmanager.Writer(out, out),
			processmanager.Notify(p.notify),
			processmanager.AutoTerminate(),
			processmanager.ManagedBy("the supervisor: use POST " + ProgramsPath + "/" + pc.Name + "/{start|stop|restart}"),
			processmanager.WithStopTimeout(cmp.Or(pc.StopTimeout, DefaultStopTimeout)),
			processmanager.WithBackoff(prog.backoff()),
		}
		if pc.Restarts != 0 {
			opts = append(opts, processmanager.Restarts(int32(pc.Restarts)))
		}
		if pc.StopSignal != "" {
			sig, _ := ParseSignal(pc.StopSignal) // checked with the conf
			opts = append(opts, processmanager.WithStopSignal(sig))
		}
		if pc.WorkingDir != "" {
			opts = append(opts, processmanager.WithDir(pc.WorkingDir))
		}
		if len(pc.Env) > 0 {
			opts = append(opts, processmanager.EnvVar(programEnv(pc.Env)))
		}
		if pc.CPUAffinityMask != "" || pc.CPUAffinityList != "" {
			// An invalid value was logged as a warning of the conf: the
			// program runs unbound rather than not at all.
			if affinityValid(pc) {
				opts = append(opts, processmanager.CPUAffinity(pc.CPUAffinityMask, pc.CPUAffinityList,
					time.Duration(pc.CPUAffinitySetupDelay)))
			}
		}
		proc, err := p.Processes.NewProcess(path, opts...)
		if err != nil {
			return fmt.Errorf("supervisor: program %s: %w", pc.Name, err)
		}
		prog.proc = proc
		p.programs = append(p.programs, prog)
		p.byName[pc.Name] = prog
	}
	return nil
}

// programEnv is the agent's environment with env added, sorted so that
// the order of a map does not leak into the program.
func programEnv(env map[string]string) []string {
	out := os.Environ()
	keys := make([]string, 0, len(env))
	for k := range env {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	for _, k := range keys {
		out = append(out, k+"="+env[k])
	}
	return out
}

// AfterInit starts the programs in start order. A program that fails to
// start is logged, reported (state failed, a failed event) and left
// stopped; the others start all the same.
func (p *Plugin) AfterInit() error {
	for _, prog := range p.programs {
		_ = prog.start() // reported; the others start all the same
	}
	return nil
}

// Close stops the programs a priority at a time, in reverse start order
// (the highest priority value first): the programs of one priority
// together, each with its stop signal (SIGTERM unless stop-signal says
// otherwise) on its process group and SIGKILL after its stop timeout, and
// the next priority once they have all exited. So Close
// lasts at most, over the priorities, the sum of the longest stop timeout
// of each, plus hooks-shutdown-timeout: with one priority (the default),
// the longest stop timeout. Then it lets the hooks of the last events run
// until hooks-shutdown-timeout, kills those still running, skips those
// still queued (logging how many), removes the programs from the process
// manager and closes the log files. Calling it again waits for the first
// call to end and returns its result.
//
// When Close outlasts the agent's stop timeout, the agent goes on and
// closes the process manager, which stops the programs still running
// itself (stop signal, SIGKILL after their stop timeout); this Close
// carries on meanwhile, and still runs the hooks and closes the log files.
func (p *Plugin) Close() error {
	p.closeOnce.Do(func() { p.closeErr = p.close() })
	return p.closeErr
}

func (p *Plugin) close() error {
	if p.stopDispatch == nil || p.ctx.Err() != nil {
		return nil // Init did not run or failed
	}
	errs := p.stopAll()
	close(p.stopDispatch)
	for _, prog := range p.programs {
		prog.closeQueue()
	}
	timeout := cmp.Or(p.conf.HooksShutdownTimeout, DefaultHooksShutdownTimeout)
	done := make(chan struct{})
	go func() {
		p.wg.Wait()
		close(done)
	}()
	t := time.NewTimer(timeout)
	select {
	case <-done:
	case <-t.C:
		p.Log.Warnf("hooks still running %v after the programs stopped: killing them", timeout)
		p.cancel()
		<-done
	}
	t.Stop()
	p.cancel()
	p.rollback()
	return errors.Join(errs...)
}

// stopAll stops the programs for Close, a priority at a time from the
// highest value, the programs of one priority in parallel. Stopped one by
// one, the times programs take to exit would add up: two that take 6s
// each would outlast the agent's default stop timeout (10s), and two that
// ignore SIGTERM would take twice their stop timeout. It returns the
// errors in reverse start order.
func (p *Plugin) stopAll() []error {
	errs := make([]error, len(p.programs))
	for end := len(p.programs); end > 0; {
		begin := end - 1
		for begin > 0 && p.programs[begin-1].conf.Priority == p.programs[end-1].conf.Priority {
			begin--
		}
		var wg sync.WaitGroup
		for i := begin; i < end; i++ {
			wg.Go(func() { errs[len(p.programs)-1-i] = p.programs[i].stop() })
		}
		wg.Wait()
		end = begin
	}
	return errs
}

// rollback removes the programs from the process manager and closes the
// log files.
func (p *Plugin) rollback() {
	for _, prog := range p.programs {
		if prog.proc != nil {
			if err := p.Processes.Delete(prog.name); err != nil && !errors.Is(err, processmanager.ErrNotFound) && !errors.Is(err, processmanager.ErrClosed) {
				p.Log.Warnf("%s: %v", prog.name, err)
			}
		}
	}
	for _, f := range p.files {
		f.Close()
	}
	p.files = nil
}

// dispatch turns the notifications of the process manager into events.
// It never blocks on hooks: each program queues its own.
func (p *Plugin) dispatch() {
	for {
		select {
		case n := <-p.notify:
			if prog := p.byName[n.Name]; prog != nil {
				p.deliver(prog.handle(n))
			}
		case <-p.stopDispatch:
			return
		}
	}
}

// deliver calls the event handlers and queues the hooks of events of one
// program, in order.
func (p *Plugin) deliver(evs []Event) {
	p.deliverMu.Lock()
	defer p.deliverMu.Unlock()
	for _, ev := range evs {
		// The status first, so that a handler sees it current.
		prog := p.byName[ev.Program]
		prog.report(ev)
		for _, h := range p.handlers {
			h(ev)
		}
		prog.queue(ev)
	}
}

// Programs returns the status of every program, in start order.
func (p *Plugin) Programs() []ProgramStatus {
	out := make([]ProgramStatus, 0, len(p.programs))
	for _, prog := range p.programs {
		out = append(out, prog.status())
	}
	return out
}

// Program returns the status of the program named name, and false when
// there is none.
func (p *Plugin) Program(name string) (ProgramStatus, bool) {
	prog := p.byName[name]
	if prog == nil {
		return ProgramStatus{}, false
	}
	return prog.status(), true
}

// GetProgramNames returns the names of the programs, in start order.
func (p *Plugin) GetProgramNames() []string {
	names := make([]string, len(p.programs))
	for i, prog := range p.programs {
		names[i] = prog.name
	}
	return names
}

// GetProgramByName returns the process of the program named name, or nil.
// Stopping it through the process stops its automatic restarts too.
func (p *Plugin) GetProgramByName(name string) *processmanager.Process {
	if prog := p.byName[name]; prog != nil {
		return prog.proc
	}
	return nil
}
