// Command supervisor shows the supervisor of an agent.
//
// Without a conf file of yours it runs a scripted demo: the two programs of
// supervisor.conf next to this file (harmless stand-ins for vpp and an
// agent, with their log paths moved into a temporary directory so that runs
// do not mix), kills "vpp" to show its restart and the hook that runs on its
// termination, lists the programs as GET /supervisor/programs does, and
// stops, which stops the programs in reverse start order.
//
//	go run ./examples/supervisor
//
// With a conf file of yours it is a small agent that runs your programs and
// hooks: it prints every event, serves GET /supervisor/programs on :9191
// (flag -http-port) and stops the programs on Ctrl-C. Name the file as for
// any agent: with the flag -supervisor-config or the environment variable
// SUPERVISOR_CONFIG (a relative path is under -config-dir or CONFIG_DIR), or
// put it as supervisor.conf in a directory named by -config-dir or
// CONFIG_DIR. docs/supervisor.md describes the file.
//
//	go run ./examples/supervisor -supervisor-config ./my-supervisor.conf
//	curl localhost:9191/supervisor/programs     # from another terminal
//	SUPERVISOR_CONFIG=/etc/agent/supervisor.conf go run ./examples/supervisor -http-port 9292
package main

import (
	"bufio"
	_ "embed"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"

	"github.com/plinth-go/plinth/agent"
	"github.com/plinth-go/plinth/exec/processmanager"
	"github.com/plinth-go/plinth/exec/supervisor"
	"github.com/plinth-go/plinth/infra/config"
	"github.com/plinth-go/plinth/infra/rest"
	"github.com/plinth-go/plinth/logging"
)

//go:embed supervisor.conf
var conf string

func main() {
	err := run(os.Stdout, os.Args[1:], os.Getenv)
	if errors.Is(err, flag.ErrHelp) {
		return
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
}

// run runs the programs of the conf file that args or getenv name, until
// SIGINT or SIGTERM, or the scripted demo when they name none. Either
// writes what happens to out.
func run(out io.Writer, args []string, getenv func(string) string) error {
	var mu sync.Mutex // serializes the lines of the events
	sv := supervisor.NewPlugin(supervisor.WithEventHandler(func(ev supervisor.Event) {
		mu.Lock()
		defer mu.Unlock()
		printEvent(out, ev)
	}))
	a, err := agent.New(
		agent.AllPlugins(rest.NewPlugin(), processmanager.NewPlugin(), sv),
		agent.Args(args...),
		agent.Getenv(getenv),
	)
	if err != nil {
		return err
	}
	file, ok := namedConf(sv.Cfg, sv.String())
	if !ok {
		// The agent above never started: there is nothing to stop.
		return runDemo(out)
	}
	fmt.Fprintf(out, "running the programs of %s; GET %s lists them, Ctrl-C stops them\n", file, supervisor.ProgramsPath)
	return a.Run()
}

// namedConf returns the config file that the user named for the plugin: with
// its flag or environment variable, or as the default file of a config dir
// named by -config-dir or CONFIG_DIR. The default file of the working
// directory does not count, so that the demo runs from any directory.
func namedConf(cfg config.PluginConfig, plugin string) (string, bool) {
	if _, ok := cfg.Lookup(config.FlagName(plugin), config.EnvVar(plugin)); ok {
		return cfg.GetConfigName(), true
	}
	if _, ok := cfg.Lookup(config.DirFlag, config.DirEnv); ok {
		if file := cfg.GetConfigName(); file != "" {
			return file, true
		}
	}
	return "", false
}

// printEvent writes one line for an event of a user's program.
func printEvent(out io.Writer, ev supervisor.Event) {
	line := ev.Program + " " + string(ev.Type)
	switch {
	case ev.Type == supervisor.EventTypeStatus:
		line += " " + ev.State
	case ev.Err != nil:
		line += ": " + ev.Err.Error()
	case ev.Exit != nil:
		line += " (" + ev.Exit.String() + ")"
		if ev.Restarting {
			line += fmt.Sprintf(", restart in %v", ev.RestartIn)
		}
	case ev.Pid > 0:
		line += fmt.Sprintf(", pid %d", ev.Pid)
	}
	fmt.Fprintln(out, line)
}

// runDemo runs the programs of the embedded supervisor.conf through a
// crash, a restart and a stop.
func runDemo(out io.Writer) error {
	dir, err := os.MkdirTemp("", "plinth-supervisor-example")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	confPath := filepath.Join(dir, "supervisor.conf")
	c := strings.ReplaceAll(conf, "/tmp/", dir+"/")
	if err := os.WriteFile(confPath, []byte(c), 0o644); err != nil {
		return err
	}

	// Events arrive in order for each program; the example waits for the
	// ones it shows.
	events := make(chan supervisor.Event, 64)
	sv := supervisor.NewPlugin(supervisor.WithEventHandler(func(ev supervisor.Event) { events <- ev }))
	httpServer := rest.NewPlugin(rest.UseConf(rest.Config{Endpoint: "127.0.0.1:0"}))
	a, err := agent.New(
		agent.AllPlugins(httpServer, processmanager.NewPlugin(), sv),
		agent.Args("-supervisor-config", confPath),
		agent.Logs(logging.NewRegistry(logging.WithOutput(io.Discard))),
		agent.QuitSignals(),
	)
	if err != nil {
		return err
	}
	if err := a.Start(); err != nil {
		return err
	}
	stopped := false
	defer func() {
		if !stopped {
			a.Stop()
		}
	}()
	wait := func(program string, t supervisor.EventType) supervisor.Event {
		for ev := range events {
			if ev.Program == program && ev.Type == t {
				return ev
			}
		}
		panic("unreachable")
	}

	vpp := wait("vpp", supervisor.EventTypeStarted)
	wait("agent", supervisor.EventTypeStarted)
	fmt.Fprintf(out, "started in order: %s\n", strings.Join(sv.GetProgramNames(), ", "))

	// vpp crashes: it is restarted, and its termination hook runs.
	if err := killProcess(vpp.Pid); err != nil {
		return err
	}
	term := wait("vpp", supervisor.EventTypeTerminated)
	fmt.Fprintf(out, "vpp %s (%s), restarting: %v\n", term.State, term.Exit, term.Restarting)
	again := wait("vpp", supervisor.EventTypeStarted)
	fmt.Fprintf(out, "vpp started again: new pid %v, restarts %d\n", again.Pid != vpp.Pid, again.Restarts)

	resp, err := http.Get("http://" + httpServer.Addr().(*net.TCPAddr).String() + supervisor.ProgramsPath)
	if err != nil {
		return err
	}
	var programs []supervisor.ProgramStatus
	err = json.NewDecoder(resp.Body).Decode(&programs)
	resp.Body.Close()
	if err != nil {
		return err
	}
	for _, p := range programs {
		fmt.Fprintf(out, "GET %s: %s %s restarts=%d\n", supervisor.ProgramsPath, p.Name, p.State, p.Restarts)
	}

	// Stopping the agent stops the programs and waits for the hooks.
	// Programs of one priority stop together, so their stopped events come
	// in any order.
	stopped = true
	if err := a.Stop(); err != nil {
		return err
	}
	stops := map[string]supervisor.Event{}
	for ev := range events {
		if ev.Type == supervisor.EventTypeStopped {
			stops[ev.Program] = ev
			if len(stops) == 2 {
				break
			}
		}
	}
	for _, name := range []string{"agent", "vpp"} {
		ev := stops[name]
		fmt.Fprintf(out, "%s %s (%s)\n", name, ev.State, ev.Exit)
	}
	for _, f := range []string{"supervisor.log", "supervisor-hook.log"} {
		if err := printFile(out, filepath.Join(dir, f)); err != nil {
			return err
		}
	}
	return nil
}

func printFile(out io.Writer, path string) error {
	f, err := os.Open(path)
	if err != nil {
		return err
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		fmt.Fprintf(out, "%s: %s\n", filepath.Base(path), sc.Text())
	}
	return sc.Err()
}

// killProcess kills the process pid, as a crash would (SIGKILL on Unix).
func killProcess(pid int) error {
	p, err := os.FindProcess(pid)
	if err != nil {
		return err
	}
	return p.Kill()
}
