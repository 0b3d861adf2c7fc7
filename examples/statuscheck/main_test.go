package main

import (
	"io"
	"net/http"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/plinth-go/plinth/agent"
	"github.com/plinth-go/plinth/health/statuscheck"
	"github.com/plinth-go/plinth/infra/rest"
	"github.com/plinth-go/plinth/logging"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

func TestDemoFlipsBetweenReadyAndNotReady(t *testing.T) {
	a, err := newAgent(agent.Args("-http-port=0", "-flip-every=200ms", "-config-dir", t.TempDir()),
		agent.QuitSignals(), agent.Logs(logging.NewRegistry(logging.WithOutput(io.Discard))),
		agent.Getenv(func(string) string { return "" }))
	if err != nil {
		t.Fatal(err)
	}
	if err := a.Start(); err != nil {
		t.Fatal(err)
	}
	defer a.Stop()
	var sc *statuscheck.Plugin
	var srv *rest.Plugin
	for _, p := range a.Plugins() {
		switch p := p.(type) {
		case *statuscheck.Plugin:
			sc = p
		case *rest.Plugin:
			srv = p
		}
	}
	client := &http.Client{Transport: &http.Transport{DisableKeepAlives: true}}
	seen := map[int]bool{}
	deadline := time.Now().Add(30 * time.Second)
	changed, cancel := sc.Subscribe()
	defer cancel()
	for !(seen[200] && seen[503]) {
		resp, err := client.Get("http://" + srv.Addr().String() + "/readiness")
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		seen[resp.StatusCode] = true
		if time.Now().After(deadline) {
			t.Fatalf("readiness codes seen: %v, want both 200 and 503", seen)
		}
		select {
		case <-changed:
		case <-time.After(time.Second):
		}
	}
}
