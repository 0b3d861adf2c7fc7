// Command agent is the demo agent that `make run` starts: every
// infrastructure plugin of Plinth wired together, HTTP on :9191, and an
// embedded etcd server (data under ./.plinth/) unless an etcd endpoint is
// configured (etcd.conf or ETCD_ENDPOINTS).
//
//	go run ./examples/agent [-http-port 9191] [-microservice-label vpp1]
//	curl localhost:9191/readiness
//	go run ./cmd/agentctl kvdb get /vnf-agent/vpp1/check/status/v1/agent
//
// The embedded server listens on 127.0.0.1:2379 (peers 127.0.0.1:2380)
// unless etcd-server.conf says otherwise: the file in the config dir
// (-config-dir, CONFIG_DIR, default the working directory), or the one named
// by -etcd-server-config or ETCD_SERVER_CONFIG. With another etcd on 2379:
//
//	printf 'client-address: 127.0.0.1:22379\npeer-address: 127.0.0.1:22380\n' > /tmp/etcd-server.conf
//	go run ./examples/agent -etcd-server-config /tmp/etcd-server.conf
//
// Once it serves, the agent prints commands that reach it (curl, agentctl)
// with the HTTP port and the etcd endpoint it uses.
package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"os"

	"github.com/plinth-go/plinth/agent"
	"github.com/plinth-go/plinth/infra/kvdb/etcd/embedded"
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
		explain(os.Stderr, err)
		os.Exit(1)
	}
}

func newAgent(opts ...agent.Option) (*agent.Agent, error) {
	return agent.New(append([]agent.Option{agent.AllPlugins(newDemo()), agent.Name("agent")}, opts...)...)
}

// explain tells a first-time operator how to get past a failed start that
// has a usual cause.
func explain(w io.Writer, err error) {
	if errors.Is(err, embedded.ErrAddressInUse) {
		fmt.Fprint(w, `The address above is taken, probably by another etcd. Either use that etcd:
  ETCD_ENDPOINTS=<its host:port> make run
or move the embedded server to free ports in etcd-server.conf, for example:
  printf 'client-address: 127.0.0.1:22379\npeer-address: 127.0.0.1:22380\n' > etcd-server.conf
  make run
(docs/embedded-etcd.md has every key.)
`)
	}
}
