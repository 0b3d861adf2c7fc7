// Command statuscheck is cn-infra's status check example ported to Plinth:
// the status check follows the connection of the etcd plugin, and a plugin
// of the example prints the state of every plugin.
//
// cn-infra's version needed an etcd server of its own and printed every
// status once a second. This one connects to the etcd named by etcd.conf or
// ETCD_ENDPOINTS, else starts an etcd server in the process on a free port,
// and prints a plugin's status when it changes. Stop the external etcd and
// start it again to see the etcd plugin go to ERROR and back to OK; the
// agent starts and keeps running meanwhile.
//
//	go run ./examples/porting/statuscheck [-http-port 9191] [-microservice-label vpp1]
//	curl localhost:9191/readiness?verbose
//	go run ./cmd/agentctl -e <endpoint it prints> kvdb get check/status/v1/agent
package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/plinth-go/plinth/agent"
	"github.com/plinth-go/plinth/health/probe"
	"github.com/plinth-go/plinth/health/statuscheck"
	"github.com/plinth-go/plinth/infra/kvdb/etcd"
	"github.com/plinth-go/plinth/infra/kvdb/etcd/embedded"
	"github.com/plinth-go/plinth/infra/rest"
	"github.com/plinth-go/plinth/servicelabel"
)

func main() {
	dataDir, err := os.MkdirTemp("", "plinth-statuscheck-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	code := run(dataDir)
	_ = os.RemoveAll(dataDir)
	os.Exit(code)
}

func run(dataDir string) int {
	a, err := newAgent(dataDir, os.Stdout)
	if errors.Is(err, flag.ErrHelp) {
		return 0
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 2
	}
	if err := a.Run(); err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	return 0
}

// newAgent wires the example. The etcd server in the process keeps its data
// in dataDir and runs only when no etcd endpoint is configured; the status
// check publishes the status to etcd either way, and out receives what the
// printer prints.
func newAgent(dataDir string, out io.Writer, opts ...agent.Option) (*agent.Agent, error) {
	var server *embedded.Plugin
	kv := etcd.NewPlugin(etcd.WithFallbackEndpoints(func() []string { return server.Endpoints() }))
	server = embedded.NewPlugin(
		embedded.UseConf(embedded.Config{DataDir: dataDir, ClientAddr: "127.0.0.1:0", PeerAddr: "127.0.0.1:0"}),
		embedded.EnabledIf(func() (bool, string) {
			eps, err := kv.ConfiguredEndpoints()
			if err != nil || len(eps) > 0 {
				return false, "etcd is configured: " + strings.Join(eps, ",")
			}
			return true, ""
		}))
	plugins := agent.AllPlugins(
		server, // first, so that it starts before the etcd plugin and stops after it
		kv,
		servicelabel.NewPlugin(),
		rest.NewPlugin(),
		statuscheck.NewPlugin(),
		// As in cn-infra's example, etcd down does not make the agent
		// unready. (Plinth's default already keeps liveness up then.)
		probe.NewPlugin(probe.WithNonFatalPlugins(etcd.PluginName)),
		newPrinter(out),
	)
	return agent.New(append([]agent.Option{plugins, agent.Name("statuscheck")}, opts...)...)
}
