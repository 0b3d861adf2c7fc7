package rest_test

import (
	"testing"

	"github.com/plinth-go/plinth/agent"
	"github.com/plinth-go/plinth/agent/agenttest"
	"github.com/plinth-go/plinth/health/statuscheck"
	"github.com/plinth-go/plinth/infra/rest"
)

func TestServerReportsOKToTheStatusCheck(t *testing.T) {
	sc := statuscheck.NewPlugin()
	srv := rest.NewPlugin(rest.UseConf(rest.Config{Endpoint: "127.0.0.1:0"}))
	agenttest.Start(t, agent.AllPlugins(srv, sc))
	if srv.StatusCheck == nil {
		t.Fatal("StatusCheck not injected")
	}
	st, ok := sc.GetAllPluginStatus()[srv.String()]
	if !ok || statuscheck.PluginState(st.GetState()) != statuscheck.StateOK {
		t.Errorf("status of %q = %v (registered %v), want OK", srv.String(), st, ok)
	}
}
