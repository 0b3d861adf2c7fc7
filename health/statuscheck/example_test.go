package statuscheck_test

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/plinth-go/plinth/health/statuscheck"
)

// A plugin in push mode reports every change; the agent state is the worst
// plugin state.
func ExamplePlugin_ReportStateChange() {
	sc := statuscheck.NewPlugin(statuscheck.WithClock(func() time.Time { return time.Unix(1496322205, 0) }))
	_ = sc.Init()
	_ = sc.AfterInit()
	defer sc.Close()

	_ = sc.ReportStateChange("GOVPP", statuscheck.StateError, errors.New("VPP disconnected"))
	_ = sc.ReportStateChange("kafka", statuscheck.StateOK, nil)

	s := sc.Snapshot()
	fmt.Println("agent:", s.Agent.GetState())
	fmt.Println(string(s.Plugin("GOVPP").AppendJSON(nil)))
	// Output:
	// agent: ERROR
	// {"name":"GOVPP","state":2,"last_change":1496322205,"last_update":1496322205,"error":"VPP disconnected"}
}

// A plugin in pull mode registers a probe; mixing the modes is an error.
func ExamplePlugin_Register() {
	sc := statuscheck.NewPlugin()
	probe := func(ctx context.Context) (statuscheck.PluginState, error) {
		return statuscheck.StateOK, nil
	}
	fmt.Println(sc.Register("vpp", probe))
	err := sc.ReportStateChange("vpp", statuscheck.StateOK, nil)
	fmt.Println(errors.Is(err, statuscheck.ErrMixedModes))
	// Output:
	// <nil>
	// true
}

// Subscribers learn that something changed and read the latest snapshot.
func ExamplePlugin_Subscribe() {
	sc := statuscheck.NewPlugin()
	changed, cancel := sc.Subscribe()
	defer cancel()

	_ = sc.ReportStateChange("a", statuscheck.StateOK, nil)
	_ = sc.ReportStateChange("b", statuscheck.StateInit, nil)
	<-changed // one signal for both changes
	for _, p := range sc.Snapshot().Agent.GetPlugins() {
		fmt.Println(p.GetName(), p.GetState())
	}
	// Output:
	// a OK
	// b INIT
}
