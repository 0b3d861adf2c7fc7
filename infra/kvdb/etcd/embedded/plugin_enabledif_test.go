package embedded_test

import (
	"testing"

	"github.com/plinth-go/plinth/agent"
	"github.com/plinth-go/plinth/agent/agenttest"
	"github.com/plinth-go/plinth/infra/kvdb/etcd/embedded"
)

func TestEnabledIfFalseKeepsTheServerOff(t *testing.T) {
	p := embedded.NewPlugin(
		embedded.UseConf(embedded.Config{DataDir: t.TempDir(), ClientAddr: "127.0.0.1:0", PeerAddr: "127.0.0.1:0"}),
		embedded.EnabledIf(func() (bool, string) { return false, "an etcd endpoint is configured" }),
	)
	agenttest.Start(t, agent.AllPlugins(p))
	if !p.Disabled() || p.Endpoints() != nil {
		t.Errorf("Disabled() = %v, Endpoints() = %v; want disabled and none", p.Disabled(), p.Endpoints())
	}
}
