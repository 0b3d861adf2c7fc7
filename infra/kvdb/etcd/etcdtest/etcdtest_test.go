package etcdtest_test

import (
	"context"
	"testing"
	"time"

	clientv3 "go.etcd.io/etcd/client/v3"
	"go.uber.org/zap"
	"google.golang.org/grpc"
	"google.golang.org/grpc/backoff"

	"github.com/plinth-go/plinth/infra/kvdb/etcd/etcdtest"
)

// newClient returns a client that reconnects within half a second of a
// restart, closed before the servers of the test.
func newClient(t *testing.T, endpoints []string) *clientv3.Client {
	t.Helper()
	bc := backoff.DefaultConfig
	bc.MaxDelay = 500 * time.Millisecond
	cli, err := clientv3.New(clientv3.Config{
		Endpoints:   endpoints,
		DialTimeout: 2 * time.Second,
		Logger:      zap.NewNop(),
		DialOptions: []grpc.DialOption{grpc.WithConnectParams(grpc.ConnectParams{Backoff: bc, MinConnectTimeout: time.Second})},
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cli.Close() })
	return cli
}

func put(t *testing.T, cli *clientv3.Client, key, value string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
	defer cancel()
	if _, err := cli.Put(ctx, key, value); err != nil {
		t.Fatalf("Put(%q): %v", key, err)
	}
}

func get(t *testing.T, cli *clientv3.Client, key string) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
	defer cancel()
	resp, err := cli.Get(ctx, key)
	if err != nil {
		t.Fatalf("Get(%q): %v", key, err)
	}
	if len(resp.Kvs) == 0 {
		return "<missing>"
	}
	return string(resp.Kvs[0].Value)
}

func TestStartServesInProcess(t *testing.T) {
	s := etcdtest.Start(t)
	cli := newClient(t, s.Endpoints())
	put(t, cli, "/k", "v")
	if got := get(t, cli, "/k"); got != "v" {
		t.Errorf("Get(/k) = %q, want v", got)
	}
}

func TestProcessSurvivesKillAndRestartWithData(t *testing.T) {
	begin := time.Now()
	p := etcdtest.StartProcess(t)
	t.Logf("build and start in %v", time.Since(begin))
	cli := newClient(t, p.Endpoints())
	put(t, cli, "/durable", "1")

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
	if got := get(t, cli, "/durable"); got != "1" {
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
	cli := newClient(t, c.Endpoints())
	put(t, cli, "/a", "1")

	c.Member(0).Kill()
	// If member 0 led the cluster, requests fail until a new leader is
	// elected (about one election timeout); etcd reports that as an error
	// rather than waiting, so retry for a while.
	deadline := time.Now().Add(15 * time.Second)
	for {
		ctx, cancel := context.WithTimeout(t.Context(), 5*time.Second)
		_, err := cli.Put(ctx, "/b", "2")
		cancel()
		if err == nil {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("Put(/b) with member 0 killed: %v", err)
		}
		time.Sleep(100 * time.Millisecond)
	}
	if got := get(t, cli, "/a"); got != "1" {
		t.Errorf("Get(/a) with member 0 down = %q, want 1", got)
	}

	c.Member(0).Restart()
	only0 := newClient(t, c.Member(0).Endpoints())
	if got := get(t, only0, "/b"); got != "2" {
		t.Errorf("restarted member 0: Get(/b) = %q, want 2 (written while it was down)", got)
	}
}
