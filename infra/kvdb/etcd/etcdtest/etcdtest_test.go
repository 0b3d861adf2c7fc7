package etcdtest_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/plinth-go/plinth/infra/kvdb/etcd/etcdtest"
	"github.com/plinth-go/plinth/internal/testwait"
)

func TestStartServesInProcess(t *testing.T) {
	s := etcdtest.Start(t)
	cli := etcdtest.Client(t, s.Endpoints()...)
	etcdtest.Put(t, cli, "/k", "v")
	if got := etcdtest.Get(t, cli, "/k"); got != "v" {
		t.Errorf("Get(/k) = %q, want v", got)
	}
}

func TestProcessSurvivesKillAndRestartWithData(t *testing.T) {
	begin := time.Now()
	p := etcdtest.StartProcess(t)
	t.Logf("build and start in %v", time.Since(begin))
	cli := etcdtest.Client(t, p.Endpoints()...)
	etcdtest.Put(t, cli, "/durable", "1")

	p.Kill()
	if p.Running() {
		t.Fatal("Running() = true after Kill")
	}
	ctx, cancel := context.WithTimeout(t.Context(), 300*time.Millisecond)
	_, err := cli.Get(ctx, "/durable")
	cancel()
	if err == nil {
		t.Fatal("Get succeeded while the member was killed")
	}

	begin = time.Now()
	p.Restart()
	t.Logf("restart ready in %v", time.Since(begin))
	if got := etcdtest.Get(t, cli, "/durable"); got != "1" {
		t.Errorf("after kill -9 and restart Get(/durable) = %q, want 1", got)
	}
	t.Logf("first get after restart done %v after Restart began", time.Since(begin))

	p.Stop()
	if p.Running() {
		t.Error("Running() = true after Stop")
	}
}

func TestClusterServesWithOneMemberKilled(t *testing.T) {
	begin := time.Now()
	c := etcdtest.StartCluster(t, 3)
	t.Logf("3 processes ready in %v", time.Since(begin))
	if c.Size() != 3 || len(c.Endpoints()) != 3 {
		t.Fatalf("Size() = %d, Endpoints() = %v; want 3 members", c.Size(), c.Endpoints())
	}
	cli := etcdtest.Client(t, c.Endpoints()...)
	etcdtest.Put(t, cli, "/a", "1")

	c.Member(0).Kill()
	// If member 0 led the cluster, requests fail until a new leader is
	// elected (about one election timeout); etcd reports that as an error
	// rather than waiting, so retry for a while.
	testwait.For(t, 15*time.Second, "Put(/b) with member 0 killed", func() (bool, string) {
		ctx, cancel := context.WithTimeout(t.Context(), 5*time.Second)
		defer cancel()
		_, err := cli.Put(ctx, "/b", "2")
		return err == nil, fmt.Sprint(err)
	})
	if got := etcdtest.Get(t, cli, "/a"); got != "1" {
		t.Errorf("Get(/a) with member 0 down = %q, want 1", got)
	}

	c.Member(0).Restart()
	only0 := etcdtest.Client(t, c.Member(0).Endpoints()...)
	if got := etcdtest.Get(t, only0, "/b"); got != "2" {
		t.Errorf("restarted member 0: Get(/b) = %q, want 2 (written while it was down)", got)
	}
}
