package main

import (
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/plinth-go/plinth/agent"
	"github.com/plinth-go/plinth/agent/agenttest"
	"github.com/plinth-go/plinth/health/statuscheck"
	"github.com/plinth-go/plinth/health/statuscheck/model"
	"github.com/plinth-go/plinth/infra/kvdb/etcd"
	"github.com/plinth-go/plinth/infra/kvdb/etcd/embedded"
	"github.com/plinth-go/plinth/infra/kvdb/etcd/etcdtest"
	"github.com/plinth-go/plinth/infra/rest"
	"github.com/plinth-go/plinth/internal/testwait"
	"github.com/plinth-go/plinth/servicelabel"
)

// getRoutes fetches GET /routes (with query, if any) and decodes it.
func getRoutes(t *testing.T, base, query string) routeList {
	t.Helper()
	code, body := get(t, base+routesPath+query)
	if code != http.StatusOK {
		t.Fatalf("GET %s%s = %d %s, want 200", routesPath, query, code, body)
	}
	var l routeList
	if err := json.Unmarshal(body, &l); err != nil {
		t.Fatalf("GET %s%s: body %s: %v", routesPath, query, body, err)
	}
	return l
}

// waitRoutes polls GET /routes until cond holds; the cache follows etcd in
// the background.
func waitRoutes(t *testing.T, base, what string, cond func(routeList) bool) routeList {
	t.Helper()
	var l routeList
	testwait.For(t, 30*time.Second, what, func() (bool, string) {
		l = getRoutes(t, base, "")
		return cond(l), fmt.Sprintf("GET %s = %+v", routesPath, l)
	})
	return l
}

// pluginState returns the state of plugin in the body of /readiness, and
// whether it is there.
func pluginState(t *testing.T, base, plugin string) (model.OperationalState, bool) {
	t.Helper()
	_, body := get(t, base+"/readiness")
	var st model.AgentStatus
	if err := json.Unmarshal(body, &st); err != nil {
		t.Fatalf("/readiness body %s: %v", body, err)
	}
	for _, p := range st.GetPlugins() {
		if p.GetName() == plugin {
			return p.GetState(), true
		}
	}
	return 0, false
}

func TestRoutesServesTheRoutesOfEtcdSortedAndByVRF(t *testing.T) {
	srv := etcdtest.Start(t)
	cli := etcdtest.Client(t, srv.Endpoints()...)
	prefix := "/vnf-agent/vpp1/" + routesKeyPrefix
	// Before the agent starts: the first sync must find these.
	etcdtest.Put(t, cli, prefix+"b", `{"vrf":"red","next_hop":"10.0.0.2"}`)
	etcdtest.Put(t, cli, prefix+"a", `{"vrf":"blue","next_hop":"10.0.0.1","name":"ignored"}`)
	etcdtest.Put(t, cli, prefix+"broken", `not json`)
	etcdtest.Put(t, cli, "/vnf-agent/vpp1/config/other", `{"vrf":"red"}`)

	d := newDemo()
	agenttest.Start(t, agent.AllPlugins(d), agent.Args("-http-port=0", "-config-dir", t.TempDir()),
		agenttest.Env(map[string]string{"ETCD_ENDPOINTS": srv.Endpoints()[0]}))
	base := "http://" + d.HTTP.Addr().String()

	l := waitRoutes(t, base, "first sync", func(l routeList) bool { return l.Synced })
	want := []*route{{Name: "a", VRF: "blue", NextHop: "10.0.0.1"}, {Name: "b", VRF: "red", NextHop: "10.0.0.2"}}
	if l.Prefix != prefix || l.Skipped != 1 || l.Resyncs != 1 || l.Rev == 0 || !reflect.DeepEqual(l.Routes, want) {
		t.Errorf("GET /routes = %+v with routes %v, want prefix %s, 1 skipped (broken), 1 resync, routes %v",
			l, l.Routes, prefix, want)
	}
	if state, ok := pluginState(t, base, "routes"); !ok || state != model.OperationalState_OK {
		t.Errorf("/readiness: routes in state %v (listed: %v), want OK", state, ok)
	}

	// Changes after the sync, and the index.
	etcdtest.Put(t, cli, prefix+"c", `{"vrf":"red","next_hop":"10.0.0.3"}`)
	etcdtest.Put(t, cli, prefix+"a", `{"vrf":"red","next_hop":"10.0.0.9"}`)
	if _, err := cli.Delete(t.Context(), prefix+"b"); err != nil {
		t.Fatal(err)
	}
	want = []*route{{Name: "a", VRF: "red", NextHop: "10.0.0.9"}, {Name: "c", VRF: "red", NextHop: "10.0.0.3"}}
	waitRoutes(t, base, "the changes", func(l routeList) bool { return reflect.DeepEqual(l.Routes, want) })
	for _, tc := range []struct {
		name, query string
		want        []*route
	}{
		{"vrf with routes", "?vrf=red", want},
		{"vrf without routes", "?vrf=blue", []*route{}},
		{"routes without vrf", "?vrf=", []*route{}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := getRoutes(t, base, tc.query).Routes; !reflect.DeepEqual(got, tc.want) {
				t.Errorf("GET /routes%s: routes %v, want %v", tc.query, got, tc.want)
			}
		})
	}
	code, body := get(t, base+routesPath)
	if code != http.StatusOK || !strings.Contains(string(body), `"routes":[{"name":"a","vrf":"red","next_hop":"10.0.0.9"}`) {
		t.Errorf("GET /routes = %d %s, want the routes in snake_case JSON", code, body)
	}
}

func TestRoutesStartWithEtcdDownAndSyncWhenItComes(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()

	d := newDemo()
	agenttest.Start(t, agent.AllPlugins(d), agent.Args("-http-port=0", "-config-dir", t.TempDir()),
		agenttest.Env(map[string]string{"ETCD_ENDPOINTS": addr}))
	base := "http://" + d.HTTP.Addr().String()

	// Served at once, empty and not synced; the routes keep the agent not
	// ready (INIT) until they are known.
	start := time.Now()
	if l := getRoutes(t, base, ""); l.Synced || len(l.Routes) != 0 {
		t.Errorf("GET /routes with etcd down = %+v, want not synced and no routes", l)
	}
	if took := time.Since(start); took > 5*time.Second {
		t.Errorf("GET /routes with etcd down took %v: it must not wait on etcd", took)
	}
	if state, ok := pluginState(t, base, "routes"); !ok || state != model.OperationalState_INIT {
		t.Errorf("/readiness with etcd down: routes in state %v (listed: %v), want INIT", state, ok)
	}

	srv, err := embedded.Start(t.Context(), embedded.Config{
		Name: "late", DataDir: t.TempDir(), ClientAddr: addr, PeerAddr: "127.0.0.1:0", UnsafeNoFsync: true,
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { srv.Close() })
	cli := etcdtest.Client(t, srv.Endpoints()...)
	etcdtest.Put(t, cli, "/vnf-agent/vpp1/"+routesKeyPrefix+"late", `{"vrf":"red","next_hop":"10.0.0.1"}`)
	waitRoutes(t, base, "the route written once etcd is up", func(l routeList) bool {
		return l.Synced && len(l.Routes) == 1 && l.Routes[0].Name == "late"
	})
	waitReady(t, base)
}

func TestRoutesWithEtcdDisabledCacheNothingAndKeepTheAgentReady(t *testing.T) {
	sc, web := statuscheck.NewPlugin(), rest.NewPlugin()
	agenttest.Start(t, agent.AllPlugins(newRoutes(), etcd.NewPlugin(), servicelabel.NewPlugin(), sc, web),
		agent.Args("-http-port=0", "-config-dir", t.TempDir()))
	code, body := get(t, "http://"+web.Addr().String()+routesPath)
	if code != http.StatusServiceUnavailable || !strings.Contains(string(body), "etcd is disabled") {
		t.Errorf("GET /routes = %d %s, want 503 saying etcd is disabled", code, body)
	}
	st := sc.GetAgentStatus()
	if st.GetState() != model.OperationalState_OK {
		t.Errorf("agent status = %v, want OK", st)
	}
	for _, p := range st.GetPlugins() {
		if p.GetName() == "routes" {
			t.Errorf("agent status lists routes (%v): nothing is cached, nothing to report", p)
		}
	}
}
