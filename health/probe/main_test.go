package probe_test

import (
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"sync"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/plinth-go/plinth/agent"
	"github.com/plinth-go/plinth/agent/agenttest"
	"github.com/plinth-go/plinth/health/probe"
	"github.com/plinth-go/plinth/health/statuscheck"
	"github.com/plinth-go/plinth/infra"
	"github.com/plinth-go/plinth/infra/kvdb/etcd/embedded"
	"github.com/plinth-go/plinth/infra/rest"
)

func TestMain(m *testing.M) {
	code := m.Run()
	if code == 0 {
		if err := goleak.Find(); err != nil {
			fmt.Fprintln(os.Stderr, "goroutines leaked:", err)
			code = 1
		}
	}
	os.Exit(code)
}

// server is a started agent serving the probes on a real socket.
type server struct {
	sc     *statuscheck.Plugin
	probe  *probe.Plugin
	http   *rest.Plugin
	client *http.Client
	base   string
}

func startServer(t testing.TB, probeOpts []probe.Option, scOpts []statuscheck.Option, extra ...infra.Plugin) *server {
	t.Helper()
	s := &server{
		sc:    statuscheck.NewPlugin(append([]statuscheck.Option{statuscheck.UseConf(statuscheck.Config{ProbeInterval: time.Hour})}, scOpts...)...),
		probe: probe.NewPlugin(probeOpts...),
		http:  rest.NewPlugin(rest.UseConf(rest.Config{Endpoint: "127.0.0.1:0"})),
	}
	agenttest.Start(t, agent.AllPlugins(append([]infra.Plugin{s.http, s.sc, s.probe}, extra...)...))
	tr := &http.Transport{}
	s.client = &http.Client{Transport: tr, Timeout: 10 * time.Second}
	t.Cleanup(tr.CloseIdleConnections)
	s.base = "http://" + s.http.Addr().String()
	return s
}

func (s *server) get(t testing.TB, path string) (int, string, http.Header) {
	t.Helper()
	resp, err := s.client.Get(s.base + path)
	if err != nil {
		t.Fatalf("GET %s: %v", path, err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp.StatusCode, string(body), resp.Header
}

// fakeClock is a clock that moves only when the test says so.
type fakeClock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

// etcdServer is a real etcd server that a test can stop.
type etcdServer struct {
	mu sync.Mutex
	s  *embedded.Server
	ep []string
}

func startEtcd(t testing.TB) *etcdServer {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	s, err := embedded.Start(ctx, embedded.Config{DataDir: t.TempDir(), ClientAddr: addr, PeerAddr: "127.0.0.1:0", UnsafeNoFsync: true})
	if err != nil {
		t.Fatal(err)
	}
	e := &etcdServer{s: s, ep: s.Endpoints()}
	t.Cleanup(e.Stop)
	return e
}

func (e *etcdServer) Stop() {
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.s != nil {
		e.s.Close()
		e.s = nil
	}
}
