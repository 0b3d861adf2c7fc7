// Command hello is the custom agent of the README, kept here so that its
// test builds and runs it exactly as the README shows it.
//
//	go run ./examples/hello
package main

import (
	"log"

	"github.com/plinth-go/plinth/agent"
	"github.com/plinth-go/plinth/infra"
)

type Hello struct{ infra.PluginDeps }

func (h *Hello) Init() error {
	h.Log.Info("hello")
	return nil
}

func main() {
	hello := &Hello{}
	hello.SetName("hello")
	a, err := agent.New(agent.AllPlugins(hello))
	if err == nil {
		err = a.Run() // start, wait for SIGINT or SIGTERM, stop
	}
	if err != nil {
		log.Fatal(err)
	}
}
