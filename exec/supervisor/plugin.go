package supervisor

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"slices"
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
	files    []io.Closer         // log files, closed by Close
	notify   chan processmanager.Notification

	startWake chan struct{} // cap 1: a program came up; the starter checks the waiting ones

	timersMu     sync.Mutex     // guards timersClosed; held while adding to timers
	timersClosed bool           // no more timer callbacks run
	timers       sync.WaitGroup // timer callbacks running

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
	p.startWake = make(chan struct{}, 1)
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
	p.wg.Go(p.starter)
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

// startOrder returns the indexes of progs in start order: by priority,
// then the order of the file, except that a program comes after those it
// depends on.
func startOrder(progs []Program) []int {
	index := make(map[string]int, len(progs))
	for i, pc := range progs {
		if _, dup := index[pc.Name]; !dup {
			index[pc.Name] = i
		}
	}
	placed := make([]bool, len(progs))
	order := make([]int, 0, len(progs))
	for len(order) < len(progs) {
		best, fallback := -1, -1
		for i, pc := range progs {
			if placed[i] {
				continue
			}
			if fallback < 0 || pc.Priority < progs[fallback].Priority {
				fallback = i
			}
			ready := true
			for _, d := range pc.DependsOn {
				if j, ok := index[d]; ok && !placed[j] {
					ready = false
					break
				}
			}
			if ready && (best < 0 || pc.Priority < progs[best].Priority) {
				best = i
			}
		}
		if best < 0 {
			best = fallback // a cycle, which the conf check rejects
		}
		placed[best] = true
		order = append(order, best)
	}
	return order
}

// stopOrder sets, for every program, the programs that must have stopped
// before it stops: those started after it with a higher priority (so the
// priorities stop in reverse order, each all at once), and those that
// depend on it, directly or not.
func (p *Plugin) stopOrder() {
	pos := make(map[string]int, len(p.programs))
	for i, prog := range p.programs {
		pos[prog.name] = i
	}
	// dependsOn[i][j]: program i depends on program j, directly or not.
	dependsOn := make([][]bool, len(p.programs))
	var visit func(i, from int)
	visit = func(i, from int) {
		for _, d := range p.programs[from].conf.DependsOn {
			if j, ok := pos[d]; ok && !dependsOn[i][j] {
				dependsOn[i][j] = true
				visit(i, j)
			}
		}
	}
	for i := range p.programs {
		dependsOn[i] = make([]bool, len(p.programs))
		visit(i, i)
	}
	for i, prog := range p.programs {
		for j := i + 1; j < len(p.programs); j++ {
			if p.programs[j].conf.Priority > prog.conf.Priority || dependsOn[j][i] {
				prog.stopAfter = append(prog.stopAfter, j)
			}
		}
		for _, d := range prog.conf.DependsOn {
			if j, ok := pos[d]; ok {
				prog.deps = append(prog.deps, p.programs[j])
			}
		}
	}
}

// logWriter returns the writer of the log file path for pc, shared by the
// programs that name it: the first one's rotation settings apply.
func (p *Plugin) logWriter(pc Program, path string, writers map[string]io.Writer) (io.Writer, error) {
	if w := writers[path]; w != nil {
		return w, nil
	}
	limit := int64(DefaultLogfileMaxBytes)
	if pc.LogfileMaxBytes != nil {
		limit = int64(*pc.LogfileMaxBytes)
	}
	backups := DefaultLogfileBackups
	if pc.LogfileBackups != nil {
		backups = *pc.LogfileBackups
	}
	var w io.Writer
	if limit == 0 {
		// O_APPEND: every write of every program sharing the file lands
		// at its end, whole. The program writes to it itself.
		f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_APPEND, 0o644)
		if err != nil {
			return nil, err
		}
		p.files = append(p.files, f)
		w = f
	} else {
		r, err := openRotating(path, limit, backups)
		if err != nil {
			return nil, err
		}
		p.files = append(p.files, r)
		w = r
	}
	writers[path] = w
	return w, nil
}

// definePrograms creates the processes, in start order.
func (p *Plugin) definePrograms() error {
	conf := p.conf
	writers := map[string]io.Writer{}
	for _, i := range startOrder(conf.Programs) {
		pc := conf.Programs[i]
		path, err := exec.LookPath(pc.ExecutablePath)
		if err != nil {
			return fmt.Errorf("supervisor: program %s: %w", pc.Name, lookPathError(pc.ExecutablePath, err))
		}
		var stdout io.Writer = os.Stdout
		if pc.LogfilePath != "" {
			if stdout, err = p.logWriter(pc, pc.LogfilePath, writers); err != nil {
				return fmt.Errorf("supervisor: program %s: logfile-path: %w", pc.Name, err)
			}
		}
		stderr := stdout
		if pc.StderrLogfilePath != "" {
			if stderr, err = p.logWriter(pc, pc.StderrLogfilePath, writers); err != nil {
				return fmt.Errorf("supervisor: program %s: stderr-logfile-path: %w", pc.Name, err)
			}
		}
		prog := newProgram(p, pc, path)
		opts := []processmanager.Option{
			processmanager.WithName(pc.Name),
			processmanager.Args(pc.ExecutableArgs...),
			processmanager.Writer(stdout, stderr),
			processmanager.Notify(p.notify),
			processmanager.AutoTerminate(),
			processmanager.ManagedBy("the supervisor: use POST " + ProgramsPath + "/" + pc.Name + "/{start|stop|restart}"),
			processmanager.WithStopTimeout(cmp.Or(pc.StopTimeout, DefaultStopTimeout)),
			processmanager.WithBackoff(prog.backoff()),
		}
		if prog.policy {
			opts = append(opts, processmanager.WithRestartPolicy(prog.decide))
		} else if pc.Restarts != 0 {
			opts = append(opts, processmanager.Restarts(int32(pc.Restarts)))
		}
		if pc.StopSignal != "" {
			sig, _ := ParseSignal(pc.StopSignal) // checked with the conf
			opts = append(opts, processmanager.WithStopSignal(sig))
		}
		stopAsGroup := pc.StopAsGroup == nil || *pc.StopAsGroup
		killAsGroup := stopAsGroup
		if pc.KillAsGroup != nil {
			killAsGroup = *pc.KillAsGroup
		}
		opts = append(opts, processmanager.WithStopAsGroup(stopAsGroup), processmanager.WithKillAsGroup(killAsGroup))
		if dir := cmp.Or(pc.WorkingDir, pc.Directory); dir != "" {
			opts = append(opts, processmanager.WithDir(dir))
		}
		if env := cmp.Or(len(pc.Env), len(pc.Environment)); env > 0 {
			vars := pc.Env
			if len(vars) == 0 {
				vars = pc.Environment
			}
			opts = append(opts, processmanager.EnvVar(programEnv(vars)))
		}
		if pc.User != "" {
			opts = append(opts, processmanager.WithUser(pc.User))
		}
		if pc.Umask != nil {
			opts = append(opts, processmanager.WithUmask(os.FileMode(*pc.Umask)))
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
	p.stopOrder()
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

// AfterInit starts the programs in start order, except those with
// depends-on: the starter starts each of them once its dependencies have
// been running for their start-seconds. A program that fails to start is
// logged, reported (state failed, a failed event, or a retry with
// start-retries) and left stopped; the others start all the same.
func (p *Plugin) AfterInit() error {
	for _, prog := range p.programs {
		if len(prog.deps) > 0 {
			prog.mu.Lock()
			prog.waiting = true
			prog.mu.Unlock()
			continue
		}
		_ = prog.freshStart() // reported; the others start all the same
	}
	p.wakeStarter()
	return nil
}

// wakeStarter makes the starter check the programs waiting for their
// dependencies.
func (p *Plugin) wakeStarter() {
	select {
	case p.startWake <- struct{}{}:
	default:
	}
}

// starter starts the programs waiting for their dependencies, in start
// order, once every dependency runs and has been running for its
// start-seconds, until Close.
func (p *Plugin) starter() {
	for {
		select {
		case <-p.startWake:
		case <-p.stopDispatch:
			return
		}
		for _, prog := range p.programs {
			if prog.isWaiting() && prog.depsUp() {
				prog.startWaiting()
			}
		}
	}
}

// afterFunc runs f after d, as time.AfterFunc does, unless Close has
// stopped the timers by then; Close waits for the f that run.
func (p *Plugin) afterFunc(d time.Duration, f func()) *time.Timer {
	return time.AfterFunc(d, func() {
		p.timersMu.Lock()
		if p.timersClosed {
			p.timersMu.Unlock()
			return
		}
		p.timers.Add(1)
		p.timersMu.Unlock()
		defer p.timers.Done()
		f()
	})
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
	p.timersMu.Lock()
	p.timersClosed = true
	p.timersMu.Unlock()
	p.timers.Wait()
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

// stopAll stops the programs for Close, each once those that must stop
// before it have (see stopOrder): a priority at a time from the highest
// value, the programs of one priority in parallel, and a program after
// those that depend on it. Stopped one by one, the times programs take to
// exit would add up: two that take 6s each would outlast the agent's
// default stop timeout (10s), and two that ignore SIGTERM would take twice
// their stop timeout. It returns the errors in reverse start order.
func (p *Plugin) stopAll() []error {
	n := len(p.programs)
	errs := make([]error, n)
	done := make([]chan struct{}, n)
	for i := range done {
		done[i] = make(chan struct{})
	}
	var wg sync.WaitGroup
	for i, prog := range p.programs {
		wg.Go(func() {
			defer close(done[i])
			for _, j := range prog.stopAfter {
				<-done[j]
			}
			errs[n-1-i] = prog.stop()
		})
	}
	wg.Wait()
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
		if err := f.Close(); err != nil {
			p.Log.Warnf("closing a log file: %v", err)
		}
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
