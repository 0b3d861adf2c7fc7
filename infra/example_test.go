package infra_test

import (
	"fmt"
	"io"

	"github.com/plinth-go/plinth/agent"
	"github.com/plinth-go/plinth/infra"
	"github.com/plinth-go/plinth/logging"
)

// Counter is a plugin that embeds PluginDeps: the agent gives it a logger
// named after it and its config file.
type Counter struct {
	infra.PluginDeps
	n int
}

func (c *Counter) Init() error {
	c.n = 1
	fmt.Printf("%s: Init, logger %q, config file %q\n", c, c.Log.Name(), c.Cfg.GetConfigName())
	return nil
}

func (c *Counter) AfterInit() error {
	c.n++
	fmt.Printf("%s: AfterInit, n=%d\n", c, c.n)
	return nil
}

func (c *Counter) Close() error {
	fmt.Printf("%s: Close\n", c)
	return nil
}

func ExamplePluginDeps() {
	c := &Counter{}
	c.SetName("counter")
	a, err := agent.New(agent.AllPlugins(c), agent.Args("-counter-config=/etc/counter.conf"),
		agent.Logs(logging.NewRegistry(logging.WithOutput(io.Discard))))
	if err != nil {
		fmt.Println(err)
		return
	}
	if err := a.Start(); err != nil {
		fmt.Println(err)
		return
	}
	_ = a.Stop()
	// Output:
	// counter: Init, logger "counter", config file "/etc/counter.conf"
	// counter: AfterInit, n=2
	// counter: Close
}
