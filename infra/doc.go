// Package infra defines the contract between an agent and its plugins.
//
// A plugin implements [Plugin] (Init, Close, String) and optionally
// [PostInit] (AfterInit) and [FlagRegistrar] (RegisterFlags). Most plugins
// embed [PluginDeps], usually inside a Deps struct that also lists their
// dependencies as exported interface or plugin-pointer fields:
//
//	type Plugin struct {
//		Deps
//	}
//
//	type Deps struct {
//		infra.PluginDeps               // name, Log, Cfg
//		HTTP rest.HTTPHandlers         // filled by the agent
//	}
//
// The agent (package agent) fills PluginDeps' logger and config before
// injection, fills nil dependency fields with the plugin that provides them,
// then calls Init on every plugin, dependencies first, AfterInit on every
// plugin, and Close in reverse order when it stops.
//
// # Rules for plugin authors
//
//   - Init and AfterInit schedule work and return; they must not block on
//     remote systems. A plugin that needs a server (etcd, Kafka) starts
//     degraded and connects in the background.
//   - Close stops every goroutine the plugin started and waits for it.
//   - Configuration is read in Init through Cfg (see package infra/config);
//     flags are defined in RegisterFlags, never on the global FlagSet.
package infra
