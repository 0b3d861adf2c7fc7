package porting_test

import (
	"io"
	"testing"

	"go.uber.org/goleak"

	"github.com/plinth-go/plinth/agent"
	"github.com/plinth-go/plinth/infra/kvdb/etcd/embedded"
	"github.com/plinth-go/plinth/infra/kvdb/etcd/etcdtest"
	"github.com/plinth-go/plinth/logging"
)

// shared is the etcd server of the examples that use a key-value store; each
// works under a prefix of its own.
var shared *embedded.Server

func TestMain(m *testing.M) {
	etcdtest.MainWithSharedServer(m, &shared,
		// sarama's metrics registry keeps one goroutine for the process.
		goleak.IgnoreTopFunction("github.com/rcrowley/go-metrics.(*meterArbiter).tick"))
}

// quiet are the agent options of the examples: no command line, no signals,
// no environment, no logs, so that their output is what they print.
func quiet() []agent.Option {
	return []agent.Option{
		agent.Args(),
		agent.QuitSignals(),
		agent.Getenv(func(string) string { return "" }),
		agent.Logs(logging.NewRegistry(logging.WithOutput(io.Discard))),
	}
}

// newAgent builds an agent of plugins with the options of quiet, or panics:
// the examples have no *testing.T to fail.
func newAgent(opts ...agent.Option) *agent.Agent {
	a, err := agent.New(append(quiet(), opts...)...)
	if err != nil {
		panic(err)
	}
	return a
}
