package embedded_test

import (
	"context"
	"errors"
	"fmt"
	"net"
	"strings"
	"sync"
	"testing"
	"time"

	clientv3 "go.etcd.io/etcd/client/v3"

	"github.com/plinth-go/plinth/infra/kvdb/etcd/embedded"
	"github.com/plinth-go/plinth/infra/kvdb/etcd/etcdtest"
	"github.com/plinth-go/plinth/internal/freeport"
)

// testConfig is a single member in a fresh temp dir on free ports.
func testConfig(t *testing.T) embedded.Config {
	return embedded.Config{
		DataDir:       t.TempDir(),
		ClientAddr:    "127.0.0.1:0",
		PeerAddr:      "127.0.0.1:0",
		UnsafeNoFsync: true,
	}
}

func start(t *testing.T, cfg embedded.Config) *embedded.Server {
	t.Helper()
	s, err := embedded.Start(t.Context(), cfg)
	if err != nil {
		t.Fatalf("Start: %v", err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

func TestStartServesClients(t *testing.T) {
	begin := time.Now()
	s := start(t, testConfig(t))
	t.Logf("ready in %v", time.Since(begin))

	eps := s.Endpoints()
	if len(eps) != 1 || !strings.HasPrefix(eps[0], "127.0.0.1:") || strings.HasSuffix(eps[0], ":0") {
		t.Fatalf("Endpoints() = %v, want one 127.0.0.1:<picked port>", eps)
	}
	if !strings.HasPrefix(s.PeerURL(), "http://127.0.0.1:") {
		t.Errorf("PeerURL() = %q, want http://127.0.0.1:<port>", s.PeerURL())
	}
	if s.Name() != embedded.DefaultName {
		t.Errorf("Name() = %q, want %q", s.Name(), embedded.DefaultName)
	}
	cli := etcdtest.Client(t, eps...)
	etcdtest.Put(t, cli, "/a", "1")
	if got := etcdtest.Get(t, cli, "/a"); got != "1" {
		t.Errorf("Get(/a) = %q, want %q", got, "1")
	}
}

func TestRestartOnSameDataDirKeepsData(t *testing.T) {
	cfg := testConfig(t)
	s, err := embedded.Start(t.Context(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	cli := etcdtest.Client(t, s.Endpoints()...)
	etcdtest.Put(t, cli, "/kept", "yes")
	cli.Close()
	s.Close()

	// Same dir, same ports: a restarted member looks the same to clients.
	cfg.ClientAddr = s.Endpoints()[0]
	cfg.PeerAddr = strings.TrimPrefix(s.PeerURL(), "http://")
	begin := time.Now()
	s2 := start(t, cfg)
	t.Logf("restart ready in %v", time.Since(begin))
	if got := etcdtest.Get(t, etcdtest.Client(t, s2.Endpoints()...), "/kept"); got != "yes" {
		t.Errorf("after restart Get(/kept) = %q, want %q", got, "yes")
	}
}

func TestCloseIsFastWithOpenWatch(t *testing.T) {
	s, err := embedded.Start(t.Context(), testConfig(t))
	if err != nil {
		t.Fatal(err)
	}
	cli := etcdtest.Client(t, s.Endpoints()...)
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	wch := cli.Watch(ctx, "/w", clientv3.WithPrefix())
	etcdtest.Put(t, cli, "/w/1", "x")
	<-wch // the stream is open and delivering

	begin := time.Now()
	if err := s.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}
	took := time.Since(begin)
	t.Logf("closed in %v with a watch open", took)
	if took > 2*time.Second {
		t.Errorf("Close took %v with an open watch, want well under the 5 s request timeout", took)
	}
	if err := s.Close(); err != nil {
		t.Errorf("second Close = %v, want nil", err)
	}
}

func TestStartReportsAddressInUse(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	busy := l.Addr().String()

	tests := []struct {
		name string
		edit func(*embedded.Config)
	}{
		{"client", func(c *embedded.Config) { c.ClientAddr = busy }},
		{"peer", func(c *embedded.Config) { c.PeerAddr = busy }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg := testConfig(t)
			tt.edit(&cfg)
			s, err := embedded.Start(t.Context(), cfg)
			if err == nil {
				s.Close()
				t.Fatal("Start succeeded on a busy address")
			}
			if !errors.Is(err, embedded.ErrAddressInUse) {
				t.Errorf("Start error = %v, want ErrAddressInUse", err)
			}
			if want := tt.name + " address " + busy; !strings.Contains(err.Error(), want) {
				t.Errorf("Start error = %q, want it to name %q", err, want)
			}
		})
	}
}

func TestStartRejectsBadConfig(t *testing.T) {
	tests := []struct {
		name string
		edit func(*embedded.Config)
		want string
	}{
		{"no port", func(c *embedded.Config) { c.ClientAddr = "127.0.0.1" }, "client-address"},
		{"no host", func(c *embedded.Config) { c.PeerAddr = ":2380" }, "peer-address"},
		{"bad state", func(c *embedded.Config) { c.ClusterState = "old" }, `cluster-state: "old"`},
		{"bad cluster", func(c *embedded.Config) { c.InitialCluster = "a=127.0.0.1:1" }, "needs a scheme"},
		{"cluster with port 0", func(c *embedded.Config) { c.InitialCluster = "plinth=http://127.0.0.1:1" }, "port 0 cannot be used"},
		{"negative timeout", func(c *embedded.Config) { c.StartTimeout = -time.Second }, "start-timeout"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg := testConfig(t)
			tt.edit(&cfg)
			s, err := embedded.Start(t.Context(), cfg)
			if err == nil {
				s.Close()
				t.Fatal("Start succeeded")
			}
			if !strings.Contains(err.Error(), tt.want) {
				t.Errorf("Start error = %q, want it to contain %q", err, tt.want)
			}
		})
	}
}

func TestStartHonoursContext(t *testing.T) {
	// A member of a two-member cluster whose peer never comes cannot get
	// ready; the context ends the wait and nothing is left running.
	cfg := testConfig(t)
	cfg.PeerAddr = freeport.Addr(t)
	cfg.InitialCluster = fmt.Sprintf("plinth=http://%s,absent=http://%s", cfg.PeerAddr, freeport.Addr(t))
	ctx, cancel := context.WithTimeout(t.Context(), 500*time.Millisecond)
	defer cancel()
	begin := time.Now()
	s, err := embedded.Start(ctx, cfg)
	if err == nil {
		s.Close()
		t.Fatal("Start succeeded without quorum")
	}
	if !errors.Is(err, context.DeadlineExceeded) || !strings.Contains(err.Error(), "majority") {
		t.Errorf("Start error = %v, want DeadlineExceeded with a hint about the majority", err)
	}
	if took := time.Since(begin); took > 5*time.Second {
		t.Errorf("Start took %v after a 500ms deadline", took)
	}
}

func TestClusterKeepsServingWithOneMemberStopped(t *testing.T) {
	names := []string{"m0", "m1", "m2"}
	peers := make([]string, len(names))
	var members []string
	for i, n := range names {
		peers[i] = freeport.Addr(t)
		members = append(members, n+"=http://"+peers[i])
	}
	initial := strings.Join(members, ",")

	servers := make([]*embedded.Server, len(names))
	errs := make([]error, len(names))
	var wg sync.WaitGroup
	begin := time.Now()
	for i, n := range names {
		wg.Go(func() {
			servers[i], errs[i] = embedded.Start(t.Context(), embedded.Config{
				Name:           n,
				DataDir:        t.TempDir(),
				ClientAddr:     "127.0.0.1:0",
				PeerAddr:       peers[i],
				InitialCluster: initial,
				UnsafeNoFsync:  true,
				StartTimeout:   20 * time.Second,
			})
		})
	}
	wg.Wait()
	for i, s := range servers {
		if s != nil {
			t.Cleanup(func() { s.Close() })
		}
		if errs[i] != nil {
			t.Fatalf("member %s: %v", names[i], errs[i])
		}
	}
	t.Logf("3-member cluster ready in %v", time.Since(begin))

	var eps []string
	for _, s := range servers {
		eps = append(eps, s.Endpoints()...)
	}
	cli := etcdtest.Client(t, eps...)
	etcdtest.Put(t, cli, "/before", "1")

	begin = time.Now()
	servers[0].Close()
	t.Logf("member closed in %v", time.Since(begin))

	// The client may have been talking to the stopped member; it fails over.
	cli2 := etcdtest.Client(t, servers[1].Endpoints()[0], servers[2].Endpoints()[0])
	etcdtest.Put(t, cli2, "/after", "2")
	for _, key := range []string{"/before", "/after"} {
		if got := etcdtest.Get(t, cli2, key); got == "<missing>" {
			t.Errorf("Get(%q) on the remaining members = missing", key)
		}
	}
}
