package main

import (
	"context"
	"slices"
	"testing"
	"time"

	clientv3 "go.etcd.io/etcd/client/v3"
	"go.uber.org/zap"

	"github.com/plinth-go/plinth/agent"
	"github.com/plinth-go/plinth/agent/agenttest"
	"github.com/plinth-go/plinth/infra/kvdb/etcd"
	"github.com/plinth-go/plinth/infra/kvdb/etcd/etcdtest"
)

func TestMain(m *testing.M) { etcdtest.VerifyTestMain(m) }

// waitFor polls cond: the example's plugins have no event for "seen".
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func TestMonitorSeesTheInterfacesOfAnotherPlugin(t *testing.T) {
	ifs, mon := NewInterfaces(), NewMonitor()
	agenttest.Start(t, agent.AllPlugins(ifs, mon, NewRouteCache(), etcd.NewPlugin()))
	ifs.Configure("eth0", &Interface{Type: "ethernet", Addrs: []string{"10.0.0.1/24"}})
	ifs.Remove("lo")
	want := []string{"create lo", "create eth0", "delete lo"}
	waitFor(t, "the monitor to see the changes", func() bool { return len(mon.Seen()) >= len(want) })
	if got := mon.Seen(); !slices.Equal(got, want) {
		t.Errorf("monitor saw %q, want %q", got, want)
	}
	if got := mon.Interfaces.Interfaces().ListNames(IndexAddr, "10.0.0.1/24"); !slices.Equal(got, []string{"eth0"}) {
		t.Errorf("lookup by address = %q, want [eth0]", got)
	}
}

func TestRouteCacheFollowsEtcd(t *testing.T) {
	srv := etcdtest.Start(t)
	cli, err := clientv3.New(clientv3.Config{Endpoints: srv.Endpoints(), Logger: zap.NewNop()})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cli.Close() })
	ctx, cancel := context.WithTimeout(t.Context(), 20*time.Second)
	defer cancel()
	cli.Put(ctx, RoutesPrefix+"default", `{"vrf":"red","next_hop":"10.0.0.1"}`)

	rc := NewRouteCache()
	agenttest.Start(t, agent.AllPlugins(NewInterfaces(), NewMonitor(), rc,
		etcd.NewPlugin(etcd.UseConf(etcd.Config{Endpoints: srv.Endpoints()}))))
	select {
	case <-rc.Synced():
	case <-ctx.Done():
		t.Fatal("route cache did not sync")
	}
	if got := rc.Routes().ListNames("vrf", "red"); !slices.Equal(got, []string{"default"}) {
		t.Errorf(`routes in vrf red = %q, want [default]`, got)
	}
	cli.Put(ctx, RoutesPrefix+"10.1.0.0_16", `{"vrf":"red","next_hop":"10.0.0.2"}`)
	waitFor(t, "the new route", func() bool { return len(rc.Routes().ListNames("vrf", "red")) == 2 })
}
