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
	noSIGHUP bool   // WithoutSIGHUPReload
	stopHUP  func() // stops the SIGHUP handler; nil when none

	// mu guards conf, hooks, programs, byName and the stopAfter of the
	// programs: Reload replaces them while the rest of the plugin reads.
	// It is never held while events are delivered, since event handlers
	// may call Programs.
	mu       sync.RWMutex
	conf     *Config
	hooks    []hookRun
	programs []*program          // in start order
	byName   map[string]*program // the programs of programs

	// reloadMu serializes Init's definition of the programs, Reload and
	// Close, so that a reload never races the stop of the agent; it
	// guards logs and closing.
	reloadMu sync.Mutex
	logs     map[string]*sharedLog // log files by path, shared by the programs naming them
	closing  bool                  // Close began: no more reloads

	startWake chan struct{} // cap 1: a program came up; the starter checks the waiting ones

	timersMu     sync.Mutex     // guards timersClosed; held while adding to timers
	timersClosed bool           // no more timer callbacks run
	timers       sync.WaitGroup // timer callbacks running

	// ctx is the lifecycle context: hooks run under it, and Close cancels
	// it to kill the hooks still running after the shutdown timeout.
	ctx    context.Context
	cancel context.CancelFunc

	stopDispatch chan struct{}  // closed by Close to end the dispatchers
	deliverMu    sync.Mutex     // serializes deliver: handlers never run concurrently
	wg           sync.WaitGroup // dispatchers, the starter and the hook workers

	// followStop is closed when Close begins, to end the log follows;
	// followers counts the follows in progress, which Close waits for.
	followMu     sync.Mutex // guards followClosed; held while adding to followers
	followClosed bool
	followStop   chan struct{}
	followers    sync.WaitGroup

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
	for _, w := range conf.Warnings() {
		p.Log.Errorf("%v", w)
	}
	p.ctx, p.cancel = context.WithCancel(context.Background())
	p.stopDispatch = make(chan struct{})
	p.followStop = make(chan struct{})
	p.startWake = make(chan struct{}, 1)
	p.logs = map[string]*sharedLog{}
	hooks, err := resolveHooks(conf)
	if err != nil {
		p.cancel()
		return err
	}
	p.reloadMu.Lock()
	defer p.reloadMu.Unlock()
	p.mu.Lock()
	p.conf, p.hooks = conf, hooks
	p.byName = make(map[string]*program, len(conf.Programs))
	p.mu.Unlock()
	progs := make([]*program, 0, len(conf.Programs))
	for _, i := range startOrder(conf.Programs) {
		prog, err := p.defineProgram(conf.Programs[i], hooks)
		if err != nil {
			p.mu.Lock()
			p.programs = progs
			p.mu.Unlock()
			p.rollbackLocked()
			p.cancel()
			return err
		}
		progs = append(progs, prog)
	}
	p.mu.Lock()
	p.setProgramsLocked(progs)
	p.mu.Unlock()
	if p.HTTP != nil {
		p.registerHandlers(p.HTTP)
	}
	for _, prog := range progs {
		prog.reportInit()
	}
	p.wg.Go(p.starter)
	for _, prog := range progs {
		p.runProgram(prog)
	}
	return nil
}

// runProgram starts the goroutines of prog: the dispatcher of its
// notifications and the worker of its hooks.
func (p *Plugin) runProgram(prog *program) {
	p.wg.Go(prog.dispatch)
	p.wg.Go(prog.runHooks)
}

// setProgramsLocked makes progs, in start order, the programs of the
// plugin, and sets the order in which they stop; p.mu is held.
func (p *Plugin) setProgramsLocked(progs []*program) {
	p.programs = progs
	p.byName = make(map[string]*program, len(progs))
	for _, prog := range progs {
		p.byName[prog.name] = prog
	}
	p.stopOrderLocked()
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

// stopOrderLocked sets, for every program, the programs that must have
// stopped before it stops: those started after it with a higher priority
// (so the priorities stop in reverse order, each all at once), and those
// that depend on it, directly or not. p.mu is held.
func (p *Plugin) stopOrderLocked() {
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
		prog.stopAfter = nil
		for j := i + 1; j < len(p.programs); j++ {
			if p.programs[j].conf.Priority > prog.conf.Priority || dependsOn[j][i] {
				prog.stopAfter = append(prog.stopAfter, j)
			}
		}
	}
}

// sharedLog is a log file of one or more programs.
type sharedLog struct {
	w    io.Writer
	c    io.Closer
	rot  *rotatingFile // nil without rotation
	refs int           // programs using it
}

// acquireLog returns the log file at path for pc, opening it for the first
// program that names it, whose rotation settings apply; p.reloadMu is held.
func (p *Plugin) acquireLog(pc Program, path string) (*sharedLog, error) {
	if l := p.logs[path]; l != nil {
		l.refs++
		return l, nil
	}
	limit := int64(DefaultLogfileMaxBytes)
	if pc.LogfileMaxBytes != nil {
		limit = int64(*pc.LogfileMaxBytes)
	}
	backups := DefaultLogfileBackups
	if pc.LogfileBackups != nil {
		backups = *pc.LogfileBackups
	}
	l := &sharedLog{refs: 1}
	if limit == 0 {
		// O_APPEND: every write of every program sharing the file lands
		// at its end, whole. The program writes to it itself.
		f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_APPEND, 0o644)
		if err != nil {
			return nil, err
		}
		l.w, l.c = f, f
	} else {
		r, err := openRotating(path, limit, backups)
		if err != nil {
			return nil, err
		}
		l.w, l.c, l.rot = r, r, r
	}
	p.logs[path] = l
	return l, nil
}

// releaseLogs gives back the log files of prog, closing those no program
// uses any more; p.reloadMu is held.
func (p *Plugin) releaseLogs(prog *program) {
	for _, path := range prog.logPaths {
		l := p.logs[path]
		if l == nil {
			continue
		}
		if l.refs--; l.refs == 0 {
			delete(p.logs, path)
			if err := l.c.Close(); err != nil {
				p.Log.Warnf("closing log file %s: %v", path, err)
			}
		}
	}
	prog.logPaths = nil
}

// defineProgram creates the process of pc in the process manager, without
// starting it, with its log files; p.reloadMu is held.
func (p *Plugin) defineProgram(pc Program, hooks []hookRun) (*program, error) {
	path, err := exec.LookPath(pc.ExecutablePath)
	if err != nil {
		return nil, fmt.Errorf("supervisor: program %s: %w", pc.Name, lookPathError(pc.ExecutablePath, err))
	}
	prog := newProgram(p, pc, path, hooks)
	var stdout io.Writer = os.Stdout
	if pc.LogfilePath != "" {
		l, err := p.acquireLog(pc, pc.LogfilePath)
		if err != nil {
			return nil, fmt.Errorf("supervisor: program %s: logfile-path: %w", pc.Name, err)
		}
		prog.logPaths = append(prog.logPaths, pc.LogfilePath)
		stdout = l.w
	}
	stderr := stdout
	if pc.StderrLogfilePath != "" {
		l, err := p.acquireLog(pc, pc.StderrLogfilePath)
		if err != nil {
			p.releaseLogs(prog)
			return nil, fmt.Errorf("supervisor: program %s: stderr-logfile-path: %w", pc.Name, err)
		}
		prog.logPaths = append(prog.logPaths, pc.StderrLogfilePath)
		stderr = l.w
	}
	opts := []processmanager.Option{
		processmanager.WithName(pc.Name),
		processmanager.Args(pc.ExecutableArgs...),
		processmanager.Writer(stdout, stderr),
		processmanager.Notify(prog.notify),
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
		p.releaseLogs(prog)
		return nil, fmt.Errorf("supervisor: program %s: %w", pc.Name, err)
	}
	prog.proc = proc
	return prog, nil
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
// start-retries) and left stopped; the others start all the same. Unless
// WithoutSIGHUPReload was given, it then handles SIGHUP, on systems that
// have it, by calling Reload, until Close.
func (p *Plugin) AfterInit() error {
	p.reloadMu.Lock()
	defer p.reloadMu.Unlock()
	p.startPrograms(p.snapshot())
	if !p.noSIGHUP {
		p.stopHUP = p.handleSIGHUP()
	}
	return nil
}

// snapshot returns the programs, in start order.
func (p *Plugin) snapshot() []*program {
	p.mu.RLock()
	defer p.mu.RUnlock()
	return slices.Clone(p.programs)
}

// startPrograms starts progs, given in start order, as AfterInit does.
func (p *Plugin) startPrograms(progs []*program) {
	for _, prog := range progs {
		if len(prog.conf.DependsOn) > 0 {
			prog.mu.Lock()
			prog.waiting = true
			prog.mu.Unlock()
			continue
		}
		_ = prog.freshStart() // reported; the others start all the same
	}
	p.wakeStarter()
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
		for _, prog := range p.snapshot() {
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
// manager and closes the log files. It first stops handling SIGHUP, ends
// the log follows (GET .../log?follow=1) and waits for a reload in
// progress. Calling it again waits for the first call to end and returns
// its result.
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
	if p.stopHUP != nil {
		p.stopHUP()
	}
	p.followMu.Lock()
	p.followClosed = true
	close(p.followStop)
	p.followMu.Unlock()
	p.followers.Wait()
	p.reloadMu.Lock()
	p.closing = true
	p.reloadMu.Unlock()
	progs := p.snapshot()
	errs := stopInOrder(progs, func(prog *program) error { return prog.stop() })
	p.timersMu.Lock()
	p.timersClosed = true
	p.timersMu.Unlock()
	p.timers.Wait()
	close(p.stopDispatch)
	for _, prog := range progs {
		prog.closeQueue()
	}
	p.mu.RLock()
	timeout := cmp.Or(p.conf.HooksShutdownTimeout, DefaultHooksShutdownTimeout)
	p.mu.RUnlock()
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

// stopInOrder calls stop for each of progs, given in start order, once
// those that must stop before it have (see stopOrderLocked), restricted to
// progs: a priority at a time from the highest value, the programs of one
// priority in parallel, and a program after those that depend on it.
// Stopped one by one, the times programs take to exit would add up: two
// that take 6s each would outlast the agent's default stop timeout (10s),
// and two that ignore SIGTERM would take twice their stop timeout. It
// returns the errors in reverse start order. The stopAfter of progs must
// be those of the programs of the plugin that progs are taken from, in
// the same order.
func stopInOrder(progs []*program, stop func(*program) error) []error {
	n := len(progs)
	errs := make([]error, n)
	done := make([]chan struct{}, n)
	for i := range done {
		done[i] = make(chan struct{})
	}
	var wg sync.WaitGroup
	for i, prog := range progs {
		wg.Go(func() {
			defer close(done[i])
			for _, j := range prog.stopAfter {
				<-done[j]
			}
			errs[n-1-i] = stop(prog)
		})
	}
	wg.Wait()
	return errs
}

// rollback removes the programs from the process manager and closes the
// log files.
func (p *Plugin) rollback() {
	p.reloadMu.Lock()
	defer p.reloadMu.Unlock()
	p.rollbackLocked()
}

// rollbackLocked is rollback with p.reloadMu held.
func (p *Plugin) rollbackLocked() {
	for _, prog := range p.snapshot() {
		if prog.proc != nil {
			if err := p.Processes.Delete(prog.name); err != nil && !errors.Is(err, processmanager.ErrNotFound) && !errors.Is(err, processmanager.ErrClosed) {
				p.Log.Warnf("%s: %v", prog.name, err)
			}
		}
	}
	for path, l := range p.logs {
		if err := l.c.Close(); err != nil {
			p.Log.Warnf("closing log file %s: %v", path, err)
		}
	}
	clear(p.logs)
}

// deliver calls the event handlers and queues the hooks of events of
// prog, in order.
func (p *Plugin) deliver(prog *program, evs []Event) {
	p.deliverMu.Lock()
	defer p.deliverMu.Unlock()
	p.deliverLocked(prog, evs)
}

// deliverLocked is deliver with p.deliverMu held.
func (p *Plugin) deliverLocked(prog *program, evs []Event) {
	for _, ev := range evs {
		// The status first, so that a handler sees it current.
		prog.report(ev)
		for _, h := range p.handlers {
			h(ev)
		}
		prog.queue(ev)
	}
}

// Programs returns the status of every program, in start order.
func (p *Plugin) Programs() []ProgramStatus {
	progs := p.snapshot()
	out := make([]ProgramStatus, 0, len(progs))
	for _, prog := range progs {
		out = append(out, prog.status())
	}
	return out
}

// Program returns the status of the program named name, and false when
// there is none.
func (p *Plugin) Program(name string) (ProgramStatus, bool) {
	prog := p.program(name)
	if prog == nil {
		return ProgramStatus{}, false
	}
	return prog.status(), true
}

// program returns the program named name, or nil.
func (p *Plugin) program(name string) *program {
	p.mu.RLock()
	defer p.mu.RUnlock()
	return p.byName[name]
}

// GetProgramNames returns the names of the programs, in start order.
func (p *Plugin) GetProgramNames() []string {
	progs := p.snapshot()
	names := make([]string, len(progs))
	for i, prog := range progs {
		names[i] = prog.name
	}
	return names
}

// GetProgramByName returns the process of the program named name, or nil.
// Stopping it through the process stops its automatic restarts too. After
// a Reload that changed or removed the program, the process returned
// before is no longer the program's.
func (p *Plugin) GetProgramByName(name string) *processmanager.Process {
	if prog := p.program(name); prog != nil {
		return prog.proc
	}
	return nil
}
