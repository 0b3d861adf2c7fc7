package agent_test

import (
	"fmt"
	"io"

	"github.com/plinth-go/plinth/agent"
	"github.com/plinth-go/plinth/infra"
	"github.com/plinth-go/plinth/logging"
)

// Clock is what the reporter needs; the agent fills it with the plugin that
// implements it.
type Clock interface{ Now() string }

type clockPlugin struct{ infra.PluginDeps }

func (c *clockPlugin) Init() error { fmt.Println("clock: Init"); return nil }
func (c *clockPlugin) Now() string { return "noon" }

type reporter struct {
	infra.PluginDeps
	Clock Clock // filled by the agent
}

func (r *reporter) Init() error  { fmt.Println("reporter: Init, it is", r.Clock.Now()); return nil }
func (r *reporter) Close() error { fmt.Println("reporter: Close"); return nil }

func Example() {
	clock := &clockPlugin{}
	clock.SetName("clock")
	rep := &reporter{}
	rep.SetName("reporter")

	a, err := agent.New(
		agent.AllPlugins(rep, clock),
		agent.Args(), // do not parse os.Args in this example
		agent.Logs(logging.NewRegistry(logging.WithOutput(io.Discard))),
	)
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println("order:", a.Order())
	if err := a.Start(); err != nil {
		fmt.Println(err)
		return
	}
	if err := a.Stop(); err != nil {
		fmt.Println(err)
	}
	// Output:
	// order: [clock reporter]
	// clock: Init
	// reporter: Init, it is noon
	// reporter: Close
}
