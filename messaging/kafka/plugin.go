package kafka

import (
	"errors"
	"fmt"
	"io"

	"github.com/plinth-go/plinth/health/statuscheck"
	"github.com/plinth-go/plinth/infra"
	"github.com/plinth-go/plinth/logging"
	"github.com/plinth-go/plinth/messaging/kafka/mux"
	"github.com/plinth-go/plinth/servicelabel"
)

// PluginName is the default name of the plugin: its config file is
// kafka.conf, set by the flag -kafka-config or the environment variable
// KAFKA_CONFIG.
const PluginName = "kafka"

// Mux is what plugins that use Kafka inject: connections on the shared
// multiplexer of the agent.
type Mux interface {
	// NewBytesConnection returns a connection for raw messages.
	NewBytesConnection(name string) *mux.BytesConnection
	// NewProtoConnection returns a connection for protobuf messages.
	NewProtoConnection(name string, opts ...mux.ProtoOption) *mux.ProtoConnection
	// Disabled reports whether Kafka is off because no config file exists;
	// publishers and watchers then return errors wrapping mux.ErrDisabled.
	Disabled() bool
}

// Plugin gives the plugins of an agent a shared connection to Kafka brokers.
// It implements [Mux]. Build it with [NewPlugin].
type Plugin struct {
	Deps

	codeConf *mux.Config // set by UseConf; replaces kafka.conf

	// Written once by Init and only read afterwards.
	mux      *mux.Multiplexer
	disabled bool
}

// Deps lists the dependencies of the plugin. The status check and the
// service label are optional: without the status check the state is only
// logged, and without the label the consumer group defaults to
// mux.DefaultGroupID.
type Deps struct {
	infra.PluginDeps
	StatusCheck  statuscheck.PluginStatusWriter `plinth:"optional,unordered"`
	ServiceLabel servicelabel.ReaderAPI         `plinth:"optional"`
}

// Option customizes the plugin in code.
type Option func(*Plugin)

var (
	_ infra.Plugin = (*Plugin)(nil)
	_ Mux          = (*Plugin)(nil)
)

// NewPlugin returns a plugin named "kafka" with the given options applied.
func NewPlugin(opts ...Option) *Plugin {
	p := &Plugin{}
	p.SetName(PluginName)
	for _, opt := range opts {
		opt(p)
	}
	return p
}

// UseConf sets the whole config in code; kafka.conf is then still read (so
// that a broken file is reported) but ignored. The plugin is enabled even
// without a file.
func UseConf(c mux.Config) Option {
	return func(p *Plugin) { p.codeConf = &c }
}

// Init reads the config and starts connecting in the background: it never
// waits for the brokers, so the agent starts while they are down. Without a
// config file the plugin is disabled.
func (p *Plugin) Init() error {
	if p.Log == nil {
		p.Log = logging.NewRegistry(logging.WithOutput(io.Discard)).ForPlugin(p.String())
	}
	var cfg mux.Config
	found, origin := false, "the config set in code (UseConf)"
	if p.Cfg != nil {
		var err error
		if found, err = p.Cfg.LoadValue(&cfg); err != nil {
			return fmt.Errorf("kafka: %w", err)
		}
		if found {
			origin = "config file " + p.Cfg.GetConfigName()
		}
	}
	if p.codeConf != nil {
		if found {
			p.Log.Warnf("%s ignored: the config is set in code (UseConf)", origin)
		}
		cfg, found, origin = *p.codeConf, true, "the config set in code (UseConf)"
	}
	if !found {
		p.disabled = true
		p.mux = mux.Disabled("no kafka.conf (set -kafka-config or KAFKA_CONFIG)")
		p.Log.Infof("no config file: the plugin is disabled; set -kafka-config or KAFKA_CONFIG to enable it")
		return nil
	}
	if cfg.GroupID == "" && p.ServiceLabel != nil {
		cfg.GroupID = p.ServiceLabel.GetAgentLabel()
	}
	if p.StatusCheck != nil {
		// The brokers are an external dependency: while they are
		// unreachable the agent is not ready, but restarting it would not
		// help, so liveness stays up (see statuscheck.DependencyRegisterer).
		register := p.StatusCheck.Register
		if d, ok := p.StatusCheck.(statuscheck.DependencyRegisterer); ok {
			register = d.RegisterDependency
		}
		if err := register(p.String(), nil); err != nil {
			return fmt.Errorf("kafka: register status: %w", err)
		}
	}
	m, err := mux.New(cfg, mux.WithLogger(p.Log), mux.WithStateFunc(p.reportState))
	if err != nil {
		return fmt.Errorf("kafka: %s: %w", origin, err)
	}
	p.mux = m
	p.Log.Infof("connecting to %v as consumer group %q (from %s)", cfg.Brokers(), m.GroupID(), origin)
	m.Start()
	return nil
}

// reportState pushes the state of the brokers to the status check.
func (p *Plugin) reportState(err error) {
	if p.StatusCheck == nil {
		return
	}
	state := statuscheck.StateOK
	if err != nil {
		state = statuscheck.StateError
	}
	if rerr := p.StatusCheck.ReportStateChange(p.String(), state, err); rerr != nil {
		p.Log.Warnf("report status: %v", rerr)
	}
}

// Close stops the subscriptions, the consumers, the producers and the
// client, in that order.
func (p *Plugin) Close() error {
	if p.mux == nil {
		return nil
	}
	if err := p.mux.Close(); err != nil && !errors.Is(err, mux.ErrClosed) {
		return fmt.Errorf("kafka: close: %w", err)
	}
	return nil
}

// NewBytesConnection returns a connection for raw messages on the shared
// multiplexer. It must be called after Init.
func (p *Plugin) NewBytesConnection(name string) *mux.BytesConnection {
	return p.Multiplexer().NewBytesConnection(name)
}

// NewProtoConnection returns a connection for protobuf messages on the
// shared multiplexer. It must be called after Init.
func (p *Plugin) NewProtoConnection(name string, opts ...mux.ProtoOption) *mux.ProtoConnection {
	return p.Multiplexer().NewProtoConnection(name, opts...)
}

// Disabled reports whether the plugin is off because no config file exists.
func (p *Plugin) Disabled() bool { return p.disabled }

// Multiplexer returns the shared multiplexer. It panics before Init, which is
// a wiring error: inject the plugin so that it starts first.
func (p *Plugin) Multiplexer() *mux.Multiplexer {
	if p.mux == nil {
		panic("kafka: plugin used before its Init: inject it as a dependency so that it starts first")
	}
	return p.mux
}

// Err returns nil while the brokers are reachable and otherwise why not. It
// never waits.
func (p *Plugin) Err() error { return p.Multiplexer().Err() }
