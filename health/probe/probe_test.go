package probe_test

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/plinth-go/plinth/agent"
	"github.com/plinth-go/plinth/agent/agenttest"
	"github.com/plinth-go/plinth/health/probe"
	"github.com/plinth-go/plinth/health/statuscheck"
	"github.com/plinth-go/plinth/infra/kvdb/etcd"
	"github.com/plinth-go/plinth/infra/rest"
	"github.com/plinth-go/plinth/servicelabel"
)

type report struct {
	name  string
	state statuscheck.PluginState
	err   error
}

// withHTTP adds the HTTP server, which reports itself OK once it serves, to
// an expected plugin list; names sort "a", "b", "http".
func withHTTP(body string) string {
	const http = `{"name":"http","state":1,"last_change":100,"last_update":100}`
	if strings.Contains(body, `"plugins":[]`) {
		return strings.Replace(body, `"plugins":[]`, `"plugins":[`+http+`]`, 1)
	}
	i := strings.Index(body, "}]") + 1 // the end of the plugin list
	return body[:i] + "," + http + body[i:]
}

func TestStatusCodesAndBodiesForEachState(t *testing.T) {
	tests := []struct {
		name     string
		nonFatal []string
		reports  []report
		live     int
		ready    int
		wantBody string
	}{
		{"no plugin", nil, nil, 200, 200,
			`{"state":1,"last_change":100,"last_update":100,"start_time":100,"build_version":"v1","plugins":[]}`},
		{"all ok", nil, []report{{"a", statuscheck.StateOK, nil}, {"b", statuscheck.StateOK, nil}}, 200, 200,
			`{"state":1,"last_change":100,"last_update":100,"start_time":100,"build_version":"v1","plugins":[` +
				`{"name":"a","state":1,"last_change":100,"last_update":100},{"name":"b","state":1,"last_change":100,"last_update":100}]}`},
		{"one init", nil, []report{{"a", statuscheck.StateOK, nil}, {"b", statuscheck.StateInit, nil}}, 200, 503,
			`{"state":0,"last_change":100,"last_update":100,"start_time":100,"build_version":"v1","plugins":[` +
				`{"name":"a","state":1,"last_change":100,"last_update":100},{"name":"b","state":0,"last_change":100,"last_update":100}]}`},
		{"one error", nil, []report{{"a", statuscheck.StateOK, nil}, {"b", statuscheck.StateError, errors.New("down")}}, 503, 503,
			`{"state":2,"last_change":100,"last_update":100,"start_time":100,"build_version":"v1","plugins":[` +
				`{"name":"a","state":1,"last_change":100,"last_update":100},{"name":"b","state":2,"last_change":100,"last_update":100,"error":"down"}]}`},
		{"error of a non-fatal plugin", []string{"b"}, []report{{"a", statuscheck.StateOK, nil}, {"b", statuscheck.StateError, errors.New("down")}}, 200, 200,
			`{"state":2,"last_change":100,"last_update":100,"start_time":100,"build_version":"v1","plugins":[` +
				`{"name":"a","state":1,"last_change":100,"last_update":100},{"name":"b","state":2,"last_change":100,"last_update":100,"error":"down"}],` +
				`"non_fatal_plugins":["b"]}`},
		{"init of a non-fatal plugin still holds readiness", []string{"b"}, []report{{"b", statuscheck.StateInit, nil}}, 200, 503,
			`{"state":0,"last_change":100,"last_update":100,"start_time":100,"build_version":"v1","plugins":[` +
				`{"name":"b","state":0,"last_change":100,"last_update":100}],"non_fatal_plugins":["b"]}`},
		{"a fatal error next to a non-fatal one", []string{"b"}, []report{{"a", statuscheck.StateError, nil}, {"b", statuscheck.StateError, nil}}, 503, 503,
			`{"state":2,"last_change":100,"last_update":100,"start_time":100,"build_version":"v1","plugins":[` +
				`{"name":"a","state":2,"last_change":100,"last_update":100},{"name":"b","state":2,"last_change":100,"last_update":100}],"non_fatal_plugins":["b"]}`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			clock := &fakeClock{t: time.Unix(100, 0)}
			s := startServer(t, []probe.Option{probe.WithNonFatalPlugins(tt.nonFatal...)},
				[]statuscheck.Option{statuscheck.WithClock(clock.Now), statuscheck.WithBuildInfo("v1", "", "")})
			for _, r := range tt.reports {
				if err := s.sc.ReportStateChange(r.name, r.state, r.err); err != nil {
					t.Fatal(err)
				}
			}
			for _, c := range []struct {
				path string
				want int
			}{{"/liveness", tt.live}, {"/readiness", tt.ready}} {
				code, body, h := s.get(t, c.path)
				if code != c.want {
					t.Errorf("GET %s = %d, want %d", c.path, code, c.want)
				}
				if want := withHTTP(tt.wantBody); body != want+"\n" {
					t.Errorf("GET %s body = %s\nwant %s", c.path, body, want)
				}
				if ct := h.Get("Content-Type"); ct != "application/json" {
					t.Errorf("GET %s Content-Type = %q", c.path, ct)
				}
				if cc := h.Get("Cache-Control"); cc != "no-store" {
					t.Errorf("GET %s Cache-Control = %q", c.path, cc)
				}
			}
		})
	}
}

func TestVerboseListsEveryPlugin(t *testing.T) {
	s := startServer(t, []probe.Option{probe.WithNonFatalPlugins("kafka")}, nil)
	_ = s.sc.ReportStateChange("etcd", statuscheck.StateOK, nil)
	_ = s.sc.ReportStateChange("GOVPP", statuscheck.StateError, errors.New("VPP\ndisconnected"))
	_ = s.sc.ReportStateChange("kafka", statuscheck.StateError, errors.New("broker down"))
	_ = s.sc.ReportStateChange("vpp", statuscheck.StateInit, nil)

	code, body, h := s.get(t, "/readiness?verbose")
	want := "agent ERROR\n" +
		"[-]GOVPP ERROR: VPP disconnected\n" +
		"[+]etcd OK\n" +
		"[+]http OK\n" +
		"[+]kafka ERROR (non-fatal): broker down\n" +
		"[-]vpp INIT\n" +
		"readiness check failed\n"
	if code != 503 || body != want {
		t.Errorf("GET /readiness?verbose = %d\n%s\nwant 503\n%s", code, body, want)
	}
	if ct := h.Get("Content-Type"); ct != "text/plain; charset=utf-8" {
		t.Errorf("Content-Type = %q", ct)
	}

	_ = s.sc.ReportStateChange("GOVPP", statuscheck.StateOK, nil)
	code, body, _ = s.get(t, "/liveness?verbose")
	want = "agent ERROR\n" + // the real state; the check ignores the non-fatal plugin
		"[+]GOVPP OK\n" +
		"[+]etcd OK\n" +
		"[+]http OK\n" +
		"[+]kafka ERROR (non-fatal): broker down\n" +
		"[+]vpp INIT\n" +
		"liveness check passed\n"
	if code != 200 || body != want {
		t.Errorf("GET /liveness?verbose = %d\n%s\nwant 200\n%s", code, body, want)
	}
}

func TestMetricsExportTheStatus(t *testing.T) {
	s := startServer(t, nil, []statuscheck.Option{statuscheck.WithBuildInfo("v1.2.3", "2026-01-01", "abc")})
	_ = s.sc.ReportStateChange("a", statuscheck.StateOK, nil)
	_ = s.sc.ReportStateChange("b", statuscheck.StateError, errors.New("x"))
	code, body, _ := s.get(t, "/metrics")
	if code != 200 {
		t.Fatalf("GET /metrics = %d", code)
	}
	for _, want := range []string{
		"plinth_agent_state 2\n",
		"plinth_agent_ready 0\n",
		`plinth_plugin_state{plugin="a"} 1` + "\n",
		`plinth_plugin_state{plugin="b"} 2` + "\n",
		`plinth_agent_build_info{build_date="2026-01-01",commit="abc",version="v1.2.3"} 1` + "\n",
		"plinth_statuscheck_publishes_total 0\n",
		"plinth_statuscheck_publish_failures_total 0\n",
		"go_goroutines ",
		"process_cpu_seconds_total ",
	} {
		if !strings.Contains(body, want) {
			t.Errorf("GET /metrics lacks %q", want)
		}
	}
	// A plugin registered later appears at the next scrape.
	_ = s.sc.ReportStateChange("c", statuscheck.StateInit, nil)
	if _, body, _ := s.get(t, "/metrics"); !strings.Contains(body, `plinth_plugin_state{plugin="c"} 0`) {
		t.Error("plugin registered after start not exported")
	}
}

func TestMetricsCanBeDisabled(t *testing.T) {
	s := startServer(t, []probe.Option{probe.UseConf(probe.Config{DisableMetrics: true})}, nil)
	if code, _, _ := s.get(t, "/metrics"); code != 404 {
		t.Errorf("GET /metrics = %d, want 404", code)
	}
}

func TestReadinessStaysFastWhileEtcdIsDown(t *testing.T) {
	e := startEtcd(t)
	kv := etcd.NewPlugin(etcd.UseConf(etcd.Config{Endpoints: e.ep, DialTimeout: time.Second}))
	s := startServer(t, nil, nil, kv, servicelabel.NewPlugin())
	for i := range 50 {
		_ = s.sc.ReportStateChange("p"+string(rune('a'+i%26))+string(rune('a'+i/26)), statuscheck.StateOK, nil)
	}
	e.Stop()
	// Keep changing the status so the publisher keeps trying to write.
	deadline := time.Now().Add(20 * time.Second)
	sawEtcdDown := false
	for i := 0; ; i++ {
		_ = s.sc.ReportStateChange("flapping", statuscheck.PluginState(1+i%2), nil)
		for _, path := range []string{"/liveness", "/readiness"} {
			start := time.Now()
			code, body, _ := s.get(t, path)
			if d := time.Since(start); d > time.Second {
				t.Fatalf("GET %s took %v with etcd down", path, d)
			}
			if code != 200 && code != 503 {
				t.Fatalf("GET %s = %d", path, code)
			}
			if strings.Contains(body, `{"name":"etcd","state":2`) {
				sawEtcdDown = true
			}
		}
		if sawEtcdDown && i >= 20 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the probes never showed etcd in ERROR")
		}
	}
	_ = s.sc.ReportStateChange("flapping", statuscheck.StateOK, nil)
	if code, _, _ := s.get(t, "/readiness"); code != 503 {
		t.Errorf("GET /readiness = %d with etcd down, want 503", code)
	}
	// etcd is an external dependency: restarting the agent would not bring
	// it back, so liveness stays up.
	if code, body, _ := s.get(t, "/liveness"); code != 200 {
		t.Errorf("GET /liveness = %d with etcd down, want 200\n%s", code, body)
	}
	code, body, _ := s.get(t, "/liveness?verbose")
	if code != 200 || !strings.Contains(body, "[+]etcd ERROR (dependency: readiness only): ") || !strings.HasSuffix(body, "liveness check passed\n") {
		t.Errorf("GET /liveness?verbose = %d\n%s\nwant 200 with etcd passing as a dependency", code, body)
	}
	code, body, _ = s.get(t, "/readiness?verbose")
	if code != 503 || !strings.Contains(body, "[-]etcd ERROR (dependency: readiness only): ") || !strings.HasSuffix(body, "readiness check failed\n") {
		t.Errorf("GET /readiness?verbose = %d\n%s\nwant 503 with etcd failing", code, body)
	}
}

func TestLivenessIncludesDependenciesRestoresTheOldBehaviour(t *testing.T) {
	e := startEtcd(t)
	kv := etcd.NewPlugin(etcd.UseConf(etcd.Config{Endpoints: e.ep, DialTimeout: time.Second}))
	s := startServer(t, []probe.Option{probe.UseConf(probe.Config{LivenessIncludesDependencies: true})}, nil, kv, servicelabel.NewPlugin())
	e.Stop()
	deadline := time.Now().Add(30 * time.Second)
	for {
		code, body, _ := s.get(t, "/liveness?verbose")
		if code == 503 {
			if !strings.Contains(body, "[-]etcd ERROR: ") {
				t.Errorf("GET /liveness?verbose = 503\n%s\nwant etcd failing liveness", body)
			}
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("GET /liveness = %d 30 s after etcd stopped, want 503 with liveness-includes-dependencies\n%s", code, body)
		}
		time.Sleep(50 * time.Millisecond)
	}
	if code, _, _ := s.get(t, "/readiness"); code != 503 {
		t.Errorf("GET /readiness = %d with etcd down, want 503", code)
	}
}

func TestAPluginErrorThatIsNoDependencyFailsBothProbes(t *testing.T) {
	s := startServer(t, nil, nil)
	if err := s.sc.RegisterDependency("db", nil); err != nil {
		t.Fatal(err)
	}
	_ = s.sc.ReportStateChange("db", statuscheck.StateError, errors.New("unreachable"))
	if code, _, _ := s.get(t, "/liveness"); code != 200 {
		t.Errorf("GET /liveness = %d with only a dependency in ERROR, want 200", code)
	}
	_ = s.sc.ReportStateChange("worker", statuscheck.StateError, errors.New("deadlocked"))
	for _, path := range []string{"/liveness", "/readiness"} {
		if code, _, _ := s.get(t, path); code != 503 {
			t.Errorf("GET %s = %d with a plugin of its own in ERROR, want 503", path, code)
		}
	}
}

func TestProbeNeedsTheStatusCheckAndHTTP(t *testing.T) {
	a := agenttest.New(t, agent.AllPlugins(probe.NewPlugin(), rest.NewPlugin(rest.UseConf(rest.Config{Endpoint: "127.0.0.1:0"})), statuscheck.NewPlugin()))
	if len(a.Order()) != 3 || a.Order()[2] != "probe" {
		t.Errorf("start order = %v, want the probe last", a.Order())
	}
}
