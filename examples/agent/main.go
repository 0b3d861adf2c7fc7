// Command agent is the demo agent that `make run` starts: every
// infrastructure plugin of Plinth wired together, HTTP on :9191.
//
//	go run ./examples/agent [-http-port 9191] [-microservice-label vpp1]
package main

import (
	"errors"
	"flag"
	"fmt"
	"os"

	"github.com/plinth-go/plinth/agent"
)

func main() {
	a, err := newAgent()
	if errors.Is(err, flag.ErrHelp) {
		return
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(2)
	}
	if err := a.Run(); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
}

func newAgent(opts ...agent.Option) (*agent.Agent, error) {
	d := newDemo()
	return agent.New(append([]agent.Option{agent.AllPlugins(d)}, opts...)...)
}
