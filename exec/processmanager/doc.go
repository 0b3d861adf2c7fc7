// Package processmanager starts, stops, restarts and watches processes for
// an agent: children it starts itself, and processes started elsewhere that
// it attaches to. It also keeps process templates, definitions stored as
// JSON files that it starts processes from.
//
// # Usage
//
// Add the plugin to an agent, and inject the ProcessManager into plugins
// that run processes:
//
//	type Deps struct {
//		infra.PluginDeps
//		Processes processmanager.ProcessManager
//	}
//
//	p, err := d.Processes.NewProcess("/usr/bin/vpp",
//		processmanager.Args("-c", "/etc/vpp/startup.conf"),
//		processmanager.Restarts(-1),           // always restart
//		processmanager.Notify(events))         // status changes
//	err = p.Start()
//
// Outside an agent, NewPlugin followed by Init and, at the end, Close works
// too.
//
// # Configuration
//
// The plugin reads process-manager.conf (flag -process-manager-config, env
// PROCESS_MANAGER_CONFIG); see Config:
//
//	template-path: /etc/agent/templates   # directory of template files
//	poll-interval: 1s                     # how often states are read
//
// # Processes
//
// A process is Initial until started. Start runs it in a process group of
// its own, with a parent-death signal (SIGKILL) so that it dies with the
// agent, unless Detach is set. Stop, StopAndWait, Restart, Kill, Delete
// and Close signal the whole group, and kill what is left of it when the
// process exits, so grandchildren do not survive them; Signal reaches the
// process alone. Stop, StopAndWait, Restart, Delete and Close ask the
// process to exit with SIGTERM, or the signal of WithStopSignal for
// programs that exit cleanly on another one (SIGINT, SIGQUIT…);
// StopAndWait, Restart, Delete and Close send SIGKILL after the stop timeout
// (WithStopTimeout, 10s by default). Attached processes are signalled,
// never their group.
//
// Exits are seen at once through a pidfd, and children are reaped at once,
// so they never linger as zombies; the exit code or signal is recorded
// (ExitStatus). AutoTerminate also kills the rest of the group when the
// process exits on its own, and reaps the members that became children of
// the agent (when it is PID 1 or a child subreaper).
//
// # Output
//
// Writer hands an *os.File to the process; any other writer is fed from a
// pipe that the manager reads whatever the writer does, so a failing writer
// never blocks the process or its restarts: what it refuses is dropped,
// counted (Info.OutputBytesDropped) and logged with backoff, and it is
// offered the output that follows, so output flows again once it recovers.
//
// # Restarts
//
// Restarts(n) restarts a process n times after it is found terminated, or
// always when n is negative; the count starts again at every Start. Stop,
// StopAndWait and Kill turn automatic restarts off until the next Start.
// Restarts back off exponentially (WithBackoff: by default 100ms doubling to
// 30s), and a run that lasted 10s resets the delay. Once the restarts run
// out, the process stays Terminated.
//
// # Status watcher
//
// Every poll interval the watcher reads /proc/<pid>/stat of each running
// process through a descriptor kept open, which cannot see another process
// if the pid is reused. States are those of package status: running,
// sleeping, idle, disk-sleep, stopped, zombie… plus Initial, Terminated and
// Unavailable. A state change is sent to the process's notification channel
// (Notify, or GetNotificationChan for templates with notify) and, with
// WithStatusCheck, reported to the agent's status check.
//
// Notifications of one process arrive in order. The manager never waits for
// a reader: each process queues up to 16 notifications, and when the reader
// falls further behind the oldest are dropped and counted
// (Info.NotificationsDropped), so the latest state always arrives.
//
// # Templates
//
// With a template path, Init reads every *.json file in it (see package
// model for the format), defines a process for each, and AfterInit starts
// those with run_on_startup. An invalid file fails Init with a
// *TemplateError naming it. The Template option writes the template of a new
// process (mode 0644, atomically). GetTemplate and GetAllTemplates read the
// files again on each call.
//
// # REST
//
// When the agent has an HTTP server, the plugin serves
//
//	GET  /process/list            200 [Info, …] sorted by name
//	GET  /process/{name}          200 Info, or 404 {"error":"…"}
//	POST /process/{name}/start    200 Info once started; 409 when it runs or is attached
//	POST /process/{name}/stop     200 Info once it has exited (StopAndWait)
//	POST /process/{name}/restart  200 Info of the new run; 409 when attached
//
// with Info as JSON (snake_case keys). The POST requests take no body. An
// unknown name answers 404, a closing manager 410, another failure 500, each
// with a body {"error":"…"}. A process named "list" is only reachable
// through the list. The paths are ListPath, ProcessPath, StartPath, StopPath
// and RestartPath.
//
// # Threads and Pdeathsig
//
// Linux sends the parent-death signal when the thread that forked the child
// exits, not the process, and the Go runtime ends a thread whose goroutine
// exits while locked to it. The manager therefore forks every child from
// one goroutine locked to its thread until Close. Grandchildren get no
// parent-death signal: when the agent is killed with SIGKILL, only the
// children die with it.
//
// # CPU affinity
//
// A process created with CPUAffinity and no delay is forked from the
// spawner thread bound to its CPUs for the fork, so the process and every
// thread it creates start bound. After a delay, and for an attached
// process, the threads of the running process are bound one by one. A thread whose creation is under way at
// that moment copies the affinity its creator had before and appears only
// afterwards, and Linux offers no way to wait for it; so the threads are
// listed again 100ms later, and again as long as new threads with a former
// affinity show up, up to ten times. Threads that the process bound
// elsewhere itself, and the threads they create, are left alone then.
//
// # Concurrency
//
// The plugin and processes are safe for concurrent use. Close waits for
// every goroutine of the manager; once it has begun, methods fail with
// ErrClosed, Delete included, so a process created while Close runs is
// either refused or stopped by Close.
//
// # Other systems
//
// The package builds everywhere, but only Linux has what the above relies
// on: pidfds, /proc and Pdeathsig. On macOS and the BSDs children still run
// in a process group of their own, are stopped, killed, waited for and
// restarted (a goroutine waits for each), and report the state running
// while alive; they do not die with the agent. On Windows a stop kills the
// process, as Windows has no stop signals. AttachProcess and UpdateStatus
// fail with an error wrapping errors.ErrUnsupported, and CPUAffinity makes
// NewProcess fail with ErrInvalidOption (wrapping errors.ErrUnsupported
// too) rather than run the process unbound.
package processmanager
