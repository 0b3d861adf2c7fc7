package dashboard_test

import (
	"context"
	"errors"
	"net/http"
	"reflect"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/plinth-go/plinth/agent"
	"github.com/plinth-go/plinth/agent/agenttest"
	"github.com/plinth-go/plinth/dashboard"
	"github.com/plinth-go/plinth/exec/processmanager"
	"github.com/plinth-go/plinth/exec/supervisor"
	"github.com/plinth-go/plinth/health/probe"
	"github.com/plinth-go/plinth/health/statuscheck"
	"github.com/plinth-go/plinth/infra"
	"github.com/plinth-go/plinth/infra/kvdb/etcd"
	"github.com/plinth-go/plinth/infra/kvdb/etcd/etcdtest"
	"github.com/plinth-go/plinth/infra/rest"
	"github.com/plinth-go/plinth/logging"
	"github.com/plinth-go/plinth/logging/logmanager"
	"github.com/plinth-go/plinth/messaging/kafka"
	"github.com/plinth-go/plinth/servicelabel"
)

func TestPageIsServedWithItsAssets(t *testing.T) {
	s := startServer(t, rest.Config{}, dashboard.NewPlugin())
	for _, tc := range []struct {
		name, path, contentType, contains string
	}{
		{"page", "/ui/", "text/html", `<script src="app.js" defer></script>`},
		{"script", "/ui/app.js", "text/javascript", `new EventSource("/events")`},
		{"styles", "/ui/style.css", "text/css", "@media (max-width: 640px)"},
		{"helpers", "/ui/common.js", "text/javascript", "function fmtWhen("},
		{"fleet script", "/ui/fleet.js", "text/javascript", `"/ui/api/fleet"`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			code, h, body := s.do(http.MethodGet, tc.path)
			if code != http.StatusOK || !strings.HasPrefix(h.Get("Content-Type"), tc.contentType) {
				t.Fatalf("GET %s = %d %q, want 200 %s", tc.path, code, h.Get("Content-Type"), tc.contentType)
			}
			if !strings.Contains(string(body), tc.contains) {
				t.Errorf("GET %s: body lacks %q", tc.path, tc.contains)
			}
			if csp := h.Get("Content-Security-Policy"); !strings.Contains(csp, "default-src 'self'") {
				t.Errorf("GET %s: Content-Security-Policy %q, want default-src 'self'", tc.path, csp)
			}
		})
	}
	// Nothing of the page comes from elsewhere: it must work air-gapped.
	for _, f := range []string{"/ui/", "/ui/app.js", "/ui/common.js", "/ui/style.css", "/ui/fleet.js"} {
		_, _, body := s.do(http.MethodGet, f)
		if strings.Contains(string(body), "http://") || strings.Contains(string(body), "https://") {
			t.Errorf("GET %s refers to another site", f)
		}
	}
	if code, _, _ := s.do(http.MethodGet, "/ui/missing.js"); code != http.StatusNotFound {
		t.Errorf("GET /ui/missing.js = %d, want 404", code)
	}
	client := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	resp, err := client.Get(s.base + "/ui")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusMovedPermanently || resp.Header.Get("Location") != "/ui/" {
		t.Errorf("GET /ui = %d to %q, want 301 to /ui/", resp.StatusCode, resp.Header.Get("Location"))
	}
}

func TestPanelsShowOnlyWhatTheAgentHas(t *testing.T) {
	for _, tc := range []struct {
		name    string
		plugins func() []infra.Plugin
		opts    []dashboard.Option
		want    dashboard.Panels
	}{
		{
			name:    "bare agent: no panel but the agent's name",
			plugins: func() []infra.Plugin { return nil },
			want:    dashboard.Panels{},
		},
		{
			name: "every dependency: every panel",
			plugins: func() []infra.Plugin {
				return []infra.Plugin{
					statuscheck.NewPlugin(), logmanager.NewPlugin(), processmanager.NewPlugin(),
					supervisor.NewPlugin(), servicelabel.NewPlugin(),
					etcd.NewPlugin(etcd.UseConf(etcd.Config{Endpoints: []string{"127.0.0.1:1"}, DialTimeout: 100 * time.Millisecond})),
					probe.NewPlugin(), kafka.NewPlugin(),
					// The names of the demo agent's route cache and Kafka
					// traffic plugins, whose REST answers the page reads.
					newReporter(dashboard.RouteCachePlugin), newReporter(dashboard.KafkaTrafficPlugin),
				}
			},
			opts: []dashboard.Option{dashboard.UseConf(dashboard.Config{Fleet: true})},
			want: dashboard.Panels{Status: true, Loggers: true, Programs: true, ProgramActions: supervisor.ProgramsPath,
				ProgramLog: "/supervisor/programs/{name}/log", SupervisorReload: "/supervisor/reload",
				Processes: true, StatusKeys: true, Etcd: true, Kafka: true, Metrics: probe.MetricsPath,
				RouteCache: dashboard.RouteCachePath, KafkaTraffic: dashboard.KafkaTrafficPath, Fleet: true},
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := startServer(t, rest.Config{}, append(tc.plugins(), dashboard.NewPlugin(tc.opts...))...)
			var got dashboard.Panels
			if code := s.json(http.MethodGet, dashboard.PanelsPath, &got); code != http.StatusOK {
				t.Fatalf("GET %s = %d", dashboard.PanelsPath, code)
			}
			a := got.Agent
			if a.Name != "test-agent" || a.Version != "1.2.3" || a.Commit != "abc123" || len(a.Plugins) < 2 || a.StartTime == 0 {
				t.Errorf("GET %s: agent = %+v, want test-agent 1.2.3 abc123 with its plugins and start time", dashboard.PanelsPath, a)
			}
			got.Agent = dashboard.AgentInfo{}
			if !reflect.DeepEqual(got, tc.want) {
				t.Errorf("GET %s = %+v, want %+v", dashboard.PanelsPath, got, tc.want)
			}
		})
	}
}

func TestEventsStreamEveryStatusChangeAsItHappens(t *testing.T) {
	sc := statuscheck.NewPlugin()
	s := startServer(t, rest.Config{}, sc, newReporter("alpha"), newReporter("beta"),
		dashboard.NewPlugin(dashboard.WithHeartbeat(50*time.Millisecond)))
	ctx, cancel := context.WithTimeout(context.Background(), waitBound)
	defer cancel()
	ev := s.events(ctx)
	defer ev.close()

	st := ev.nextStatus()
	if st["state"] != float64(statuscheck.StateOK) {
		t.Fatalf("first event: agent state %v, want OK (%v)", st["state"], st)
	}
	if state, _, ok := pluginState(st, "alpha"); !ok || state != float64(statuscheck.StateOK) {
		t.Fatalf("first event: alpha %v %v, want OK (%v)", state, ok, st)
	}

	if err := sc.ReportStateChange("alpha", statuscheck.StateError, errors.New("disk full")); err != nil {
		t.Fatal(err)
	}
	st = ev.nextStatus()
	if state, errText, _ := pluginState(st, "alpha"); state != float64(statuscheck.StateError) || errText != "disk full" {
		t.Errorf("after the report: alpha %v %q, want ERROR \"disk full\" (%v)", state, errText, st)
	}
	if st["state"] != float64(statuscheck.StateError) {
		t.Errorf("after the report: agent state %v, want ERROR", st["state"])
	}

	// With nothing changing, heartbeats keep the connection in use.
	for {
		block, ok := ev.next()
		if !ok {
			t.Fatal("the stream ended")
		}
		if len(block) == 1 && block[0] == ": heartbeat" {
			break
		}
	}
}

func TestEventsEndWhenThePluginCloses(t *testing.T) {
	h := rest.NewPlugin(rest.UseConf(rest.Config{Endpoint: "127.0.0.1:0"}))
	a := agenttest.New(t, agent.AllPlugins(h, statuscheck.NewPlugin(), dashboard.NewPlugin()))
	if err := a.Start(); err != nil {
		t.Fatal(err)
	}
	s := &server{t: t, a: a, base: "http://" + h.Addr().String()}
	ctx, cancel := context.WithTimeout(context.Background(), waitBound)
	defer cancel()
	ev := s.events(ctx)
	defer ev.close()
	ev.nextStatus()

	start := time.Now()
	if err := a.Stop(); err != nil {
		t.Fatalf("Stop: %v", err)
	}
	// The HTTP server waits up to 5s for in-flight requests: a stream that
	// outlived the dashboard would show here.
	if d := time.Since(start); d > 2*time.Second {
		t.Errorf("Stop took %v with a stream open, want the stream to end at once", d)
	}
	for {
		if _, ok := ev.next(); !ok {
			break
		}
	}
}

func TestEveryDashboardPathNeedsAuthWhenConfigured(t *testing.T) {
	s := startServer(t, rest.Config{BasicAuth: []string{"admin:s3cret"}},
		statuscheck.NewPlugin(), processmanager.NewPlugin(), supervisor.NewPlugin(), dashboard.NewPlugin())
	for _, tc := range []struct{ method, path string }{
		{http.MethodGet, "/ui/"},
		{http.MethodGet, "/ui/app.js"},
		{http.MethodGet, dashboard.PanelsPath},
		{http.MethodGet, dashboard.EventsPath},
		{http.MethodGet, dashboard.StatusKeysPath},
		{http.MethodGet, dashboard.EtcdPath},
		{http.MethodGet, dashboard.KafkaPath},
		{http.MethodGet, dashboard.FleetPath},
		{http.MethodGet, dashboard.FleetAPIPath},
		{http.MethodPost, "/ui/api/programs/nope/restart"},
	} {
		t.Run(tc.method+" "+tc.path, func(t *testing.T) {
			s.user, s.pass = "", ""
			if code, _, _ := s.do(tc.method, tc.path); code != http.StatusUnauthorized {
				t.Errorf("%s %s without credentials = %d, want 401", tc.method, tc.path, code)
			}
			s.user, s.pass = "admin", "wrong"
			if code, _, _ := s.do(tc.method, tc.path); code != http.StatusUnauthorized {
				t.Errorf("%s %s with a wrong password = %d, want 401", tc.method, tc.path, code)
			}
			if tc.path == dashboard.EventsPath {
				s.user, s.pass = "admin", "s3cret"
				ctx, cancel := context.WithTimeout(context.Background(), waitBound)
				defer cancel()
				ev := s.events(ctx)
				ev.nextStatus()
				ev.close()
				return
			}
			s.user, s.pass = "admin", "s3cret"
			if code, _, _ := s.do(tc.method, tc.path); code == http.StatusUnauthorized {
				t.Errorf("%s %s with credentials = 401", tc.method, tc.path)
			}
		})
	}
}

func TestProgramsAreStartedStoppedAndRestartedByName(t *testing.T) {
	sup := supervisor.NewPlugin(supervisor.UseConf(supervisor.Config{Programs: []supervisor.Program{{
		Name: "sleeper", ExecutablePath: "sleep", ExecutableArgs: []string{"1000"}, StopTimeout: 2 * time.Second,
	}}}))
	s := startServer(t, rest.Config{}, processmanager.NewPlugin(), sup, dashboard.NewPlugin())
	path := func(name, action string) string { return "/ui/api/programs/" + name + "/" + action }

	first, _ := sup.Program("sleeper")
	if first.State != supervisor.ProgramStateRunning || first.Pid == 0 {
		t.Fatalf("sleeper = %+v, want running", first)
	}
	var st supervisor.ProgramStatus
	if code := s.json(http.MethodPost, path("sleeper", "restart"), &st); code != http.StatusOK {
		t.Fatalf("POST restart = %d %+v, want 200", code, st)
	}
	eventually(t, "sleeper running with a new pid", func() bool {
		st, _ = sup.Program("sleeper")
		return st.State == supervisor.ProgramStateRunning && st.Pid != 0 && st.Pid != first.Pid
	})

	var e map[string]string
	if code := s.json(http.MethodPost, path("sleeper", "start"), &e); code != http.StatusConflict || e["error"] == "" {
		t.Errorf("POST start while running = %d %v, want 409 with an error", code, e)
	}
	if code := s.json(http.MethodPost, path("sleeper", "stop"), &st); code != http.StatusOK {
		t.Errorf("POST stop = %d, want 200", code)
	}
	if proc := sup.GetProgramByName("sleeper"); proc.IsAlive() {
		t.Errorf("after POST stop: sleeper still runs")
	}
	if code := s.json(http.MethodPost, path("sleeper", "start"), &st); code != http.StatusOK {
		t.Errorf("POST start = %d, want 200", code)
	}
	if proc := sup.GetProgramByName("sleeper"); !proc.IsAlive() {
		t.Errorf("after POST start: sleeper does not run")
	}

	for _, tc := range []struct {
		name, path string
		want       int
	}{
		{"unknown program", path("nope", "restart"), http.StatusNotFound},
		{"unknown action", path("sleeper", "explode"), http.StatusBadRequest},
	} {
		clear(e)
		if code := s.json(http.MethodPost, tc.path, &e); code != tc.want || e["error"] == "" {
			t.Errorf("%s: POST %s = %d %v, want %d with an error", tc.name, tc.path, code, e, tc.want)
		}
	}
	if code, _, _ := s.do(http.MethodGet, path("sleeper", "restart")); code != http.StatusMethodNotAllowed {
		t.Errorf("GET %s = %d, want 405", path("sleeper", "restart"), code)
	}
}

// controlledSupervisor is a Supervisor that implements ProgramController.
type controlledSupervisor struct {
	infra.PluginName
	mu    sync.Mutex
	calls []string
}

func (c *controlledSupervisor) Init() error  { return nil }
func (c *controlledSupervisor) Close() error { return nil }
func (c *controlledSupervisor) Program(name string) (supervisor.ProgramStatus, bool) {
	return supervisor.ProgramStatus{Name: name, State: supervisor.ProgramStateRunning}, name == "vpp"
}
func (c *controlledSupervisor) GetProgramByName(string) *processmanager.Process { return nil }
func (c *controlledSupervisor) StartProgram(name string) error                  { return c.call("start " + name) }
func (c *controlledSupervisor) StopProgram(name string) error                   { return c.call("stop " + name) }
func (c *controlledSupervisor) RestartProgram(name string) error                { return c.call("restart " + name) }
func (c *controlledSupervisor) call(s string) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.calls = append(c.calls, s)
	return nil
}

func TestASupervisorWithProgramControlIsControlledThroughIt(t *testing.T) {
	sup := &controlledSupervisor{}
	sup.SetName("fake-supervisor")
	s := startServer(t, rest.Config{}, sup, dashboard.NewPlugin())
	for _, a := range []string{"start", "stop", "restart"} {
		var st supervisor.ProgramStatus
		if code := s.json(http.MethodPost, "/ui/api/programs/vpp/"+a, &st); code != http.StatusOK || st.Name != "vpp" {
			t.Errorf("POST /ui/api/programs/vpp/%s = %d %+v, want 200 and the status of vpp", a, code, st)
		}
	}
	sup.mu.Lock()
	defer sup.mu.Unlock()
	if got := strings.Join(sup.calls, ", "); got != "start vpp, stop vpp, restart vpp" {
		t.Errorf("calls = %q, want start, stop and restart of vpp", got)
	}
}

func TestLoggersPanelEndpointsListAndSetLevels(t *testing.T) {
	s := startServer(t, rest.Config{}, logmanager.NewPlugin(), newReporter("alpha"), dashboard.NewPlugin())
	var set logging.LoggerLevel
	// Test agents log at debug: set another level.
	if code := s.json(http.MethodPost, "/log/alpha/warning", &set); code != http.StatusOK || set.Level != logging.WarnLevel {
		t.Fatalf("POST /log/alpha/warning = %d %+v, want 200 warning", code, set)
	}
	var list []logging.LoggerLevel
	s.json(http.MethodGet, "/log/list", &list)
	for _, l := range list {
		if l.Logger == "alpha" {
			if l.Level != logging.WarnLevel {
				t.Errorf("GET /log/list: alpha at %v, want warning", l.Level)
			}
			return
		}
	}
	t.Errorf("GET /log/list = %v, want alpha in it", list)
}

func TestStatusKeysShowWhatTheStatusCheckPublished(t *testing.T) {
	srv := etcdtest.Start(t)
	sc := statuscheck.NewPlugin()
	s := startServer(t, rest.Config{},
		etcd.NewPlugin(etcd.UseConf(etcd.Config{Endpoints: srv.Endpoints()})),
		servicelabel.NewPlugin(), sc, newReporter("alpha"), dashboard.NewPlugin())

	var keys dashboard.StatusKeys
	find := func(key string) (dashboard.StatusKey, bool) {
		s.json(http.MethodGet, dashboard.StatusKeysPath, &keys)
		for _, k := range keys.Keys {
			if k.Key == key {
				return k, true
			}
		}
		return dashboard.StatusKey{}, false
	}
	eventually(t, "the status keys of the agent and of alpha", func() bool {
		_, agentOK := find("agent")
		_, alphaOK := find("plugin/alpha")
		return keys.Synced && agentOK && alphaOK
	})
	if keys.Prefix != "/vnf-agent/dash1/check/status/v1/" {
		t.Errorf("prefix = %q, want /vnf-agent/dash1/check/status/v1/", keys.Prefix)
	}
	before, _ := find("plugin/alpha")
	if before.Published == 0 || before.Rev == 0 {
		t.Errorf("plugin/alpha = %+v, want a publish time and a revision", before)
	}

	if err := sc.ReportStateChange("alpha", statuscheck.StateError, errors.New("broken")); err != nil {
		t.Fatal(err)
	}
	eventually(t, "plugin/alpha published as ERROR", func() bool {
		k, _ := find("plugin/alpha")
		return strings.Contains(string(k.Value), `"state":2`) && strings.Contains(string(k.Value), "broken") && k.Rev > before.Rev
	})
}

func TestStatusKeysAnswer404WithoutAStore(t *testing.T) {
	s := startServer(t, rest.Config{}, dashboard.NewPlugin())
	var e map[string]string
	if code := s.json(http.MethodGet, dashboard.StatusKeysPath, &e); code != http.StatusNotFound || e["error"] == "" {
		t.Errorf("GET %s = %d %v, want 404 with an error", dashboard.StatusKeysPath, code, e)
	}
}
