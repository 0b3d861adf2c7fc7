package main

import (
	"encoding/json"
	"io"
	"net/http"
	"testing"

	"go.uber.org/goleak"

	"github.com/plinth-go/plinth/agent"
	"github.com/plinth-go/plinth/logging"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

func TestDemoAgentServesInfo(t *testing.T) {
	a, err := newAgent(agent.Args("-http-port=0", "-microservice-label=demo1", "-config-dir", t.TempDir()),
		agent.QuitSignals(), agent.Logs(logging.NewRegistry(logging.WithOutput(io.Discard))),
		agent.Getenv(func(string) string { return "" }))
	if err != nil {
		t.Fatal(err)
	}
	if err := a.Start(); err != nil {
		t.Fatal(err)
	}
	defer a.Stop()
	d := a.Plugins()[len(a.Plugins())-1].(*demo)
	resp, err := http.Get("http://" + d.HTTP.Addr().String() + "/info")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var info map[string]string
	if err := json.NewDecoder(resp.Body).Decode(&info); err != nil {
		t.Fatal(err)
	}
	if info["label"] != "demo1" || info["prefix"] != "/vnf-agent/demo1/" {
		t.Errorf("GET /info = %v", info)
	}

	resp, err = http.Post("http://"+d.HTTP.Addr().String()+"/log/demo/debug", "", nil)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK || a.Logs().Get("demo").Level() != logging.DebugLevel {
		t.Errorf("POST /log/demo/debug = %d, level %v", resp.StatusCode, a.Logs().Get("demo").Level())
	}
}
