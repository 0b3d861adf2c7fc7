package logmanager

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/plinth-go/plinth/infra"
	"github.com/plinth-go/plinth/infra/config"
	"github.com/plinth-go/plinth/infra/rest"
	"github.com/plinth-go/plinth/logging"
	"github.com/plinth-go/plinth/servicelabel"
)

// PluginName is the default name of the plugin; its config file is
// logs.conf, named by -logs-config or LOGS_CONFIG.
const PluginName = "logs"

// InitialLevelEnv names the environment variable whose level overrides
// every level of logs.conf.
const InitialLevelEnv = "INITIAL_LOGLVL"

// DefaultFlushTimeout is how long Close lets hooks send queued records.
// Close returns one attempt later at most: the attempt in progress when
// the flush timeout passes is let finish, and the built-in hooks bound it
// by 2s (per step for fluentd). 5s + 2s stays below the agent's default
// stop timeout of 10s.
const DefaultFlushTimeout = 5 * time.Second

// defaultTag names the agent in external systems when no service label
// plugin is wired and the hook config has no tag.
const defaultTag = "plinth"

// Plugin manages the levels of an agent's loggers, forwards records to
// external log systems and serves the log REST API. Build it with
// [NewPlugin].
type Plugin struct {
	Deps

	codeConf     *Config // set by UseConf; wins over logs.conf and INITIAL_LOGLVL
	custom       map[string]HookFactory
	asyncOpts    []logging.AsyncOption
	flushTimeout time.Duration

	mu sync.Mutex // guards active and closed
	// active are the hooks started by Init; after Close, the closed hooks,
	// so that HookStats reports their final counts.
	active []*activeHook
	closed bool
}

// Deps lists the dependencies of the plugin. The agent fills them.
type Deps struct {
	infra.PluginDeps
	// Registry holds the loggers whose levels the plugin manages.
	Registry *logging.Registry
	// ServiceLabel gives the default tag of hooks. Without it, hooks
	// without a tag use "plinth".
	ServiceLabel servicelabel.ReaderAPI `plinth:"optional"`
	// HTTP serves /log/list and /log/{logger}/{level}. Without it, the
	// plugin serves no REST API.
	HTTP rest.HTTPHandlers `plinth:"optional"`
}

// HookFactory builds a hook from its entry in logs.conf. cfg.Tag is already
// defaulted to the microservice label, and cfg.Levels to
// DefaultHookLevels. The plugin runs the hook behind a [logging.AsyncHook]
// with cfg.Levels, so it may block on I/O; it should bound that I/O with
// timeouts, and implement io.Closer if it holds resources.
type HookFactory func(cfg HookConfig) (logging.Hook, error)

// Option customizes the plugin in code.
type Option func(*Plugin)

type activeHook struct {
	name   string
	async  *logging.AsyncHook
	remove func()
}

var (
	_ infra.Plugin = (*Plugin)(nil)
)

// NewPlugin returns a plugin named "logs" with the given options applied.
func NewPlugin(opts ...Option) *Plugin {
	p := &Plugin{flushTimeout: DefaultFlushTimeout}
	p.SetName(PluginName)
	for _, opt := range opts {
		opt(p)
	}
	return p
}

// UseConf sets the whole config in code. It wins over logs.conf and over
// INITIAL_LOGLVL, as options set in code do.
func UseConf(c Config) Option {
	return func(p *Plugin) { p.codeConf = &c }
}

// WithHook registers a custom hook under name, so that logs.conf can turn
// it on with an entry hooks.<name>. It panics if name is empty, built in
// (syslog, logstash, fluentd, fluent) or already registered.
func WithHook(name string, factory HookFactory) Option {
	return func(p *Plugin) { p.RegisterHook(name, factory) }
}

// WithAsyncOptions sets options of the [logging.AsyncHook] every hook runs
// behind (backoff, attempts); the queue size and levels come from the
// config.
func WithAsyncOptions(opts ...logging.AsyncOption) Option {
	return func(p *Plugin) { p.asyncOpts = append(p.asyncOpts, opts...) }
}

// WithFlushTimeout sets how long Close lets hooks send queued records. If
// zero or negative, DefaultFlushTimeout (5s) is used.
func WithFlushTimeout(d time.Duration) Option {
	return func(p *Plugin) {
		if d <= 0 {
			d = DefaultFlushTimeout
		}
		p.flushTimeout = d
	}
}

// RegisterHook is WithHook for a plugin already built; call it before Init.
func (p *Plugin) RegisterHook(name string, factory HookFactory) {
	switch {
	case name == "":
		panic("logmanager: RegisterHook with an empty name")
	case factory == nil:
		panic(fmt.Sprintf("logmanager: RegisterHook(%q) with a nil factory", name))
	case isBuiltin(name):
		panic(fmt.Sprintf("logmanager: RegisterHook(%q): the name of a built-in hook", name))
	}
	if _, dup := p.custom[name]; dup {
		panic(fmt.Sprintf("logmanager: RegisterHook(%q): registered twice", name))
	}
	if p.custom == nil {
		p.custom = make(map[string]HookFactory)
	}
	p.custom[name] = factory
}

// Init reads logs.conf, applies its levels unless INITIAL_LOGLVL is set,
// starts the hooks and registers the REST handlers. Hooks start here, not
// in AfterInit, so that records of the other plugins' start reach them;
// they connect on their first record, so Init never waits on the network.
func (p *Plugin) Init() error {
	if p.Registry == nil {
		return errors.New("logs: Deps.Registry is nil: run the plugin in an agent or set it in code")
	}
	c, file, err := p.loadConfig()
	if err != nil {
		return err
	}
	if err := p.checkConfig(c, file); err != nil {
		return fmt.Errorf("logs: %w", err)
	}
	envLevel, envSet, err := p.initialLevel()
	if err != nil {
		return err
	}

	if envSet && p.codeConf == nil {
		// The agent has already put every logger at this level; levels from
		// the file must not undo it.
		if file != "" {
			p.Log.Infof("%s=%s overrides the levels of %s", InitialLevelEnv, envLevel, file)
		}
	} else {
		if c.DefaultLevel != nil {
			p.Registry.SetDefaultLevel(*c.DefaultLevel)
		}
		for _, lg := range c.Loggers {
			p.Registry.Preset(lg.Name, lg.Level)
		}
	}

	if err := p.startHooks(c); err != nil {
		p.stopHooks()
		return err
	}
	if p.HTTP != nil {
		p.registerHandlers(p.HTTP)
	}
	return nil
}

// Close removes the hooks from the registry and lets them send what they
// have queued, all at once, for up to the flush timeout. When it passes,
// each hook finishes the attempt in progress and drops the rest: Close
// returns within the flush timeout plus one attempt, which the built-in
// hooks bound by 2s (fluentd by 2s per step: dial, write, acknowledgement)
// and custom hooks by their own timeouts.
// Records left unsent are counted and logged at warning; they do not make
// Close fail.
func (p *Plugin) Close() error {
	return p.stopHooks()
}

// HookStats returns the counters of every hook by name (see
// [logging.AsyncStats]): each record the hook received is counted once, as
// sent, dropped (queue full, or given up at Close) or failed (every
// attempt failed), or as queued until it is one of these. After Close it
// returns the final counts, with nothing queued.
//
// Sent means the hook's attempt succeeded: for fluentd with
// require-ack-response, that Fluentd acknowledged the record; otherwise
// that the record was written to the socket, which a collector that dies
// or restarts may not have read (see docs/logging.md).
func (p *Plugin) HookStats() map[string]logging.AsyncStats {
	p.mu.Lock()
	defer p.mu.Unlock()
	stats := make(map[string]logging.AsyncStats, len(p.active))
	for _, h := range p.active {
		stats[h.name] = h.async.Stats()
	}
	return stats
}

func (p *Plugin) loadConfig() (Config, string, error) {
	if p.codeConf != nil {
		return *p.codeConf, "", nil
	}
	if p.Cfg == nil {
		return Config{}, "", nil
	}
	c, found, err := loadFile(p.Cfg)
	if err != nil {
		return Config{}, "", fmt.Errorf("logs: %w", err)
	}
	if !found {
		return Config{}, "", nil
	}
	return c, p.Cfg.GetConfigName(), nil
}

// initialLevel returns the level of INITIAL_LOGLVL, read through the
// plugin's config so that agents with their own environment see theirs.
func (p *Plugin) initialLevel() (logging.Level, bool, error) {
	if p.Cfg == nil {
		return 0, false, nil
	}
	v, ok := p.Cfg.Lookup("", InitialLevelEnv)
	if !ok || strings.TrimSpace(v) == "" {
		return 0, false, nil
	}
	l, err := logging.ParseLevel(v)
	if err != nil {
		return 0, false, fmt.Errorf("logs: env %s: %w", InitialLevelEnv, err)
	}
	return l, true, nil
}

func (p *Plugin) tag(hc HookConfig) string {
	switch {
	case hc.Tag != "":
		return hc.Tag
	case p.ServiceLabel != nil:
		return p.ServiceLabel.GetAgentLabel()
	}
	return defaultTag
}

func (p *Plugin) startHooks(c Config) error {
	for _, name := range slices.Sorted(maps.Keys(c.Hooks)) {
		hc := c.Hooks[name]
		hc.Tag = p.tag(hc)
		if len(hc.Levels) == 0 {
			hc.Levels = DefaultHookLevels()
		}
		hook, err := p.newHook(name, hc)
		if err != nil {
			return fmt.Errorf("logs: hook %q: %w", name, err)
		}
		opts := append([]logging.AsyncOption{
			logging.WithQueueSize(hc.QueueSize),
			logging.WithLevels(hc.Levels...),
			logging.WithErrorHandler(func(err error) {
				// Warning is below the default hook levels, so this report
				// is not queued for the hook that is failing.
				p.Log.WithField("hook", name).Warnf("cannot forward records, retrying with backoff: %v", err)
			}),
		}, p.asyncOpts...)
		async := logging.NewAsyncHook(hook, opts...)
		remove := p.Registry.AddHook(async)
		p.mu.Lock()
		p.active = append(p.active, &activeHook{name: name, async: async, remove: remove})
		p.mu.Unlock()
		p.Log.Debugf("hook %s forwards %v", name, hc.Levels)
	}
	return nil
}

func (p *Plugin) stopHooks() error {
	p.mu.Lock()
	active := p.active
	if p.closed {
		active = nil
	}
	p.closed = true
	p.mu.Unlock()
	for _, h := range active {
		h.remove()
	}
	ctx, cancel := context.WithTimeout(context.Background(), p.flushTimeout)
	defer cancel()
	// The hooks flush in parallel, so that hung collectors cost Close one
	// attempt in all, not one per hook.
	var wg sync.WaitGroup
	for _, h := range active {
		wg.Go(func() {
			// An endpoint that is down or slow is the normal case hooks are
			// built for, not a failure of the agent: report it and go on.
			err := h.async.Close(ctx)
			log := p.Log.WithField("hook", h.name)
			if err != nil {
				log.Warnf("close: %v", err)
			}
			if st := h.async.Stats(); st.Dropped > 0 || st.Failed > 0 {
				log.Warnf("records not forwarded: %d dropped, %d failed (%d sent)", st.Dropped, st.Failed, st.Sent)
			}
		})
	}
	wg.Wait()
	return nil
}

// joinSorted joins config errors in the order of their lines, so that a
// file's problems read top to bottom whatever the map order.
func joinSorted(errs []error) error {
	slices.SortStableFunc(errs, func(a, b error) int {
		var ea, eb *config.Error
		if errors.As(a, &ea) && errors.As(b, &eb) {
			return cmp.Or(cmp.Compare(ea.Line, eb.Line), strings.Compare(ea.Key, eb.Key))
		}
		return 0
	})
	return errors.Join(errs...)
}
