// Package status is the contract between plugins that report their state and
// the plugin that aggregates it: the states ([State]), the interface a plugin
// reports through ([Writer]), the probe it may register instead ([Probe]),
// and a read-only view of the result ([Reader]).
//
// The package holds types only and imports nothing but the standard library,
// so any package may import it, from the infrastructure plugins (the HTTP
// server reports whether it serves) up to the dashboard. The implementation,
// which aggregates the states, publishes them to the key-value store and
// serves the probes, is package health/statuscheck; it re-exports these
// names (statuscheck.PluginState is State, statuscheck.PluginStatusWriter is
// Writer, and so on), so code written against either package works with the
// other.
//
// A plugin names what it needs as a dependency field and lets the agent fill
// it with the status check:
//
//	type Deps struct {
//		infra.PluginDeps
//		StatusCheck status.Writer `plinth:"optional"`
//	}
//
// A field of type Writer or DependencyRegisterer does not make the status
// check start first: its methods work before the status check's Init, so a
// plugin the status check depends on may report to it too.
package status
