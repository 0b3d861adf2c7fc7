package servicelabel

import (
	"flag"
	"fmt"

	"github.com/plinth-go/plinth/infra"
)

// Names of the settings that carry the label.
const (
	// LabelFlag is the command-line flag that sets the label.
	LabelFlag = "microservice-label"
	// LabelEnv is the environment variable that sets the label.
	LabelEnv = "MICROSERVICE_LABEL"
	// LabelKey is the key of the label in the config file.
	LabelKey = "microservice-label"
)

// PluginName is the default name of the plugin; its config file is
// service-label.conf.
const PluginName = "service-label"

// Plugin provides the microservice label of the agent. It implements
// [ReaderAPI]. Build it with [NewPlugin].
type Plugin struct {
	Deps

	codeLabel *string   // set by UseLabel; wins over every other source
	flagLabel flagValue // -microservice-label, when registered

	// label is written once by Init and only read afterwards.
	label string
}

// Deps lists the dependencies of the plugin. It needs only a name, a logger
// and its config file, which the agent fills.
type Deps struct {
	infra.PluginDeps
}

// Option customizes the plugin in code.
type Option func(*Plugin)

var (
	_ infra.Plugin        = (*Plugin)(nil)
	_ infra.FlagRegistrar = (*Plugin)(nil)
	_ ReaderAPI           = (*Plugin)(nil)
)

// NewPlugin returns a plugin named "service-label" with the given options
// applied.
func NewPlugin(opts ...Option) *Plugin {
	p := &Plugin{}
	p.SetName(PluginName)
	for _, opt := range opts {
		opt(p)
	}
	return p
}

// UseLabel sets the label in code. It wins over the flag, the environment and
// the config file; it is validated by Init like any other source.
func UseLabel(label string) Option {
	return func(p *Plugin) { p.codeLabel = &label }
}

// fileConfig is the content of service-label.conf. The label is a pointer so
// that an explicit empty value is reported instead of being taken for "unset".
type fileConfig struct {
	MicroserviceLabel *string `yaml:"microservice-label"`
}

// RegisterFlags defines -microservice-label on fs.
func (p *Plugin) RegisterFlags(fs *flag.FlagSet) {
	fs.Var(&p.flagLabel, LabelFlag, fmt.Sprintf(
		"microservice `label` of the agent: its keys live under %s<label>/ (env %s; default %q)",
		AllAgentsPrefix, LabelEnv, DefaultLabel))
}

// Init resolves the label from its sources and validates it.
func (p *Plugin) Init() error {
	label, source, err := p.resolve()
	if err != nil {
		return err
	}
	if problem := labelProblem(label); problem != "" {
		return fmt.Errorf("servicelabel: %w %q from %s: %s", ErrInvalidLabel, label, source, problem)
	}
	p.label = label
	if p.Log != nil {
		p.Log.Infof("microservice label %q (from %s), key prefix %s", label, source, AgentPrefix(label))
	}
	return nil
}

// resolve returns the label with the highest precedence and names its source.
// The config file is read even when a higher source wins, so that a broken
// file is reported rather than silently ignored.
func (p *Plugin) resolve() (label, source string, err error) {
	label, source = DefaultLabel, "the default"
	if p.Cfg != nil {
		var fc fileConfig
		found, err := p.Cfg.LoadValue(&fc)
		if err != nil {
			return "", "", fmt.Errorf("servicelabel: %w", err)
		}
		if found && fc.MicroserviceLabel != nil {
			label = *fc.MicroserviceLabel
			source = fmt.Sprintf("key %s of config file %s", LabelKey, p.Cfg.GetConfigName())
		}
		if v, ok := p.Cfg.Lookup(LabelFlag, LabelEnv); ok && !p.flagLabel.set {
			label, source = v, "env "+LabelEnv
		}
	}
	if p.flagLabel.set {
		label, source = p.flagLabel.value, "flag -"+LabelFlag
	}
	if p.codeLabel != nil {
		label, source = *p.codeLabel, "option UseLabel"
	}
	return label, source, nil
}

// Close does nothing: the plugin holds no resources.
func (p *Plugin) Close() error { return nil }

// GetAgentLabel returns the microservice label of this agent.
func (p *Plugin) GetAgentLabel() string { return p.label }

// GetAgentPrefix returns the key prefix of this agent, "/vnf-agent/<label>/".
func (p *Plugin) GetAgentPrefix() string { return AgentPrefix(p.label) }

// GetDifferentAgentPrefix returns the key prefix of the agent with the given
// label.
func (p *Plugin) GetDifferentAgentPrefix(label string) string { return AgentPrefix(label) }

// GetAllAgentsPrefix returns [AllAgentsPrefix].
func (p *Plugin) GetAllAgentsPrefix() string { return AllAgentsPrefix }

// flagValue is a string flag that remembers whether it was set on the command
// line, so that Init can tell a flag from the environment.
type flagValue struct {
	value string
	set   bool
}

func (f *flagValue) String() string {
	if f == nil {
		return ""
	}
	return f.value
}

func (f *flagValue) Set(s string) error {
	f.value, f.set = s, true
	return nil
}
