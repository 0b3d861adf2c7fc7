package infra

import (
	"flag"

	"github.com/plinth-go/plinth/infra/config"
	"github.com/plinth-go/plinth/logging"
)

// Plugin is a part of an agent with a lifecycle. The agent calls Init on
// every plugin (dependencies first), then AfterInit on those implementing
// PostInit, and Close in reverse order when it stops.
//
// Init and AfterInit must not block for long: they schedule background work
// and return. Close stops that work and waits for it.
type Plugin interface {
	// Init prepares the plugin. Its dependencies have completed Init.
	Init() error
	// Close releases everything the plugin holds. It is called once, also
	// after a failed start for plugins whose Init succeeded.
	Close() error
	// String returns the plugin name, unique within an agent.
	String() string
}

// PostInit is implemented by plugins that need a second start phase, run
// after every plugin has completed Init (e.g. to start serving).
type PostInit interface {
	AfterInit() error
}

// FlagRegistrar is implemented by plugins that define command-line flags.
// The agent calls RegisterFlags on its own FlagSet before parsing the
// arguments; two plugins defining the same flag is an error naming both.
type FlagRegistrar interface {
	RegisterFlags(fs *flag.FlagSet)
}

// PluginName is embedded in plugins to implement String.
type PluginName string

// String returns the name.
func (n PluginName) String() string { return string(n) }

// SetName sets the name.
func (n *PluginName) SetName(name string) { *n = PluginName(name) }

// Host is what the agent hands to every plugin before injection: the shared
// logger registry and the configuration source of the agent.
type Host struct {
	Logs   *logging.Registry
	Config *config.Source
}

// DepsSetter is implemented by plugins that embed PluginDeps. The agent calls
// SetupDeps before injection so that the logger and the config of a plugin
// are ready when its Init runs.
type DepsSetter interface {
	SetupDeps(h Host)
}

// PluginDeps is embedded by plugins (usually through their Deps struct) to get
// a name, a logger named after the plugin and the plugin's config file.
// Fields left nil are filled by the agent; fields set in code are kept.
type PluginDeps struct {
	PluginName
	Log *logging.Log
	Cfg config.PluginConfig
}

// SetupDeps fills Log and Cfg when they are nil.
func (d *PluginDeps) SetupDeps(h Host) {
	if d.Log == nil && h.Logs != nil {
		d.Log = h.Logs.ForPlugin(d.String())
	}
	if d.Cfg == nil && h.Config != nil {
		d.Cfg = h.Config.ForPlugin(d.String())
	}
}

// Close does nothing; it lets plugins without resources skip writing Close.
func (d *PluginDeps) Close() error { return nil }

// AgentInfo describes the agent a plugin runs in. The agent fills every nil
// plugin field of type *AgentInfo with its own; plugins must not modify it.
type AgentInfo struct {
	// Name is the program name.
	Name string
	// Version, BuildDate and Commit describe the build (agent.Version);
	// empty when not given.
	Version   string
	BuildDate string
	Commit    string
	// Plugins are the plugin names in start order.
	Plugins []string
}
