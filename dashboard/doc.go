// Package dashboard serves an operator's page at /ui/ that shows what an agent
// is doing: its connections to etcd and Kafka, its route cache, charts of its
// metrics, its plugins' states, its supervised programs and processes, its
// loggers, and the status keys it publishes, on the agent's own HTTP server;
// and, when turned on, a fleet page at /ui/fleet of every agent on the etcd
// cluster.
//
// # Usage
//
// Add the plugin to an agent that has an HTTP server (package infra/rest):
//
//	a, err := agent.New(agent.AllPlugins(
//		rest.NewPlugin(), statuscheck.NewPlugin(), logmanager.NewPlugin(),
//		dashboard.NewPlugin(),
//	))
//
// and open http://localhost:9191/ui/. The page is plain HTML, CSS and
// JavaScript embedded in the binary: it loads nothing from elsewhere and works
// on an air-gapped machine. It is behind the basic authentication and TLS of
// the HTTP server, like every other path but the probes.
//
// Every other dependency is optional, and a missing one hides its panel:
// the status check (agent panel and GET /events), the log manager (loggers),
// the supervisor (programs), the process manager (processes), the key-value
// store with the service label (status keys), the etcd plugin as the store
// (etcd), the Kafka plugin (Kafka) and the probe plugin (charts drawn from
// GET /metrics). The route cache and Kafka traffic panels read GET /routes and
// GET /traffic when the agent has plugins named "routes" and "traffic", as
// the demo agent does. The page learns which panels exist from
// GET /ui/api/panels.
//
// # Configuration
//
// The plugin reads dashboard.conf (flag -dashboard-config, environment
// variable DASHBOARD_CONFIG), or a Config given with UseConf:
//
//	fleet: true           # serve the fleet page; off by default
//	fleet-keep-gone: 1h   # how long an agent whose key is gone stays listed
//
// The fleet page lists every agent whose status key is under /vnf-agent/,
// live from one watch of that prefix in the agent's store. While it is off,
// /ui/fleet answers 404 saying how to turn it on.
//
// # REST
//
// The page uses the REST endpoints that agentctl uses, and these of its own:
//
//	GET  /ui/                              the page (and its assets below /ui/)
//	GET  /ui/api/panels                    200 Panels: the agent and which panels exist
//	GET  /events                           text/event-stream of status changes
//	GET  /ui/api/status-keys               200 StatusKeys, as last seen in the store
//	GET  /ui/api/etcd                      200 Connection to etcd
//	GET  /ui/api/kafka                     200 Connection to Kafka
//	GET  /ui/fleet                         the fleet page (Config.Fleet)
//	GET  /ui/api/fleet                     200 Fleet, with an ETag
//	POST /ui/api/programs/{name}/{action}  start, stop or restart a supervised program
//
// The programs panel sends its start, stop and restart to the supervisor's
// POST /supervisor/programs/{name}/{action} when the supervisor plugin serves
// its REST API (Panels.ProgramActions), and to /ui/api/programs otherwise.
// It reads a program's log from the supervisor's ProgramLogPath, following
// it with an EventSource, and reloads the supervisor's conf with a POST to
// SupervisorReloadPath (Panels.ProgramLog, Panels.SupervisorReload).
//
// GET /events sends the agent status (the JSON of the status key, see package
// health/statuscheck/model) as an event "status" at once and after every
// change, with the Seq of its snapshot as the event id, and a comment every
// heartbeat interval (15s by default, WithHeartbeat) so that proxies keep the
// connection open. Changes coalesce: a client that is slow to read gets the
// latest status, not every intermediate one. The stream ends when the client
// goes away, when the status check closes or when the plugin closes.
//
// Errors answer 4xx or 5xx with a body {"error":"…"}: 404 for an unknown
// program, 400 for an unknown action, 409 for an action its state forbids.
//
// # Lifecycle
//
// Init reads the config and registers the handlers. AfterInit starts
// watching the status keys in the store and, with the fleet page, the keys of
// every agent, in the background. Close ends the event streams and the
// watches, and waits for them.
//
// # Concurrency
//
// The plugin is safe for concurrent use once Init has returned.
package dashboard
