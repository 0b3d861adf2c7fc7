// Command processmanager shows the process manager of an agent: a process
// started from a template at startup, a crashing process restarted with
// backoff until its restarts run out, a process started elsewhere and
// attached to, and the REST view of them all. It starts an agent, does all
// that, prints what happened and stops; stopping the agent stops every
// process it started.
//
//	go run ./examples/processmanager
package main

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"time"

	"github.com/plinth-go/plinth/agent"
	"github.com/plinth-go/plinth/exec/processmanager"
	"github.com/plinth-go/plinth/exec/processmanager/status"
	"github.com/plinth-go/plinth/infra/rest"
	"github.com/plinth-go/plinth/logging"
)

// ticker is a template as an operator writes it: started with the agent.
const ticker = `{
  "name": "ticker",
  "cmd": "sleep",
  "p_options": {"args": ["1000"], "run_on_startup": true}
}
`

func main() {
	if err := run(os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
}

func run(out io.Writer) error {
	dir, err := os.MkdirTemp("", "plinth-processmanager-example")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	templates := filepath.Join(dir, "templates")
	if err := os.MkdirAll(templates, 0o755); err != nil {
		return err
	}
	if err := os.WriteFile(filepath.Join(templates, "ticker.json"), []byte(ticker), 0o644); err != nil {
		return err
	}
	conf := filepath.Join(dir, "process-manager.conf")
	if err := os.WriteFile(conf, []byte("template-path: "+templates+"\n"), 0o644); err != nil {
		return err
	}

	pm := processmanager.NewPlugin()
	httpServer := rest.NewPlugin(rest.UseConf(rest.Config{Endpoint: "127.0.0.1:0"}))
	a, err := agent.New(
		agent.AllPlugins(httpServer, pm),
		agent.Args("-process-manager-config", conf),
		agent.Logs(logging.NewRegistry(logging.WithOutput(io.Discard))),
		agent.QuitSignals(),
	)
	if err != nil {
		return err
	}
	if err := a.Start(); err != nil {
		return err
	}
	defer a.Stop()

	// 1. The template's process runs since the agent started.
	fmt.Fprintf(out, "ticker started from its template: alive=%v\n", pm.GetProcessByName("ticker").IsAlive())

	// 2. A process that crashes: restarted twice, with a doubling delay.
	events := make(chan processmanager.Notification, 16)
	crasher, err := pm.NewProcess("sh", processmanager.WithName("crasher"),
		processmanager.Args("-c", "exit 2"),
		processmanager.Restarts(2),
		processmanager.WithBackoff(50*time.Millisecond, time.Second, time.Minute),
		processmanager.Notify(events))
	if err != nil {
		return err
	}
	if err := crasher.Start(); err != nil {
		return err
	}
	for n := range events {
		if n.State != status.Terminated {
			continue
		}
		if n.Restarting {
			fmt.Fprintf(out, "crasher: %s, restart %d in %v\n", n.Exit, n.Restarts+1, n.RestartIn)
			continue
		}
		fmt.Fprintf(out, "crasher: %s, no restarts left\n", n.Exit)
		break
	}

	// 3. A process started elsewhere, attached to, then stopped by pid.
	other := exec.Command("sleep", "1000")
	if err := other.Start(); err != nil {
		return err
	}
	attached, err := pm.AttachProcess(other.Process.Pid, processmanager.WithName("other"))
	if err != nil {
		return err
	}
	fmt.Fprintf(out, "attached to %s: alive=%v, command %q\n", attached.GetName(), attached.IsAlive(), attached.GetCommand())

	// 4. What an operator sees: curl localhost:9191/process/list
	resp, err := http.Get("http://" + httpServer.Addr().String() + processmanager.ListPath)
	if err != nil {
		return err
	}
	var list []processmanager.Info
	err = json.NewDecoder(resp.Body).Decode(&list)
	resp.Body.Close()
	if err != nil {
		return err
	}
	for _, in := range list {
		fmt.Fprintf(out, "GET /process/list: %s alive=%v restarts=%d\n", in.Name, in.Alive, in.Restarts)
	}

	if _, err := attached.StopAndWait(); err != nil {
		return err
	}
	_ = other.Wait() // the example started it: it reaps it
	fmt.Fprintf(out, "other stopped: alive=%v\n", attached.IsAlive())
	return nil
}
