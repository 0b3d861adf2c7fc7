package main

import (
	"context"
	"fmt"
	"slices"
	"testing"
	"time"

	clientv3 "go.etcd.io/etcd/client/v3"
	"go.uber.org/zap"

	"github.com/plinth-go/plinth/agent"
	"github.com/plinth-go/plinth/agent/agenttest"
	"github.com/plinth-go/plinth/infra/kvdb/etcd"
	"github.com/plinth-go/plinth/infra/kvdb/etcd/etcdtest"
	"github.com/plinth-go/plinth/internal/testwait"
)

func TestMain(m *testing.M) { etcdtest.VerifyTestMain(m) }

func TestMonitorSeesTheInterfacesOfAnotherPlugin(t *testing.T) {
	ifs, mon := NewInterfaces(), NewMonitor()
	agenttest.Start(t, agent.AllPlugins(ifs, mon, NewRouteCache(), etcd.NewPlugin()))
	ifs.Configure("eth0", &Interface{Type: "ethernet", Addrs: []string{"10.0.0.1/24"}})
	ifs.Remove("lo")
	want := []string{"create lo", "create eth0", "delete lo"}
	// Polled: the example's plugins have no event for "seen".
	testwait.For(t, 20*time.Second, "the monitor to see the changes", func() (bool, string) {
		seen := mon.Seen()
		return len(seen) >= len(want), fmt.Sprintf("seen %q", seen)
	})
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
	testwait.For(t, 20*time.Second, "the new route", func() (bool, string) {
		red := rc.Routes().ListNames("vrf", "red")
		return len(red) == 2, fmt.Sprintf("routes in vrf red %q", red)
	})
}
