package dashboard_test

import (
	"context"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	clientv3 "go.etcd.io/etcd/client/v3"

	"github.com/plinth-go/plinth/agent"
	"github.com/plinth-go/plinth/agent/agenttest"
	"github.com/plinth-go/plinth/dashboard"
	"github.com/plinth-go/plinth/health/statuscheck"
	"github.com/plinth-go/plinth/health/statuscheck/model"
	"github.com/plinth-go/plinth/infra/kvdb"
	"github.com/plinth-go/plinth/infra/kvdb/etcd"
	"github.com/plinth-go/plinth/infra/kvdb/etcd/etcdtest"
	"github.com/plinth-go/plinth/infra/rest"
	"github.com/plinth-go/plinth/servicelabel"
)

// agentStatusJSON is an agent status as the status check publishes it.
func agentStatusJSON(t testing.TB, state model.OperationalState, version string, plugins ...*model.PluginStatus) string {
	t.Helper()
	st := &model.AgentStatus{
		State: state, LastChange: 1780000000, LastUpdate: 1780000100, StartTime: 1779990000,
		BuildVersion: version, Plugins: plugins,
	}
	b, err := st.MarshalJSON()
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func pluginStatus(name string, state model.OperationalState, errText string) *model.PluginStatus {
	return &model.PluginStatus{Name: name, State: state, LastChange: 1780000050, LastUpdate: 1780000100, Error: errText}
}

// agentKey is the status key of the agent labelled label.
func agentKey(label string) string {
	return servicelabel.AllAgentsPrefix + label + "/" + model.AgentStatusKey()
}

// watchCounter is the agent's store, counting the watches started on it.
// It is no plugin: the agent sees only the store it wraps.
type watchCounter struct {
	kvdb.Store
	mu      sync.Mutex
	watches []string // full prefixes
}

func (w *watchCounter) NewWatcher(prefix string) kvdb.Watcher {
	inner := w.Store.NewWatcher(prefix)
	return kvdb.WatchFunc(func(ctx context.Context, p string, fn func(context.Context, kvdb.Event) error) (kvdb.Watch, error) {
		w.mu.Lock()
		w.watches = append(w.watches, prefix+p)
		w.mu.Unlock()
		return inner.Watch(ctx, p, fn)
	})
}

func (w *watchCounter) count(prefix string) int {
	w.mu.Lock()
	defer w.mu.Unlock()
	n := 0
	for _, p := range w.watches {
		if p == prefix {
			n++
		}
	}
	return n
}

// testClock is a clock that tests set.
type testClock struct{ now atomic.Int64 } // Unix nanoseconds

func newTestClock(t time.Time) *testClock {
	c := &testClock{}
	c.set(t)
	return c
}
func (c *testClock) set(t time.Time)     { c.now.Store(t.UnixNano()) }
func (c *testClock) Now() time.Time      { return time.Unix(0, c.now.Load()) }
func (c *testClock) add(d time.Duration) { c.now.Add(int64(d)) }

func (s *server) fleet() dashboard.Fleet {
	s.t.Helper()
	var f dashboard.Fleet
	if code := s.json(http.MethodGet, dashboard.FleetAPIPath, &f); code != http.StatusOK {
		s.t.Fatalf("GET %s = %d", dashboard.FleetAPIPath, code)
	}
	return f
}

func fleetAgent(f dashboard.Fleet, label string) (dashboard.FleetAgent, bool) {
	for _, a := range f.Agents {
		if a.Label == label {
			return a, true
		}
	}
	return dashboard.FleetAgent{}, false
}

func TestFleetListsEveryAgentFromOneWatchOfTheAgentsPrefix(t *testing.T) {
	srv := etcdtest.Start(t)
	cli := etcdtest.Client(t, srv.Endpoints()...)
	// Written before the dashboard starts: the first resync finds them.
	etcdtest.Put(t, cli, agentKey("edge-1"), agentStatusJSON(t, model.OperationalState_OK, "v1.4.0",
		pluginStatus("etcd", model.OperationalState_OK, "")))
	etcdtest.Put(t, cli, agentKey("edge-2"), agentStatusJSON(t, model.OperationalState_ERROR, "v1.3.9",
		pluginStatus("govpp", model.OperationalState_ERROR, "VPP disconnected"),
		pluginStatus("etcd", model.OperationalState_OK, ""),
		pluginStatus("acl", model.OperationalState_ERROR, "")))
	// Keys under the prefix that are not agent statuses.
	etcdtest.Put(t, cli, "/vnf-agent/edge-2/check/status/v1/plugin/govpp", `{"state":2,"last_change":1,"last_update":1,"error":"VPP disconnected"}`)
	etcdtest.Put(t, cli, "/vnf-agent/edge-1/config/routes/r1", `{"vrf":"red"}`)

	clock := newTestClock(time.Unix(1780000500, 0))
	kv := etcd.NewPlugin(etcd.UseConf(etcd.Config{Endpoints: srv.Endpoints()}))
	store := &watchCounter{Store: kv}
	d := dashboard.NewPlugin(dashboard.UseConf(dashboard.Config{Fleet: true}), dashboard.WithClock(clock.Now))
	d.KV = store
	s := startServer(t, rest.Config{}, kv, servicelabel.NewPlugin(), statuscheck.NewPlugin(), d)

	// Written while it runs: the watch delivers them.
	etcdtest.Put(t, cli, agentKey("edge-3"), agentStatusJSON(t, model.OperationalState_INIT, "v1.4.0"))
	etcdtest.Put(t, cli, agentKey("broken"), "not a status")
	ctx, cancel := context.WithTimeout(context.Background(), waitBound)
	defer cancel()
	lease, err := cli.Grant(ctx, 3)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := cli.Put(ctx, agentKey("dying"), agentStatusJSON(t, model.OperationalState_OK, "v1.2.0"), clientv3.WithLease(lease.ID)); err != nil {
		t.Fatal(err)
	}

	var f dashboard.Fleet
	want := []string{"broken", "dash1", "dying", "edge-1", "edge-2", "edge-3"}
	eventually(t, "every agent listed", func() bool {
		f = s.fleet()
		var labels []string
		for _, a := range f.Agents {
			labels = append(labels, a.Label)
		}
		return f.Synced && slices.Equal(labels, want)
	})
	if f.Prefix != "/vnf-agent/" {
		t.Errorf("prefix = %q, want /vnf-agent/", f.Prefix)
	}
	e2, _ := fleetAgent(f, "edge-2")
	if e2.State != "ERROR" || e2.Version != "v1.3.9" || e2.Plugins != 3 || e2.LastChange != 1780000000 {
		t.Errorf("edge-2 = %+v, want ERROR v1.3.9 with 3 plugins, changed at 1780000000", e2)
	}
	wantErrs := []dashboard.FleetError{{Plugin: "acl", Since: 1780000050}, {Plugin: "govpp", Error: "VPP disconnected", Since: 1780000050}}
	if !slices.Equal(e2.Errors, wantErrs) {
		t.Errorf("edge-2 errors = %+v, want %+v", e2.Errors, wantErrs)
	}
	if b, _ := fleetAgent(f, "broken"); b.State != "ERROR" || !strings.Contains(b.Problem, "unreadable status") {
		t.Errorf("broken = %+v, want ERROR with the problem", b)
	}
	if e3, _ := fleetAgent(f, "edge-3"); e3.State != "INIT" || len(e3.Errors) != 0 {
		t.Errorf("edge-3 = %+v, want INIT without errors", e3)
	}
	var counted dashboard.FleetCounts
	for _, a := range f.Agents {
		switch a.State {
		case "OK":
			counted.OK++
		case "INIT":
			counted.Init++
		case "ERROR":
			counted.Error++
		case dashboard.FleetStateGone:
			counted.Gone++
		}
	}
	if f.Counts != counted || f.Counts.Error < 2 || f.Counts.Init < 1 {
		t.Errorf("counts = %+v, want %+v (the states listed)", f.Counts, counted)
	}

	// The agent dies: its lease expires and its key with it. It stays
	// listed as gone, with when the dashboard saw it go.
	goneAt := time.Unix(1780000600, 0)
	clock.set(goneAt)
	eventually(t, "dying gone", func() bool {
		f = s.fleet()
		a, ok := fleetAgent(f, "dying")
		return ok && a.State == dashboard.FleetStateGone
	})
	if a, _ := fleetAgent(f, "dying"); a.Gone != goneAt.Unix() || a.Version != "v1.2.0" || f.Counts.Gone != 1 {
		t.Errorf("dying = %+v, counts %+v: want gone at %d, its version kept, one gone", a, f.Counts, goneAt.Unix())
	}

	// One watch covers every agent; the own status keys have theirs.
	if n := store.count("/vnf-agent/"); n != 1 {
		t.Errorf("watches of /vnf-agent/ = %d, want 1 (%v)", n, store.watches)
	}

	// An unchanged fleet answers 304 to a page that has it. The agent of
	// the test publishes as it starts: retry until the fleet holds still.
	eventually(t, "304 for an unchanged fleet", func() bool {
		_, h, _ := s.do(http.MethodGet, dashboard.FleetAPIPath)
		etag := h.Get("ETag")
		return etag != "" && s.conditional(etag) == http.StatusNotModified
	})

	// An hour after it went, a gone agent is forgotten.
	clock.add(dashboard.DefaultFleetKeepGone + time.Second)
	f = s.fleet()
	if _, ok := fleetAgent(f, "dying"); ok || f.Counts.Gone != 0 {
		t.Errorf("after %v: dying still listed (counts %+v)", dashboard.DefaultFleetKeepGone, f.Counts)
	}
}

// conditional does a GET of the fleet with If-None-Match and returns the
// status code.
func (s *server) conditional(etag string) int {
	s.t.Helper()
	req, _ := http.NewRequest(http.MethodGet, s.base+dashboard.FleetAPIPath, nil)
	req.Header.Set("If-None-Match", etag)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		s.t.Fatal(err)
	}
	resp.Body.Close()
	return resp.StatusCode
}

func TestFleetPageIsOffUntilTheConfigTurnsItOn(t *testing.T) {
	t.Run("off by default: 404 saying how to turn it on", func(t *testing.T) {
		s := startServer(t, rest.Config{}, dashboard.NewPlugin())
		for _, path := range []string{dashboard.FleetPath, dashboard.FleetPath + ".html", dashboard.FleetAPIPath} {
			code, _, body := s.do(http.MethodGet, path)
			if code != http.StatusNotFound {
				t.Errorf("GET %s = %d, want 404", path, code)
			}
			for _, want := range []string{`fleet: true`, "dashboard.conf", "-dashboard-config", "DASHBOARD_CONFIG"} {
				if !strings.Contains(string(body), want) {
					t.Errorf("GET %s: %q lacks %q", path, body, want)
				}
			}
		}
		var p dashboard.Panels
		if s.json(http.MethodGet, dashboard.PanelsPath, &p); p.Fleet {
			t.Errorf("panels.fleet = true without the config")
		}
	})

	t.Run("dashboard.conf with fleet: true serves the page", func(t *testing.T) {
		srv := etcdtest.Start(t)
		path := filepath.Join(t.TempDir(), "dashboard.conf")
		if err := os.WriteFile(path, []byte("fleet: true\nfleet-keep-gone: 10m\n"), 0o644); err != nil {
			t.Fatal(err)
		}
		s := startServerWith(t, setup{env: map[string]string{"DASHBOARD_CONFIG": path}},
			etcd.NewPlugin(etcd.UseConf(etcd.Config{Endpoints: srv.Endpoints()})), dashboard.NewPlugin())
		code, h, body := s.do(http.MethodGet, dashboard.FleetPath)
		if code != http.StatusOK || !strings.HasPrefix(h.Get("Content-Type"), "text/html") || !strings.Contains(string(body), `src="fleet.js"`) {
			t.Errorf("GET %s = %d %q, want 200 and the page", dashboard.FleetPath, code, h.Get("Content-Type"))
		}
		if csp := h.Get("Content-Security-Policy"); !strings.Contains(csp, "default-src 'self'") {
			t.Errorf("GET %s: Content-Security-Policy %q, want default-src 'self'", dashboard.FleetPath, csp)
		}
		eventually(t, "the fleet synced", func() bool { return s.fleet().Synced })
	})

	t.Run("fleet: true without a store: the data answers 503 saying why", func(t *testing.T) {
		s := startServer(t, rest.Config{}, dashboard.NewPlugin(dashboard.UseConf(dashboard.Config{Fleet: true})))
		if code, _, _ := s.do(http.MethodGet, dashboard.FleetPath); code != http.StatusOK {
			t.Errorf("GET %s = %d, want 200", dashboard.FleetPath, code)
		}
		var e map[string]string
		if code := s.json(http.MethodGet, dashboard.FleetAPIPath, &e); code != http.StatusServiceUnavailable || !strings.Contains(e["error"], "no key-value store") {
			t.Errorf("GET %s = %d %v, want 503 naming the missing store", dashboard.FleetAPIPath, code, e)
		}
	})

	for _, tc := range []struct{ name, content, want string }{
		{"an unknown key fails the start", "fleets: true\n", "fleets"},
		{"a bad value fails the start", "fleet: often\n", "fleet"},
		{"a negative keep-gone fails the start", "fleet: true\nfleet-keep-gone: -1m\n", "fleet-keep-gone"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "dashboard.conf")
			if err := os.WriteFile(path, []byte(tc.content), 0o644); err != nil {
				t.Fatal(err)
			}
			h := rest.NewPlugin(rest.UseConf(rest.Config{Endpoint: "127.0.0.1:0"}))
			a := agenttest.New(t, agent.AllPlugins(h, dashboard.NewPlugin()),
				agenttest.Env(map[string]string{"DASHBOARD_CONFIG": path}))
			err := a.Start()
			if err == nil {
				a.Stop()
				t.Fatalf("Start with %q succeeded, want an error", tc.content)
			}
			if !strings.Contains(err.Error(), tc.want) || !strings.Contains(err.Error(), path) {
				t.Errorf("Start: %v, want an error naming %s and %q", err, path, tc.want)
			}
		})
	}
}
