package dashboard_test

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"

	"github.com/plinth-go/plinth/agent"
	"github.com/plinth-go/plinth/dashboard"
	"github.com/plinth-go/plinth/health/statuscheck"
	"github.com/plinth-go/plinth/infra/rest"
	"github.com/plinth-go/plinth/logging"
)

// The page learns from GET /ui/api/panels which panels the agent can fill:
// this agent has a status check, so the page shows its plugins live, and
// hides the panels of the loggers, programs, processes and status keys.
func ExampleNewPlugin() {
	h := rest.NewPlugin(rest.UseConf(rest.Config{Endpoint: "127.0.0.1:0"}))
	a, err := agent.New(agent.Name("example"), agent.Args(), agent.QuitSignals(),
		agent.Logs(logging.NewRegistry(logging.WithOutput(io.Discard))),
		agent.AllPlugins(h, statuscheck.NewPlugin(), dashboard.NewPlugin()))
	if err != nil {
		fmt.Println(err)
		return
	}
	if err := a.Start(); err != nil {
		fmt.Println(err)
		return
	}
	defer a.Stop()

	resp, err := http.Get("http://" + h.Addr().String() + dashboard.PanelsPath)
	if err != nil {
		fmt.Println(err)
		return
	}
	defer resp.Body.Close()
	var p dashboard.Panels
	if err := json.NewDecoder(resp.Body).Decode(&p); err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println("agent:", p.Agent.Name)
	fmt.Println("plugins and /events:", p.Status)
	fmt.Println("loggers:", p.Loggers, "programs:", p.Programs, "processes:", p.Processes, "status keys:", p.StatusKeys)
	// Output:
	// agent: example
	// plugins and /events: true
	// loggers: false programs: false processes: false status keys: false
}
