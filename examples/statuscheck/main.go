// Command statuscheck shows the two ways a plugin reports its health: the
// "pusher" plugin reports every change (push mode), the "puller" plugin is
// probed periodically (pull mode). Both flip between OK and ERROR, so the
// agent state, the probes and the status keys change.
//
//	go run ./examples/statuscheck [-flip-every 10s] [-http-port 9191]
//	curl localhost:9191/readiness?verbose
//	curl localhost:9191/liveness
//	curl localhost:9191/metrics
//
// Without an etcd endpoint the status is served over HTTP only. With one,
// it is also published:
//
//	ETCD_ENDPOINTS=127.0.0.1:2379 go run ./examples/statuscheck
//	agentctl kvdb get /vnf-agent/vpp1/check/status/v1/agent
package main

import (
	"errors"
	"flag"
	"fmt"
	"os"

	"github.com/plinth-go/plinth/agent"
	"github.com/plinth-go/plinth/health/probe"
	"github.com/plinth-go/plinth/health/statuscheck"
	"github.com/plinth-go/plinth/infra/kvdb/etcd"
	"github.com/plinth-go/plinth/infra/rest"
	"github.com/plinth-go/plinth/servicelabel"
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
	plugins := agent.AllPlugins(
		servicelabel.NewPlugin(),
		etcd.NewPlugin(), // disabled unless etcd.conf or ETCD_ENDPOINTS names endpoints
		rest.NewPlugin(),
		statuscheck.NewPlugin(),
		probe.NewPlugin(),
		newPusher(),
		newPuller(),
		newWatcher(),
	)
	return agent.New(append([]agent.Option{plugins}, opts...)...)
}
