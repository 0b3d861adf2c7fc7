package probe_test

import (
	"errors"
	"fmt"
	"io"
	"net/http"
	"time"

	"github.com/plinth-go/plinth/agent"
	"github.com/plinth-go/plinth/health/probe"
	"github.com/plinth-go/plinth/health/statuscheck"
	"github.com/plinth-go/plinth/infra/rest"
	"github.com/plinth-go/plinth/logging"
)

// An agent with the status check, the HTTP server and the probes: a plugin
// in ERROR fails readiness unless it is non-fatal.
func Example() {
	sc := statuscheck.NewPlugin(
		statuscheck.WithClock(func() time.Time { return time.Unix(1700000000, 0) }),
		statuscheck.WithBuildInfo("v1.0.0", "", ""))
	srv := rest.NewPlugin(rest.UseConf(rest.Config{Endpoint: "127.0.0.1:0"}))
	a, err := agent.New(agent.AllPlugins(srv, sc, probe.NewPlugin(probe.WithNonFatalPlugins("kafka"))),
		agent.Args(), agent.QuitSignals(), agent.Logs(logging.NewRegistry(logging.WithOutput(io.Discard))))
	if err != nil {
		fmt.Println(err)
		return
	}
	if err := a.Start(); err != nil {
		fmt.Println(err)
		return
	}
	defer a.Stop()
	client := &http.Client{Transport: &http.Transport{DisableKeepAlives: true}}
	get := func(path string) {
		resp, err := client.Get("http://" + srv.Addr().String() + path)
		if err != nil {
			fmt.Println(err)
			return
		}
		defer resp.Body.Close()
		body, _ := io.ReadAll(resp.Body)
		fmt.Printf("%s %d\n%s", path, resp.StatusCode, body)
	}

	_ = sc.ReportStateChange("kafka", statuscheck.StateError, errors.New("broker down"))
	get("/readiness?verbose")
	_ = sc.ReportStateChange("vpp", statuscheck.StateError, errors.New("VPP disconnected"))
	get("/readiness")
	// Output:
	// /readiness?verbose 200
	// agent ERROR
	// [+]http OK
	// [+]kafka ERROR (non-fatal): broker down
	// readiness check passed
	// /readiness 503
	// {"state":2,"last_change":1700000000,"last_update":1700000000,"start_time":1700000000,"build_version":"v1.0.0","plugins":[{"name":"http","state":1,"last_change":1700000000,"last_update":1700000000},{"name":"kafka","state":2,"last_change":1700000000,"last_update":1700000000,"error":"broker down"},{"name":"vpp","state":2,"last_change":1700000000,"last_update":1700000000,"error":"VPP disconnected"}],"non_fatal_plugins":["kafka"]}
}
