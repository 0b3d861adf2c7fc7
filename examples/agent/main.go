// Command agent is the demo agent that `make run` starts: every
// infrastructure plugin of Plinth wired together, HTTP on :9191, and an
// embedded etcd server on 127.0.0.1:2379 (data under ./.plinth/) unless an
// etcd endpoint is configured (etcd.conf or ETCD_ENDPOINTS).
//
//	go run ./examples/agent [-http-port 9191] [-microservice-label vpp1]
//	curl localhost:9191/readiness
//	go run ./cmd/agentctl kvdb get /vnf-agent/vpp1/check/status/v1/agent
package main

import (
	"errors"
	"flag"
	"fmt"
	"os"

	"github.com/plinth-go/plinth/agent"
	"github.com/plinth-go/plinth/infra/kvdb/etcd/embedded"
)

func main() {
	a, err := newAgent(embedded.Config{
		ClientAddr: embeddedClientAddr,
		PeerAddr:   embeddedPeerAddr,
		DataDir:    embeddedDataDir,
	})
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

func newAgent(server embedded.Config, opts ...agent.Option) (*agent.Agent, error) {
	return agent.New(append([]agent.Option{agent.AllPlugins(newDemo(server)), agent.Name("agent")}, opts...)...)
}
