// Command supervisor shows the supervisor of an agent: it runs the two
// programs of supervisor.conf (harmless stand-ins for vpp and an agent),
// kills "vpp" to show its restart and the hook that runs on its
// termination, lists the programs as GET /supervisor/programs does, and
// stops, which stops the programs in reverse start order.
//
//	go run ./examples/supervisor
//
// The conf is supervisor.conf next to this file; the example rewrites its
// log paths into a temporary directory so that runs do not mix.
package main

import (
	"bufio"
	_ "embed"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"syscall"

	"github.com/plinth-go/plinth/agent"
	"github.com/plinth-go/plinth/exec/processmanager"
	"github.com/plinth-go/plinth/exec/supervisor"
	"github.com/plinth-go/plinth/infra/rest"
	"github.com/plinth-go/plinth/logging"
)

//go:embed supervisor.conf
var conf string

func main() {
	if err := run(os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
}

func run(out io.Writer) error {
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
	if err := syscall.Kill(vpp.Pid, syscall.SIGKILL); err != nil {
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
