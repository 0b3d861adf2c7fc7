// Package logmanager lets operators set the levels of an agent's loggers from
// logs.conf, the environment and REST, and forwards records to syslog,
// Logstash, Fluentd or hooks registered in code.
//
// # Usage
//
// Add the plugin to an agent; it injects the agent's logging registry and,
// when the agent has them, the HTTP server and the service label:
//
//	a, err := agent.New(agent.AllPlugins(
//		rest.NewPlugin(), servicelabel.NewPlugin(), logmanager.NewPlugin(),
//	))
//
// # Configuration
//
// The plugin reads logs.conf (flag -logs-config, env LOGS_CONFIG); see
// [Config] and the sample logs.conf next to this file:
//
//	default-level: info
//	loggers:
//	  - name: etcd
//	    level: debug
//	hooks:
//	  logstash:
//	    address: 127.0.0.1:5000
//	    levels: [panic, fatal, error, warning]
//
// Levels of loggers apply to loggers created later too, and a level set for
// "etcd" covers "etcd.watch" unless that one has its own. When the
// environment variable INITIAL_LOGLVL is set, every logger runs at its level
// and the levels of the file are ignored (the agent applies it; the plugin
// makes sure the file does not undo it). A config set in code with [UseConf]
// wins over both.
//
// # Hooks
//
// Each entry of hooks: names a hook: syslog (the local daemon, or a remote
// one over udp or tcp), logstash (JSON lines over tcp or udp), fluentd or
// fluent (the Fluentd forward protocol over tcp, optionally with
// acknowledgements), or a hook registered with [WithHook]. A hook receives
// the records of the levels it lists (default panic, fatal and error) from
// every logger, through a [logging.AsyncHook]: logging never waits for the
// network. While an endpoint is down, records are retried with backoff,
// then dropped and counted ([Plugin.HookStats]); the outage is logged once,
// at warning. Each attempt of a built-in hook has a 2s deadline (per step
// for fluentd), and a failed one closes the connection, so that the next
// attempt dials again: records resume at the first attempt after the
// collector is back, within the outage plus 100ms.
//
// Delivery is at most once, except for fluentd with require-ack-response:
// a record counted as sent was written to the socket, which a collector
// that dies may not have read (docs/logging.md lists what can be lost).
//
// # REST
//
//	GET  /log/list                 200 [{"logger":"etcd","level":"debug"}, …] sorted by name
//	POST /log/{logger}/{level}     200 {"logger":"etcd","level":"debug"}
//	PUT  /log/{logger}/{level}     the same, as cn-infra served it
//
// An unknown logger answers 404 and a bad level 400, each with a body
// {"error":"…"}. Every body is JSON.
//
// # Lifecycle
//
// Init reads the config, applies levels, starts the hooks (they connect on
// their first record) and registers the REST handlers. Close detaches the
// hooks and lets them send what they queued, in parallel, for up to 5s
// (see [WithFlushTimeout]); then each finishes the attempt in progress and
// stops its goroutine, so that Close returns within the flush timeout plus
// one attempt: 2s, or for fluentd 2s per step that stalls.
//
// # Concurrency
//
// The plugin's methods and handlers are safe for concurrent use once Init has
// returned.
package logmanager
