//go:build linux

package processmanager_test

import (
	"encoding/json"
	"io"
	"net/http"
	"slices"
	"sync"
	"syscall"
	"testing"

	"github.com/plinth-go/plinth/agent"
	"github.com/plinth-go/plinth/agent/agenttest"
	pm "github.com/plinth-go/plinth/exec/processmanager"
	"github.com/plinth-go/plinth/exec/processmanager/status"
	"github.com/plinth-go/plinth/health/statuscheck"
	"github.com/plinth-go/plinth/infra/rest"
)

func TestRESTServesProcessesAsJSON(t *testing.T) {
	m := pm.NewPlugin()
	h := rest.NewPlugin(rest.UseConf(rest.Config{Endpoint: "127.0.0.1:0"}))
	agenttest.Start(t, agent.AllPlugins(h, m))
	p, err := m.NewProcess(helper, pm.WithName("web"), pm.Args("sleep", "forever"), pm.Restarts(-1))
	if err != nil {
		t.Fatal(err)
	}
	mustStart(t, p)
	if _, err := m.NewProcess("sleep", pm.Args("1")); err != nil {
		t.Fatal(err)
	}
	base := "http://" + h.Addr().String()

	var list []pm.Info
	if code := getJSON(t, base+"/process/list", &list); code != http.StatusOK {
		t.Fatalf("GET /process/list: %d", code)
	}
	if len(list) != 2 || list[0].Name != "sleep" || list[1].Name != "web" {
		t.Fatalf("GET /process/list = %+v, want sleep and web", list)
	}
	if list[0].State != status.Initial || list[0].Pid != 0 {
		t.Errorf("sleep: %+v, want initial", list[0])
	}

	var raw map[string]any
	if code := getJSON(t, base+"/process/web", &raw); code != http.StatusOK {
		t.Fatalf("GET /process/web: %d", code)
	}
	for key, want := range map[string]any{"name": "web", "alive": true, "pid": float64(p.GetPid()), "restart_limit": float64(-1),
		"output_bytes_dropped": float64(0)} {
		if raw[key] != want {
			t.Errorf("GET /process/web: %s = %v, want %v (body %v)", key, raw[key], want, raw)
		}
	}
	if code := getJSON(t, base+"/process/nope", &raw); code != http.StatusNotFound || raw["error"] == nil {
		t.Errorf("GET /process/nope: %d %v, want 404 with an error", code, raw)
	}
}

func getJSON(t *testing.T, url string, v any) int {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	if ct := resp.Header.Get("Content-Type"); ct != "application/json" {
		t.Errorf("GET %s: Content-Type %q", url, ct)
	}
	if err := json.Unmarshal(body, v); err != nil {
		t.Fatalf("GET %s: %v in %q", url, err, body)
	}
	return resp.StatusCode
}

// statusRecorder is a statuscheck.PluginStatusWriter that records reports.
type statusRecorder struct {
	mu      sync.Mutex // guards reports
	reports []report
}

type report struct {
	name  string
	state statuscheck.PluginState
	err   string
}

func (s *statusRecorder) Register(string, statuscheck.PluginStateProbe) error { return nil }

func (s *statusRecorder) ReportStateChange(name string, st statuscheck.PluginState, err error) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	r := report{name: name, state: st}
	if err != nil {
		r.err = err.Error()
	}
	if n := len(s.reports); n == 0 || s.reports[n-1] != r {
		s.reports = append(s.reports, r)
	}
	return nil
}

func (s *statusRecorder) last() report {
	s.mu.Lock()
	defer s.mu.Unlock()
	if len(s.reports) == 0 {
		return report{}
	}
	return s.reports[len(s.reports)-1]
}

func (s *statusRecorder) all() []report {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.reports)
}

func TestWithStatusCheckReportsTheProcessState(t *testing.T) {
	rec := &statusRecorder{}
	m := pm.NewPlugin(pm.UseConf(pm.Config{}))
	m.StatusCheck = rec
	if err := m.Init(); err != nil {
		t.Fatal(err)
	}
	defer m.Close()
	out := newLines()
	p, err := m.NewProcess(helper, pm.Args("wait-usr1", "exit", "4"), pm.WithStatusCheck("worker"), pm.Writer(out, nil))
	if err != nil {
		t.Fatal(err)
	}
	if got := rec.last(); got != (report{name: "worker", state: statuscheck.StateInit}) {
		t.Errorf("after NewProcess: %+v, want worker INIT", got)
	}
	mustStart(t, p)
	if got := rec.last(); got.state != statuscheck.StateOK {
		t.Errorf("after Start: %+v, want OK", got)
	}
	out.waitPrefix(t, "waiting", 1)
	if err := p.Signal(syscall.SIGUSR1); err != nil {
		t.Fatal(err)
	}
	if _, err := p.Wait(); err != nil {
		t.Fatal(err)
	}
	want := report{name: "worker", state: statuscheck.StateError, err: "testhelper: terminated: exit status 4"}
	if got := rec.last(); got != want {
		t.Errorf("after the exit: %+v, want %+v", got, want)
	}
	if _, err := m.NewProcess("true", pm.WithName("quiet")); err != nil {
		t.Fatal(err)
	}
	for _, r := range rec.all() {
		if r.name == "quiet" {
			t.Error("a process without WithStatusCheck reported its state")
		}
	}
}
