// Package statuscheck aggregates the status of an agent's plugins, publishes
// it to the key-value store and serves it to the probes.
//
// # Reporting
//
// A plugin reports its state in one of two ways, never both (ErrMixedModes):
//
//   - push: it calls ReportStateChange on every change, optionally after
//     Register(name, nil), which marks it INIT until its first report;
//   - pull: it calls Register(name, probe) and the status check calls probe
//     every probe interval, at once after start, with a per-call timeout.
//
// Plugins inject PluginStatusWriter (or DependencyRegisterer) in a field
// without a tag. Register and ReportStateChange are safe to call at any time,
// before the status check's Init and after its Close, and the plugin says so
// to the agent (it implements agent.UnorderedProvider): such a field does not
// make the status check start first. That is what lets the key-value store,
// which the status check publishes through and so starts before it, report
// to it too. A plugin that also runs in agents without a status check tags
// the field `plinth:"optional"` and checks it for nil.
//
// When the injected store reports its own connection state (it has a
// SetStatusReporter(func(ok bool, err error)) method, as the etcd plugin
// does), the status check registers it under its plugin name and keeps its
// state current: OK while connected, ERROR with the cause otherwise.
//
// # Aggregation
//
// The agent state is ERROR if any plugin is ERROR, else INIT if any plugin is
// INIT or the agent has not started yet (the status check's AfterInit marks
// the start), else OK. An agent without plugins is OK once started.
//
// # Timestamps
//
// A plugin's last_change is when its state last changed and last_update when
// its state or error text last changed; for the agent, last_change is when
// the agent state last changed and last_update when anything in the agent
// status changed (a plugin status, a new plugin, the start). A report or a
// probe result that changes nothing changes no timestamp. Times are Unix
// seconds.
//
// # Publishing
//
// The status is written as JSON (see package model) to
// "<agent prefix>check/status/v1/agent" and
// "<agent prefix>check/status/v1/plugin/<name>", the agent prefix coming from
// the service label ("/vnf-agent/vpp1/" by default). A key is written if and
// only if its value differs from what the store holds: there are no periodic
// rewrites, and an idle agent writes nothing. Writing is asynchronous and
// coalesced: one goroutine writes the latest state, so a burst of changes may
// produce fewer writes than changes, but the store always ends with the
// latest state. Reporters, readers and the probes never wait for the store.
// While the store fails, the writer retries with a backoff from 100ms to 5s,
// and at once when the store reconnects; after a failure or a reconnect it
// reads the keys first, so nothing is written twice and keys lost with a
// lease or a wiped store are written again.
//
// # Configuration
//
// statuscheck.conf (flag -statuscheck-config, env STATUSCHECK_CONFIG), every
// key optional:
//
//	probe-interval: 5s      # time between calls of each pull probe
//	probe-timeout: 2s       # a probe slower than this makes its plugin ERROR
//	publish-timeout: 5s     # bound of one read or write of the store
//	expire-with-agent: true # keys go one session TTL after the agent dies
//	disable-publish: false  # keep the status in memory only
//
// # Concurrency
//
// The methods of Plugin are safe for concurrent use, before and after Init.
// Pull probes run concurrently with each other, each never concurrently with
// itself; a probe that hangs past its timeout makes its plugin ERROR
// ("probe timed out") and is not called again until it returns.
package statuscheck
