// Package probe serves the health of an agent over HTTP: GET /liveness,
// GET /readiness and GET /metrics (Prometheus).
//
// # Endpoints
//
// /liveness answers 200 while the agent is INIT or OK and 503 when it is
// ERROR; /readiness answers 200 only when the agent is OK, 503 otherwise.
// Both return the agent status as JSON (application/json): the same document
// as the agent status key of package statuscheck/model, with every plugin's
// state and error, plus "non_fatal_plugins" when some are configured:
//
//	{"state":1,"last_change":1700000000,"last_update":1700000000,"start_time":1700000000,
//	 "plugins":[{"name":"etcd","state":1,"last_change":1700000000,"last_update":1700000000}]}
//
// With ?verbose they return a human-readable list instead (text/plain), one
// line per plugin, "[+]" when it passes the check and "[-]" when it does not,
// then "<check> check passed" or "<check> check failed".
//
// Plugins listed as non-fatal (probe.conf key non-fatal-plugins) do not fail
// either check when they are ERROR; they still hold readiness while INIT.
//
// The handlers never wait: they render the status check's current snapshot,
// and cache the rendering until the snapshot changes. What etcd or a slow
// pull probe does cannot slow them down.
//
// /metrics serves a registry owned by the plugin (never the global one):
// plinth_agent_state, plinth_agent_ready, plinth_plugin_state{plugin},
// plinth_agent_build_info{version,build_date,commit},
// plinth_statuscheck_publishes_total and
// plinth_statuscheck_publish_failures_total, plus the Go runtime and process
// collectors. Other plugins add their metrics through Plugin.Registerer.
//
// # Configuration
//
// probe.conf (flag -probe-config, env PROBE_CONFIG):
//
//	non-fatal-plugins: [kafka]  # their ERROR fails neither check
//	disable-metrics: false      # do not serve /metrics
//
// When the HTTP server requires authentication, /liveness and /readiness
// stay open and /metrics requires it.
//
// # Concurrency
//
// The handlers and the methods of Plugin are safe for concurrent use.
package probe
