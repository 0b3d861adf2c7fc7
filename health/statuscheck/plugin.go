package statuscheck

import (
	"context"
	"fmt"
	"io"
	"reflect"
	"runtime/debug"
	"slices"
	"sync"
	"sync/atomic"
	"time"
	"unicode/utf8"

	"google.golang.org/protobuf/proto"

	"github.com/plinth-go/plinth/health/statuscheck/model"
	"github.com/plinth-go/plinth/infra"
	"github.com/plinth-go/plinth/infra/config"
	"github.com/plinth-go/plinth/infra/kvdb"
	"github.com/plinth-go/plinth/infra/status"
	"github.com/plinth-go/plinth/logging"
	"github.com/plinth-go/plinth/servicelabel"
)

// PluginName is the default name of the plugin; its config file is
// statuscheck.conf.
const PluginName = "statuscheck"

// Deps lists the dependencies of the plugin.
type Deps struct {
	infra.PluginDeps
	// KV is where the status is published. Without it (or with a disabled
	// store) nothing is published and the status is only served in process.
	KV kvdb.Store `plinth:"optional"`
	// Label gives the key prefix of the agent. It is needed to publish.
	Label servicelabel.ReaderAPI `plinth:"optional"`
	// Agent, filled by the agent, gives the build version published in the
	// agent status (see agent.Version) unless WithBuildInfo sets it.
	Agent *infra.AgentInfo
}

// Plugin aggregates the status of the agent's plugins, publishes it to the
// key-value store and serves it to readers. It implements
// PluginStatusWriter and StatusReader. Build it with NewPlugin.
type Plugin struct {
	Deps

	now      func() time.Time
	codeConf *Config
	build    [3]string // version, date, commit
	buildSet bool      // build was set by WithBuildInfo

	// Written by Init and AfterInit, read afterwards.
	cfg      Config
	ctx      context.Context // lifecycle root of the loops; Close cancels it
	cancel   context.CancelFunc
	reporter statusReporterSetter // the KV, when it reports its state to us

	wg         sync.WaitGroup // probe and publish loops
	callWG     sync.WaitGroup // probe calls, which may outlive their timeout
	trigger    chan struct{}  // cap 1: the publisher has work
	firstRound chan struct{}  // closed after the first round of probes
	resync     atomic.Bool    // the publisher must read the keys before diffing
	snap       atomic.Pointer[Snapshot]
	puts       atomic.Uint64
	fails      atomic.Uint64

	mu sync.Mutex // guards every field below
	// plugins by name, and their names sorted.
	plugins map[string]*entry
	names   []string
	deps    map[string]struct{} // external dependencies; replaced, never modified, once in a snapshot
	agent   agentFields
	started bool
	closed  bool
	seq     uint64
	subs    map[chan struct{}]struct{}
}

// entry is one registered plugin.
type entry struct {
	probe    PluginStateProbe // nil: push mode
	inFlight bool             // a probe call is running
	status   *model.PluginStatus
}

type agentFields struct {
	state      PluginState
	lastChange int64
	lastUpdate int64
	startTime  int64
}

// statusReporterSetter is implemented by stores that report their own
// connection state (the etcd plugin does).
type statusReporterSetter interface {
	SetStatusReporter(fn func(ok bool, err error))
}

// Option customizes the plugin in code.
type Option func(*Plugin)

// UseConf sets the whole config in code; statuscheck.conf is then ignored.
func UseConf(c Config) Option { return func(p *Plugin) { p.codeConf = &c } }

// WithClock makes the plugin read the time from now instead of time.Now,
// for the timestamps of the status. Tests use it.
func WithClock(now func() time.Time) Option { return func(p *Plugin) { p.now = now } }

// WithBuildInfo sets the build fields of the agent status. By default they
// come from the build information of the binary: the main module's version,
// and the VCS revision and time that `go build` stamps.
func WithBuildInfo(version, buildDate, commit string) Option {
	return func(p *Plugin) { p.build, p.buildSet = [3]string{version, buildDate, commit}, true }
}

var (
	_ infra.Plugin         = (*Plugin)(nil)
	_ infra.PostInit       = (*Plugin)(nil)
	_ PluginStatusWriter   = (*Plugin)(nil)
	_ DependencyRegisterer = (*Plugin)(nil)
	_ StatusReader         = (*Plugin)(nil)
	_ status.Reader        = (*Plugin)(nil)
)

// UnorderedTypes tells the agent that plugins holding the status check as
// a PluginStatusWriter or a DependencyRegisterer (or a smaller interface
// with some of their methods) need not start after it: those methods work
// from NewPlugin on, before Init and after Close. Such fields therefore need
// no `plinth:"unordered"` tag, and the store the status check publishes
// through may report to it. A field of another type, such as StatusReader or
// *Plugin, still starts the status check first. See agent.UnorderedProvider.
func (p *Plugin) UnorderedTypes() []reflect.Type {
	return []reflect.Type{reflect.TypeFor[PluginStatusWriter](), reflect.TypeFor[DependencyRegisterer]()}
}

// NewPlugin returns a plugin named "statuscheck" with the given options
// applied. It is ready to take registrations and reports at once, before
// its Init.
func NewPlugin(opts ...Option) *Plugin {
	p := &Plugin{
		now:        time.Now,
		build:      buildInfo(),
		trigger:    make(chan struct{}, 1),
		firstRound: make(chan struct{}),
		plugins:    make(map[string]*entry),
		subs:       make(map[chan struct{}]struct{}),
	}
	p.SetName(PluginName)
	for _, opt := range opts {
		opt(p)
	}
	p.agent.state = StateInit
	p.snapshotLocked()
	return p
}

func buildInfo() [3]string {
	var b [3]string
	bi, ok := debug.ReadBuildInfo()
	if !ok {
		return b
	}
	b[0] = bi.Main.Version
	for _, s := range bi.Settings {
		switch s.Key {
		case "vcs.time":
			b[1] = s.Value
		case "vcs.revision":
			b[2] = s.Value
		}
	}
	return b
}

// resolveConfig reads the config file, lets UseConf override it and
// checks the result; a bad value is reported with the file it came from.
func (p *Plugin) resolveConfig() (Config, error) {
	var cfg Config
	origin, err := config.Resolve(p.Cfg, p.codeConf, &cfg)
	if err != nil {
		return Config{}, fmt.Errorf("statuscheck: %w", err)
	}
	if err := cfg.validate(); err != nil {
		return Config{}, fmt.Errorf("statuscheck: %s: %w", origin, err)
	}
	return cfg.withDefaults(), nil
}

// Init reads the config, records the start time and, when the store reports
// its connection state, registers the store under its name in push mode.
func (p *Plugin) Init() error {
	if p.Log == nil {
		p.Log = logging.NewRegistry(logging.WithOutput(io.Discard)).ForPlugin(p.String())
	}
	cfg, err := p.resolveConfig()
	if err != nil {
		return err
	}
	p.cfg = cfg
	if a := p.Agent; a != nil && !p.buildSet && a.Version != "" {
		p.mu.Lock()
		p.build = [3]string{a.Version, a.BuildDate, a.Commit}
		p.snapshotLocked()
		p.mu.Unlock()
	}
	if p.publishing() && p.Label == nil {
		return fmt.Errorf("statuscheck: publishing to the key-value store needs the agent prefix: add servicelabel.NewPlugin() to the agent, or set disable-publish")
	}

	p.mu.Lock()
	p.agent.startTime = p.now().Unix()
	p.agent.lastUpdate = p.agent.startTime
	p.snapshotLocked()
	p.mu.Unlock()

	if r, ok := p.KV.(statusReporterSetter); ok && !p.KV.Disabled() {
		name := storeName(p.KV)
		if err := p.RegisterDependency(name, nil); err != nil {
			p.Log.Warnf("not tracking the state of the store %q: %v", name, err)
		} else {
			p.reporter = r
			r.SetStatusReporter(func(ok bool, err error) {
				state := StateError
				if ok {
					state, err = StateOK, nil
				}
				_ = p.ReportStateChange(name, state, err)
			})
		}
	}
	return nil
}

func storeName(kv kvdb.Store) string {
	if s, ok := kv.(fmt.Stringer); ok && kvdb.SegmentProblem(s.String()) == "" {
		return s.String()
	}
	return "kvdb"
}

func (p *Plugin) publishing() bool {
	return p.KV != nil && !p.KV.Disabled() && !p.cfg.DisablePublish
}

// AfterInit marks the agent started, so that it becomes OK once every
// plugin is OK (at once when none is registered), and starts probing and
// publishing in the background.
func (p *Plugin) AfterInit() error {
	p.ctx, p.cancel = context.WithCancel(context.Background())
	p.mu.Lock()
	p.started = true
	p.changedLocked(p.now().Unix())
	p.mu.Unlock()

	p.wg.Add(1)
	go p.probeLoop()
	if p.publishing() {
		b := p.KV.NewBroker(p.Label.GetAgentPrefix())
		p.wg.Add(1)
		go p.publishLoop(b)
		// A reconnect may follow a lost lease or a wiped store: compare the
		// keys with the state again.
		p.KV.OnConnect(func() {
			p.resync.Store(true)
			p.kick()
		})
		p.Log.Debugf("publishing under %s%s", p.Label.GetAgentPrefix(), model.StatusPrefix)
	} else {
		p.Log.Debug("not publishing: no key-value store")
	}
	return nil
}

// Close stops probing and publishing, closes the subscriptions and waits
// for its goroutines. A probe call that ignores its ctx is waited for at
// most the probe timeout, then abandoned with a warning.
func (p *Plugin) Close() error {
	p.mu.Lock()
	if p.closed {
		p.mu.Unlock()
		return nil
	}
	p.closed = true
	for ch := range p.subs {
		close(ch)
		delete(p.subs, ch)
	}
	p.mu.Unlock()
	if p.reporter != nil {
		p.reporter.SetStatusReporter(nil)
	}
	if p.cancel == nil {
		return nil
	}
	p.cancel()
	p.wg.Wait()
	done := make(chan struct{})
	go func() { p.callWG.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(p.cfg.ProbeTimeout):
		p.Log.Warnf("a probe still runs %s after close; abandoning it", p.cfg.ProbeTimeout)
	}
	return nil
}

// Register implements PluginStatusWriter.
func (p *Plugin) Register(pluginName string, probe PluginStateProbe) error {
	return p.register(pluginName, probe, false)
}

// RegisterDependency implements DependencyRegisterer.
func (p *Plugin) RegisterDependency(pluginName string, probe PluginStateProbe) error {
	return p.register(pluginName, probe, true)
}

func (p *Plugin) register(pluginName string, probe PluginStateProbe, dependency bool) error {
	if kvdb.SegmentProblem(pluginName) != "" {
		return fmt.Errorf("statuscheck: register %q: %w", pluginName, ErrInvalidName)
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if dependency {
		if _, ok := p.deps[pluginName]; !ok {
			deps := make(map[string]struct{}, len(p.deps)+1)
			for n := range p.deps {
				deps[n] = struct{}{}
			}
			deps[pluginName] = struct{}{}
			p.deps = deps
			if _, ok := p.plugins[pluginName]; ok {
				p.snapshotLocked()
			}
		}
	}
	if e, ok := p.plugins[pluginName]; ok {
		switch {
		case probe == nil && e.probe == nil:
			return nil
		case probe != nil && e.probe != nil:
			return fmt.Errorf("statuscheck: register %q: %w", pluginName, ErrAlreadyRegistered)
		default:
			return fmt.Errorf("statuscheck: register %q: %w", pluginName, ErrMixedModes)
		}
	}
	p.addLocked(pluginName, probe, StateInit, "")
	return nil
}

func (p *Plugin) addLocked(name string, probe PluginStateProbe, state PluginState, errText string) {
	now := p.now().Unix()
	e := &entry{probe: probe, status: &model.PluginStatus{
		Name: name, State: model.OperationalState(state), LastChange: now, LastUpdate: now, Error: errText,
	}}
	p.plugins[name] = e
	i, _ := slices.BinarySearch(p.names, name)
	p.names = slices.Insert(p.names, i, name)
	p.changedLocked(now)
}

// ReportStateChange implements PluginStatusWriter.
func (p *Plugin) ReportStateChange(pluginName string, state PluginState, lastError error) error {
	if !validState(state) {
		return fmt.Errorf("statuscheck: report %q: %w %d", pluginName, ErrInvalidState, int32(state))
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	e, ok := p.plugins[pluginName]
	switch {
	case !ok:
		if kvdb.SegmentProblem(pluginName) != "" {
			return fmt.Errorf("statuscheck: report %q: %w", pluginName, ErrInvalidName)
		}
		p.addLocked(pluginName, nil, state, errorText(lastError))
		return nil
	case e.probe != nil:
		return fmt.Errorf("statuscheck: report %q: %w", pluginName, ErrMixedModes)
	}
	p.setLocked(pluginName, e, state, errorText(lastError))
	return nil
}

// report records the result of a probe.
func (p *Plugin) report(name string, state PluginState, err error) {
	if !validState(state) {
		state, err = StateError, fmt.Errorf("probe returned %w %d", ErrInvalidState, int32(state))
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if e, ok := p.plugins[name]; ok {
		p.setLocked(name, e, state, errorText(err))
	}
}

func errorText(err error) string {
	if err == nil {
		return ""
	}
	s := err.Error()
	if !utf8.ValidString(s) {
		s = string([]rune(s)) // replaces invalid bytes with U+FFFD
	}
	return s
}

// setLocked records a plugin's state. The unchanged case, the common one
// for periodic probes, returns before anything is allocated.
func (p *Plugin) setLocked(name string, e *entry, state PluginState, errText string) {
	old := e.status
	if PluginState(old.State) == state && old.Error == errText {
		return
	}
	now := p.now().Unix()
	ns := &model.PluginStatus{
		Name:       name,
		State:      model.OperationalState(state),
		LastChange: old.LastChange,
		LastUpdate: now,
		Error:      errText,
	}
	if PluginState(old.State) != state {
		ns.LastChange = now
	}
	e.status = ns
	p.changedLocked(now)
}

// changedLocked recomputes the agent state after a change at now (Unix
// seconds) and publishes a new snapshot.
func (p *Plugin) changedLocked(now int64) {
	state := StateOK
	if !p.started {
		state = StateInit
	}
	for _, e := range p.plugins {
		switch PluginState(e.status.State) {
		case StateError:
			state = StateError
		case StateInit:
			if state != StateError {
				state = StateInit
			}
		}
	}
	if state != p.agent.state {
		p.agent.state = state
		p.agent.lastChange = now
	}
	p.agent.lastUpdate = now
	p.snapshotLocked()
	for ch := range p.subs {
		select {
		case ch <- struct{}{}:
		default:
		}
	}
	p.kick()
}

func (p *Plugin) snapshotLocked() {
	plugins := make([]*model.PluginStatus, len(p.names))
	for i, n := range p.names {
		plugins[i] = p.plugins[n].status
	}
	p.seq++
	p.snap.Store(&Snapshot{
		Agent: &model.AgentStatus{
			BuildVersion: p.build[0],
			BuildDate:    p.build[1],
			CommitHash:   p.build[2],
			State:        model.OperationalState(p.agent.state),
			StartTime:    p.agent.startTime,
			LastChange:   p.agent.lastChange,
			LastUpdate:   p.agent.lastUpdate,
			Plugins:      plugins,
		},
		Started:      p.started,
		Seq:          p.seq,
		dependencies: p.deps,
	})
}

func (p *Plugin) kick() {
	select {
	case p.trigger <- struct{}{}:
	default:
	}
}

// Snapshot implements StatusReader.
func (p *Plugin) Snapshot() *Snapshot { return p.snap.Load() }

// AgentState implements status.Reader: it returns the state of the agent
// in the latest snapshot.
func (p *Plugin) AgentState() PluginState {
	return PluginState(p.snap.Load().Agent.GetState())
}

// PluginState implements status.Reader: it returns the state and error text
// of the plugin named name in the latest snapshot.
func (p *Plugin) PluginState(name string) (state PluginState, errText string, ok bool) {
	ps := p.snap.Load().Plugin(name)
	if ps == nil {
		return StateInit, "", false
	}
	return PluginState(ps.GetState()), ps.GetError(), true
}

// GetAgentStatus implements AgentStatusReader.
func (p *Plugin) GetAgentStatus() *model.AgentStatus {
	return proto.Clone(p.snap.Load().Agent).(*model.AgentStatus)
}

// GetAllPluginStatus implements StatusReader.
func (p *Plugin) GetAllPluginStatus() map[string]*model.PluginStatus {
	ps := p.snap.Load().Agent.GetPlugins()
	m := make(map[string]*model.PluginStatus, len(ps))
	for _, s := range ps {
		m[s.GetName()] = proto.Clone(s).(*model.PluginStatus)
	}
	return m
}

// Subscribe implements StatusReader.
func (p *Plugin) Subscribe() (<-chan struct{}, func()) {
	ch := make(chan struct{}, 1)
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.closed {
		close(ch)
		return ch, func() {}
	}
	p.subs[ch] = struct{}{}
	return ch, func() {
		p.mu.Lock()
		defer p.mu.Unlock()
		if _, ok := p.subs[ch]; ok {
			delete(p.subs, ch)
			close(ch)
		}
	}
}

// PublishStats returns how many status keys were written and how many
// reads and writes of the store failed.
func (p *Plugin) PublishStats() PublishStats {
	return PublishStats{Puts: p.puts.Load(), Failures: p.fails.Load()}
}
