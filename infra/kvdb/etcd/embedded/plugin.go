package embedded

import (
	"context"
	"fmt"
	"sync"

	"github.com/plinth-go/plinth/infra"
	"github.com/plinth-go/plinth/infra/config"
)

// PluginName is the default name of the plugin; its config file is
// etcd-server.conf (flag -etcd-server-config, env ETCD_SERVER_CONFIG).
const PluginName = "etcd-server"

// Plugin runs an embedded etcd server for the lifetime of an agent. Build it
// with [NewPlugin].
type Plugin struct {
	Deps

	codeConf *Config // set by UseConf; wins over the config file
	// enabledIf, set by EnabledIf, is asked at Init whether to run.
	enabledIf func() (bool, string)

	// Written once by Init and only read afterwards.
	cfg Config

	mu     sync.Mutex // guards server
	server *Server
}

// Deps lists the dependencies of the plugin. It needs only a name, a logger
// and its config file, which the agent fills.
type Deps struct {
	infra.PluginDeps
}

// Option customizes the plugin in code.
type Option func(*Plugin)

var _ infra.Plugin = (*Plugin)(nil)

// NewPlugin returns a plugin named "etcd-server" with the given options
// applied.
func NewPlugin(opts ...Option) *Plugin {
	p := &Plugin{}
	p.SetName(PluginName)
	for _, opt := range opts {
		opt(p)
	}
	return p
}

// UseConf sets the whole config in code. It wins over etcd-server.conf,
// which is then ignored with a warning.
func UseConf(c Config) Option {
	return func(p *Plugin) { p.codeConf = &c }
}

// EnabledIf makes Init ask fn whether to run the server; fn also says why,
// for the log. The demo agent uses it to run a server only when no etcd
// endpoint is configured.
func EnabledIf(fn func() (enabled bool, reason string)) Option {
	return func(p *Plugin) { p.enabledIf = fn }
}

// Init reads the config and, unless it is disabled, starts the server and
// waits until it is ready (at most start-timeout).
func (p *Plugin) Init() error {
	cfg, origin, err := p.resolveConfig()
	if err != nil {
		return err
	}
	if p.enabledIf != nil && !cfg.Disabled {
		if ok, reason := p.enabledIf(); !ok {
			cfg.Disabled, origin = true, reason
		}
	}
	p.cfg = cfg
	if cfg.Disabled {
		p.logf("disabled by %s", origin)
		return nil
	}
	var opts []ServerOption
	if p.Log != nil {
		opts = append(opts, WithLogger(p.Log))
	}
	s, err := Start(context.Background(), cfg, opts...)
	if err != nil {
		return err
	}
	p.mu.Lock()
	p.server = s
	p.mu.Unlock()
	p.logf("etcd member %q serves clients at %v (data in %s, config from %s)",
		cfg.Name, s.Endpoints(), cfg.DataDir, origin)
	return nil
}

// resolveConfig applies the defaults, the config file and UseConf, in that
// order. The file is read even when UseConf wins, so that a broken file is
// reported rather than silently ignored.
func (p *Plugin) resolveConfig() (Config, string, error) {
	var cfg Config
	origin, err := config.Resolve(p.Cfg, nil, &cfg)
	if err != nil {
		return Config{}, "", fmt.Errorf("embedded etcd: %w", err)
	}
	if p.codeConf != nil {
		if origin != config.OriginDefault && p.Log != nil {
			p.Log.Warnf("%s ignored: the config is set in code (UseConf)", origin)
		}
		cfg, origin = *p.codeConf, config.OriginCode
	}
	cfg = cfg.withDefaults()
	if err := cfg.validate(); err != nil {
		return Config{}, "", fmt.Errorf("embedded etcd: %s: %w", origin, err)
	}
	return cfg, origin, nil
}

func (p *Plugin) logf(format string, args ...any) {
	if p.Log != nil {
		p.Log.Infof(format, args...)
	}
}

// Close stops the server, if it runs. Clients of the server, such as the
// etcd plugin, should close first (they do when they depend on this plugin,
// since the agent closes in reverse start order).
func (p *Plugin) Close() error {
	p.mu.Lock()
	s := p.server
	p.server = nil
	p.mu.Unlock()
	if s == nil {
		return nil
	}
	return s.Close()
}

// Disabled reports whether the config turned the server off. It is valid
// after Init.
func (p *Plugin) Disabled() bool { return p.cfg.Disabled }

// Endpoints returns the client endpoints of the running server as
// host:port, or nil when it is disabled, not started yet or closed.
func (p *Plugin) Endpoints() []string {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.server == nil {
		return nil
	}
	return p.server.Endpoints()
}
