//go:build linux

package processmanager_test

import (
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/plinth-go/plinth/agent"
	"github.com/plinth-go/plinth/agent/agenttest"
	pm "github.com/plinth-go/plinth/exec/processmanager"
	"github.com/plinth-go/plinth/infra/rest"
)

func TestRESTStartsStopsAndRestartsProcesses(t *testing.T) {
	m := pm.NewPlugin()
	h := rest.NewPlugin(rest.UseConf(rest.Config{Endpoint: "127.0.0.1:0"}))
	agenttest.Start(t, agent.AllPlugins(h, m))
	p, err := m.NewProcess(helper, pm.WithName("web"), pm.Args("sleep", "forever"))
	if err != nil {
		t.Fatal(err)
	}
	base := "http://" + h.Addr().String()

	var info pm.Info
	if code := postJSON(t, base+"/process/web/start", &info); code != http.StatusOK || !info.Alive || info.Pid == 0 {
		t.Fatalf("POST /process/web/start = %d %+v, want 200 and a running process", code, info)
	}
	first := info.Pid

	var e map[string]string
	if code := postJSON(t, base+"/process/web/start", &e); code != http.StatusConflict || e["error"] == "" {
		t.Errorf("POST /process/web/start while running = %d %v, want 409 with an error", code, e)
	}

	if code := postJSON(t, base+"/process/web/restart", &info); code != http.StatusOK || !info.Alive || info.Pid == first {
		t.Errorf("POST /process/web/restart = %d %+v, want 200 and a new pid (old %d)", code, info, first)
	}

	if code := postJSON(t, base+"/process/web/stop", &info); code != http.StatusOK || info.Alive || p.IsAlive() {
		t.Errorf("POST /process/web/stop = %d %+v, want 200 and a stopped process", code, info)
	}

	for _, action := range []string{"start", "stop", "restart"} {
		clear(e)
		if code := postJSON(t, base+"/process/nope/"+action, &e); code != http.StatusNotFound || e["error"] == "" {
			t.Errorf("POST /process/nope/%s = %d %v, want 404 with an error", action, code, e)
		}
	}

	resp, err := http.Get(base + "/process/web/restart")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusMethodNotAllowed {
		t.Errorf("GET /process/web/restart = %d, want 405", resp.StatusCode)
	}
}

func postJSON(t *testing.T, url string, v any) int {
	t.Helper()
	resp, err := http.Post(url, "", nil)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	if ct := resp.Header.Get("Content-Type"); ct != "application/json" {
		t.Errorf("POST %s: Content-Type %q", url, ct)
	}
	if err := json.Unmarshal(body, v); err != nil {
		t.Fatalf("POST %s: %v in %q", url, err, body)
	}
	return resp.StatusCode
}

func TestRESTRefusesProcessesManagedByAnotherPlugin(t *testing.T) {
	m := pm.NewPlugin()
	h := rest.NewPlugin(rest.UseConf(rest.Config{Endpoint: "127.0.0.1:0"}))
	agenttest.Start(t, agent.AllPlugins(h, m))
	const owner = "the owner: use POST /owner/web/stop"
	p, err := m.NewProcess(helper, pm.WithName("web"), pm.Args("sleep", "forever"), pm.ManagedBy(owner))
	if err != nil {
		t.Fatal(err)
	}
	if err := p.Start(); err != nil { // the Go API is the owner's, and works
		t.Fatal(err)
	}
	base := "http://" + h.Addr().String()
	for _, action := range []string{"start", "stop", "restart"} {
		var e map[string]string
		code := postJSON(t, base+"/process/web/"+action, &e)
		if code != http.StatusConflict || !strings.Contains(e["error"], owner) {
			t.Errorf("POST /process/web/%s = %d %v, want 409 naming the owner", action, code, e)
		}
	}
	if !p.IsAlive() {
		t.Error("the process was stopped behind its owner's back")
	}
	var info pm.Info
	if code := getJSON(t, base+"/process/web", &info); code != http.StatusOK || info.ManagedBy != owner {
		t.Errorf("GET /process/web = %d %+v, want managed_by %q", code, info, owner)
	}
	if _, err := p.StopAndWait(); err != nil {
		t.Fatal(err)
	}
}
