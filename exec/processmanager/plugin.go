package processmanager

import (
	"cmp"
	"errors"
	"fmt"
	"io"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/plinth-go/plinth/exec/processmanager/model"
	"github.com/plinth-go/plinth/exec/processmanager/status"
	"github.com/plinth-go/plinth/health/statuscheck"
	"github.com/plinth-go/plinth/infra"
	"github.com/plinth-go/plinth/infra/rest"
	"github.com/plinth-go/plinth/logging"
)

// PluginName is the name of the plugin: its config file is
// process-manager.conf, named by the flag -process-manager-config or the
// environment variable PROCESS_MANAGER_CONFIG.
const PluginName = "process-manager"

// DefaultPollInterval is how often the status watcher reads the state of
// every process. Exits are not polled: they are seen at once.
const DefaultPollInterval = time.Second

// Config is the content of process-manager.conf. A zero Config is valid: no
// templates, states polled every second.
type Config struct {
	// TemplatePath is the directory of the template files, created (0755)
	// if missing. If empty, templates are off.
	TemplatePath string `yaml:"template-path"`
	// PollInterval is how often the status watcher reads the state of the
	// processes. If zero, DefaultPollInterval (1s) is used.
	PollInterval time.Duration `yaml:"poll-interval"`
}

// ProcessManager creates, attaches to and finds processes, and reads
// process templates. The Plugin provides it.
type ProcessManager interface {
	// NewProcess defines a process running cmd (a path, or a name looked up
	// in PATH at every start) without starting it.
	NewProcess(cmd string, options ...Option) (*Process, error)
	// NewProcessFromTemplate defines a process from a template.
	NewProcessFromTemplate(tmpl *model.Template) (*Process, error)
	// AttachProcess watches a process started elsewhere.
	AttachProcess(pid int, options ...Option) (*Process, error)
	// GetProcessByName returns the process named name, or nil.
	GetProcessByName(name string) *Process
	// GetProcessByPID returns the process whose current run has pid, or nil.
	GetProcessByPID(pid int) *Process
	// Delete removes a process from the manager, stopping it unless it is
	// detached or attached.
	Delete(name string) error
	// List returns every process, sorted by name.
	List() []*Process
	// GetTemplate reads the template named name from the template path.
	GetTemplate(name string) (*model.Template, error)
	// GetAllTemplates reads every template of the template path.
	GetAllTemplates() ([]*model.Template, error)
}

// Plugin is the process manager plugin. Build it with NewPlugin.
type Plugin struct {
	Deps

	codeConf *Config
	conf     Config

	// closing is set by Close, under mu: no new processes, starts,
	// restarts or deletes. Setting it under mu makes the list of processes
	// that Close shuts down final: add and Delete check it under mu.
	closing   atomic.Bool
	closeOnce sync.Once
	spawnCh   chan spawnReq // to the spawner goroutine
	umaskCh   chan spawnReq // to the umask spawner, started at the first WithUmask start; guarded by wgMu
	stopCh    chan struct{} // closed by Close to stop the watcher

	mu      sync.RWMutex // guards procs and startup; never held while locking a Process
	procs   map[string]*Process
	startup []startupProcess // templates with run_on_startup, started by AfterInit

	wgMu    sync.Mutex // guards noMore; held while adding to wg
	noMore  bool
	wg      sync.WaitGroup // every goroutine of the manager
	started bool           // Init ran; guarded by wgMu
}

// Deps lists the dependencies of the plugin. The agent fills them.
type Deps struct {
	infra.PluginDeps
	// StatusCheck receives the state of processes created with
	// WithStatusCheck. Without it, they report nothing.
	StatusCheck statuscheck.PluginStatusWriter `plinth:"optional"`
	// HTTP serves GET /process/list and /process/{name}. Without it, the
	// plugin serves no REST API.
	HTTP rest.HTTPHandlers `plinth:"optional"`
}

type startupProcess struct {
	proc *Process
	file string
}

// PluginOption customizes the plugin in code.
type PluginOption func(*Plugin)

var (
	_ infra.Plugin     = (*Plugin)(nil)
	_ infra.PostInit   = (*Plugin)(nil)
	_ ProcessManager   = (*Plugin)(nil)
	_ fmt.Stringer     = (*Plugin)(nil)
	_ infra.DepsSetter = (*Plugin)(nil)
)

// NewPlugin returns a plugin named "process-manager" with the given options
// applied.
func NewPlugin(opts ...PluginOption) *Plugin {
	p := &Plugin{procs: make(map[string]*Process)}
	p.SetName(PluginName)
	for _, opt := range opts {
		opt(p)
	}
	return p
}

// UseConf sets the config in code; it wins over process-manager.conf.
func UseConf(c Config) PluginOption {
	return func(p *Plugin) { p.codeConf = &c }
}

// Init reads the config, starts the spawner and the status watcher, reads
// the templates and defines their processes, and registers the REST
// handlers. An invalid template file fails Init with a *TemplateError
// naming it. Outside an agent, Init may be called directly: without a
// logger the plugin logs nothing, and without Cfg it reads no file.
func (p *Plugin) Init() error {
	if p.Log == nil {
		p.Log = logging.NewRegistry(logging.WithOutput(io.Discard)).ForPlugin(p.String())
	}
	if p.procs == nil {
		p.procs = make(map[string]*Process)
	}
	conf := Config{}
	if p.codeConf != nil {
		conf = *p.codeConf
	} else if p.Cfg != nil {
		if _, err := p.Cfg.LoadValue(&conf); err != nil {
			return fmt.Errorf("process-manager: %w", err)
		}
	}
	if conf.PollInterval <= 0 {
		conf.PollInterval = DefaultPollInterval
	}
	p.conf = conf

	p.wgMu.Lock()
	if p.started {
		p.wgMu.Unlock()
		return errors.New("process-manager: Init called twice")
	}
	p.started = true
	p.spawnCh = make(chan spawnReq)
	p.stopCh = make(chan struct{})
	p.wg.Add(2)
	go p.spawner()
	go p.watch()
	p.wgMu.Unlock()

	if err := p.loadTemplates(); err != nil {
		_ = p.Close()
		return err
	}
	if p.HTTP != nil {
		p.registerHandlers(p.HTTP)
	}
	return nil
}

// AfterInit starts the processes of templates with run_on_startup set. A
// process that fails to start fails the start of the agent, with an error
// naming its template file.
func (p *Plugin) AfterInit() error {
	p.mu.Lock()
	startup := p.startup
	p.startup = nil
	p.mu.Unlock()
	for _, s := range startup {
		if err := s.proc.Start(); err != nil {
			return &TemplateError{File: s.file, Err: err}
		}
	}
	return nil
}

// Close stops every process the manager started, except detached ones: it
// sends SIGTERM to their groups, and SIGKILL to those still running after
// their stop timeout, all at once, so Close lasts at most the longest stop
// timeout. It stops watching detached and attached processes, leaving them
// running, closes the notification channels it made, and waits for all its
// goroutines. From its start on, NewProcess, AttachProcess, Start and
// Delete fail with ErrClosed. Calling it again waits for the first call to
// end and does nothing else.
func (p *Plugin) Close() error {
	p.closeOnce.Do(p.close)
	return nil
}

func (p *Plugin) close() {
	p.mu.Lock()
	p.closing.Store(true)
	procs := make([]*Process, 0, len(p.procs))
	for _, proc := range p.procs {
		procs = append(procs, proc)
	}
	p.mu.Unlock()

	var wg sync.WaitGroup
	for _, proc := range procs {
		wg.Go(proc.shutdown)
	}
	wg.Wait()

	p.wgMu.Lock()
	p.noMore = true
	started, umaskCh := p.started, p.umaskCh
	p.wgMu.Unlock()
	if started {
		close(p.stopCh)
		close(p.spawnCh)
	}
	if umaskCh != nil {
		close(umaskCh)
	}
	p.wg.Wait()
}

// shutdown stops or abandons the process for Delete and Close, waits for
// its loop, closes its outputs and stops its notifications. Delete and
// Close never both shut a process down (see Plugin.closing); the once
// keeps a second call harmless all the same.
func (proc *Process) shutdown() { proc.shutdownOnce.Do(proc.release) }

// release does the work of shutdown.
func (proc *Process) release() {
	proc.mu.Lock()
	proc.removed = true
	proc.disableRestartsLocked()
	r := proc.run
	stop := r != nil && !r.exited && r.cmd != nil && !proc.opts.detach
	if r != nil && !r.exited && !stop {
		// Leave it running; no longer watching it ends the wait of the
		// loop.
		r.closeFds()
	}
	if stop {
		r.stopping = true
		_ = proc.signalLocked(r, proc.opts.stopSignal, proc.opts.stopAsGroup)
	}
	proc.mu.Unlock()
	if stop {
		_, _ = proc.awaitStop(r)
	}
	proc.mu.Lock()
	loop := proc.loop
	proc.mu.Unlock()
	if loop != nil {
		<-loop
	}
	proc.mu.Lock()
	out := proc.outputs
	proc.outputs = nil
	proc.mu.Unlock()
	if out != nil {
		out.close()
	}
	if proc.notifier != nil {
		close(proc.notifier.done)
	}
}

// goTracked runs f in a goroutine that Close waits for, unless Close is
// past the point of waiting; it reports whether f runs.
func (p *Plugin) goTracked(f func()) bool {
	p.wgMu.Lock()
	defer p.wgMu.Unlock()
	if p.noMore {
		return false
	}
	p.wg.Go(f)
	return true
}

// runTracked runs f on the calling goroutine (a timer's) so that Close
// waits for it, unless Close is past that point.
func (p *Plugin) runTracked(f func()) {
	p.wgMu.Lock()
	if p.noMore {
		p.wgMu.Unlock()
		return
	}
	p.wg.Add(1)
	p.wgMu.Unlock()
	defer p.wg.Done()
	f()
}

type spawnReq struct {
	cmd   *exec.Cmd
	cpus  []int // the CPUs the child starts bound to; nil for none
	umask int   // the umask of the child; -1 for the agent's
	reply chan spawnResult
}

type spawnResult struct {
	err         error // the start failed
	affinityErr error // the child started, not bound to cpus
}

// spawner starts every child. Linux sends the parent-death signal of a
// child when the thread that forked it exits, and the Go runtime ends the
// thread of a goroutine that exits while locked to it: a child forked from
// an arbitrary thread could be killed while the agent lives. This goroutine
// stays locked to its thread until Close, so the thread outlives every
// child it started.
func (p *Plugin) spawner() {
	defer p.wg.Done()
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	for req := range p.spawnCh {
		req.reply <- p.startBound(req.cmd, req.cpus)
	}
}

// spawn starts cmd on the spawner thread, bound to cpus unless they are
// nil, or on the umask spawner's thread with umask unless it is -1.
func (p *Plugin) spawn(cmd *exec.Cmd, cpus []int, umask int) spawnResult {
	reply := make(chan spawnResult, 1)
	p.wgMu.Lock()
	if !p.started || p.noMore {
		p.wgMu.Unlock()
		if !p.started {
			return spawnResult{err: errors.New("the process manager has not been initialized: call Init")}
		}
		return spawnResult{err: ErrClosed}
	}
	// Sending under wgMu keeps Close from closing spawnCh meanwhile; the
	// spawner never takes wgMu, so it cannot deadlock.
	ch := p.spawnCh
	if umask >= 0 {
		if p.umaskCh == nil {
			p.umaskCh = make(chan spawnReq)
			p.wg.Go(func() { p.umaskSpawner(p.umaskCh) })
		}
		ch = p.umaskCh
	}
	ch <- spawnReq{cmd, cpus, umask, reply}
	p.wgMu.Unlock()
	return <-reply
}

// watch polls the state of every running process.
func (p *Plugin) watch() {
	defer p.wg.Done()
	t := time.NewTicker(p.conf.PollInterval)
	defer t.Stop()
	buf := make([]byte, statBufSize)
	for {
		select {
		case <-p.stopCh:
			return
		case <-t.C:
			p.pollAll(buf)
		}
	}
}

func (p *Plugin) pollAll(buf []byte) {
	for _, proc := range p.List() {
		proc.mu.Lock()
		if r := proc.run; r != nil {
			proc.readStateLocked(r, buf)
		}
		proc.mu.Unlock()
	}
}

// NewProcess defines a process running cmd with the given options, without
// starting it; its state is Initial. Its name is set by WithName, else the
// base name of cmd; a name in use fails with ErrDuplicateName. With the
// Template option it also writes the template file.
func (p *Plugin) NewProcess(cmd string, options ...Option) (*Process, error) {
	if cmd == "" {
		return nil, errors.New("process-manager: NewProcess with an empty command")
	}
	o, err := applyOptions(options)
	if err != nil {
		return nil, fmt.Errorf("process-manager: %s: %w", cmd, err)
	}
	if o.name == "" {
		o.name = filepath.Base(cmd)
	}
	proc := &Process{m: p, name: o.name, cmd: cmd, opts: o, state: status.Initial}
	if o.template && p.conf.TemplatePath == "" {
		return nil, fmt.Errorf("process-manager: %s: Template: %w", o.name, ErrNoTemplatePath)
	}
	if err := p.add(proc); err != nil {
		return nil, err
	}
	if o.template {
		if err := p.saveTemplate(processToTemplate(proc)); err != nil {
			_ = p.Delete(proc.name)
			return nil, err
		}
	}
	return proc, nil
}

func applyOptions(options []Option) (options, error) {
	o := defaultOptions()
	for _, opt := range options {
		if opt == nil {
			continue
		}
		if err := opt(&o); err != nil {
			return o, err
		}
	}
	return o, nil
}

// add registers proc and starts its notifications, unless the manager is
// closing: the check and the registration are one step under mu, which
// Close holds while it sets closing and lists the processes to shut down,
// so every process added is shut down by Close or by Delete.
func (p *Plugin) add(proc *Process) error {
	if proc.opts.notify != nil {
		proc.notifier = newNotifier(proc.opts.notify, proc.opts.ownNotify)
	}
	p.mu.Lock()
	if p.closing.Load() {
		p.mu.Unlock()
		return fmt.Errorf("process-manager: %s: %w", proc.name, ErrClosed)
	}
	if _, dup := p.procs[proc.name]; dup {
		p.mu.Unlock()
		return fmt.Errorf("process-manager: %q: %w", proc.name, ErrDuplicateName)
	}
	// Close has not begun, so it has not stopped tracking goroutines
	// either: the forwarder starts, and Close or Delete stops it.
	if proc.notifier != nil && !p.goTracked(proc.notifier.forward) {
		p.mu.Unlock()
		return fmt.Errorf("process-manager: %s: %w", proc.name, ErrClosed)
	}
	p.procs[proc.name] = proc
	p.mu.Unlock()
	proc.mu.Lock()
	proc.reportLocked()
	proc.mu.Unlock()
	return nil
}

// GetProcessByName returns the process named name, or nil.
func (p *Plugin) GetProcessByName(name string) *Process {
	p.mu.RLock()
	defer p.mu.RUnlock()
	return p.procs[name]
}

// GetProcessByPID returns the process whose current or last run has pid,
// preferring one that runs, or nil.
func (p *Plugin) GetProcessByPID(pid int) *Process {
	var last *Process
	for _, proc := range p.List() {
		proc.mu.Lock()
		r := proc.run
		match, alive := r != nil && r.pid == pid, r != nil && !r.exited
		proc.mu.Unlock()
		if match && alive {
			return proc
		}
		if match {
			last = proc
		}
	}
	return last
}

// List returns every process, sorted by name.
func (p *Plugin) List() []*Process {
	p.mu.RLock()
	list := make([]*Process, 0, len(p.procs))
	for _, proc := range p.procs {
		list = append(list, proc)
	}
	p.mu.RUnlock()
	slices.SortFunc(list, func(a, b *Process) int { return cmp.Compare(a.name, b.name) })
	return list
}

// Delete removes the process named name. A process the manager started is
// stopped first (as StopAndWait does); a detached or attached process is
// left running. Its notification channel, when the manager made it, is
// closed. It fails with ErrNotFound for an unknown name, and with
// ErrClosed once Close has begun: Close stops the process itself.
func (p *Plugin) Delete(name string) error {
	p.mu.Lock()
	if p.closing.Load() {
		p.mu.Unlock()
		return fmt.Errorf("process-manager: delete %q: %w", name, ErrClosed)
	}
	proc, ok := p.procs[name]
	delete(p.procs, name)
	p.mu.Unlock()
	if !ok {
		return fmt.Errorf("process-manager: delete %q: %w", name, ErrNotFound)
	}
	proc.shutdown()
	return nil
}
