// Package supervisor runs the programs of one conf file for an agent,
// restarts them when they exit, binds them to CPUs, runs hooks on their
// events and stops them cleanly with the agent. It is built on the process
// manager (package exec/processmanager), which the agent must include.
//
// # Usage
//
// Add the plugin and the process manager to an agent:
//
//	a, err := agent.New(agent.AllPlugins(processmanager.NewPlugin(), supervisor.NewPlugin()))
//
// and name the conf file with -supervisor-config or SUPERVISOR_CONFIG
// (default supervisor.conf in the config directory):
//
//	programs:
//	  - name: vpp
//	    executable-path: /usr/bin/vpp
//	    executable-args: ["-c", "/etc/vpp/startup.conf"]
//	    logfile-path: /var/log/vpp.log
//	    restarts: 4
//	    cpu-affinity-mask: "4"
//	    cpu-affinity-setup-delay: 1s
//	hooks:
//	  - program-name: vpp
//	    event-type: terminated
//	    cmd: /usr/local/bin/on-vpp-exit.sh
//
// Config documents every key; docs/supervisor.md has the full reference.
// The conf is decoded strictly: an unknown key, a bad value, a missing
// executable or hook command, an unknown signal or hook filter fails Init
// with errors naming file and line. Invalid CPU affinity values are only
// logged, and the program runs unbound.
//
// # Lifecycle
//
// Init reads the conf and defines the programs in the process manager;
// AfterInit starts them in ascending priority (then file order). A program
// that cannot start is reported (state failed, a failed event) without
// stopping the others. Close stops the programs a priority at a time, in
// reverse start order, the programs of one priority together, each with its stop
// signal to its process group and SIGKILL after its stop timeout, so it
// never waits without bound (the longest stop timeout, with one priority),
// and a program that failed to start costs nothing. When Close outlasts the
// agent's stop timeout, the agent closes the process manager meanwhile, and
// Close still finishes its cleanup (see Plugin.Close).
//
// # Restarts
//
// A program with restarts set is restarted after it exits, with an
// exponential backoff (restart-delay doubling up to restart-delay-max, reset
// by a run of 10s). After the last restart it stays in state gave-up. Each
// restart produces the events terminated, started, then status (the
// state the kernel reports, such as sleeping). The restarts limit counts
// automatic restarts in a row: it starts again whenever the program is
// started by the supervisor or an operator.
//
// # Control
//
// StartProgram, StopProgram and RestartProgram start, stop and restart a
// program by name for an operator, and return once done; with an HTTP
// server, POST /supervisor/programs/{name}/{start|stop|restart} does the
// same (see ProgramActionPath), and `agentctl process start|stop|restart`
// and the dashboard call it. A program the operator stopped stays stopped
// (state stopped, a stopped event, no restart) until it is started again.
// Errors wrap ErrUnknownProgram or ErrStateConflict and name the program.
//
// # Reload and logs
//
// Reload (POST /supervisor/reload, or SIGHUP unless WithoutSIGHUPReload)
// reads the conf again and applies it: added programs start, removed ones
// stop, changed ones restart, the others keep running; a conf with an
// error changes nothing. GET /supervisor/programs/{name}/log serves the end
// of a program's log file, and with follow=1 its new lines as server-sent
// events, across rotations (see ProgramLogPath).
//
// # Hooks
//
// A hook runs its command for every event that matches its optional filters
// program-name and event-type (see EventType), in a clean environment: of
// the agent's variables only PATH, HOME, USER, LOGNAME, SHELL, TMPDIR, TZ,
// LANG, LC_ALL, LC_CTYPE and LC_MESSAGES, plus SUPERVISOR_PROCESS_NAME, SUPERVISOR_PROCESS_STATE,
// SUPERVISOR_EVENT_TYPE and, when known, SUPERVISOR_PROCESS_PID,
// SUPERVISOR_PROCESS_PATH, SUPERVISOR_EXIT_CODE, SUPERVISOR_EXIT_SIGNAL,
// SUPERVISOR_RESTARTS, SUPERVISOR_ERROR and SUPERVISOR_RESTART_IN (see
// Event.Env). Besides the events of the original conf, each change of
// state fires an event named after the state entered, as supervisord
// reports them: starting, running, backoff, stopping, exited, stopped,
// fatal. Hooks of one program run one at a time in event order, on a goroutine of their own, so
// a slow, failing or hanging hook never delays supervision; each is killed
// with its process group after its timeout. A program queues at most 64
// events for its hooks; beyond that the oldest are dropped, logged and
// counted (ProgramStatus.HookEventsDropped).
//
// # Status
//
// Each program reports to the status check as "supervisor.<name>": INIT
// until it starts, OK while it runs (or after it exited with code 0 and no
// restarts), ERROR while it restarts, after it gave up or failed, with the
// exit status as the error. With an HTTP server, GET /supervisor/programs
// serves every program's ProgramStatus as JSON; `agentctl process list`
// shows it. Its restarts count every run after the program's first,
// automatic or started by an operator.
//
// # Concurrency
//
// The methods of Plugin are safe for concurrent use once Init returned;
// the actions on one program run one at a time. Event handlers
// (WithEventHandler) are never called concurrently, and must not call
// StartProgram, StopProgram or RestartProgram.
//
// # supervisord's keys
//
// Besides the keys of the original conf, programs take supervisord's
// options under kebab-case names: start-seconds and start-retries (a run
// shorter than start-seconds is a failed start, retried, then the program
// is fatal), autorestart and exit-codes, stop-as-group and kill-as-group,
// directory, environment, user and umask, stderr-logfile-path, and log
// rotation with logfile-max-bytes (50MB) and logfile-backups (10). With
// depends-on, a program starts once its dependencies have been running for
// their start-seconds, and stops before them. docs/supervisor.md maps every
// supervisord option.
//
// The package builds everywhere; it runs programs as the process manager
// does on each system (see its package doc). CPU affinity and umask are
// conf errors outside Linux.
package supervisor
