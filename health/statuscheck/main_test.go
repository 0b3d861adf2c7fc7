package statuscheck_test

import (
	"context"
	"fmt"
	"os"
	"sync"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/plinth-go/plinth/health/statuscheck"
	"github.com/plinth-go/plinth/infra/kvdb/etcd/embedded"
	"github.com/plinth-go/plinth/internal/freeport"
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

// fakeClock is a clock that moves only when the test says so.
type fakeClock struct {
	mu sync.Mutex
	t  time.Time
}

func newClock(unix int64) *fakeClock { return &fakeClock{t: time.Unix(unix, 0)} }

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *fakeClock) Set(unix int64) {
	c.mu.Lock()
	c.t = time.Unix(unix, 0)
	c.mu.Unlock()
}

// started returns a status check that has run Init and AfterInit, without a
// key-value store, closed at the end of the test.
func started(t testing.TB, opts ...statuscheck.Option) *statuscheck.Plugin {
	t.Helper()
	p := statuscheck.NewPlugin(append([]statuscheck.Option{statuscheck.UseConf(statuscheck.Config{
		ProbeInterval: time.Hour, // rounds are driven by ProbeRound
		ProbeTimeout:  100 * time.Millisecond,
	})}, opts...)...)
	if err := p.Init(); err != nil {
		t.Fatalf("Init: %v", err)
	}
	if err := p.AfterInit(); err != nil {
		t.Fatalf("AfterInit: %v", err)
	}
	p.WaitFirstRound() // later rounds are driven by ProbeRound
	t.Cleanup(func() {
		if err := p.Close(); err != nil {
			t.Errorf("Close: %v", err)
		}
	})
	return p
}

// etcdServer is a real etcd server that a test can stop and start again on
// the same address and data.
type etcdServer struct {
	t      testing.TB
	dir    string
	client string
	peer   string
	mu     sync.Mutex
	s      *embedded.Server
}

func startEtcd(t testing.TB) *etcdServer {
	t.Helper()
	e := &etcdServer{t: t, dir: t.TempDir(), client: freeport.Addr(t), peer: freeport.Addr(t)}
	e.Start()
	t.Cleanup(e.Stop)
	return e
}

func (e *etcdServer) Start() {
	e.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	s, err := embedded.Start(ctx, embedded.Config{
		DataDir: e.dir, ClientAddr: e.client, PeerAddr: e.peer, UnsafeNoFsync: true,
	})
	if err != nil {
		e.t.Fatalf("start etcd: %v", err)
	}
	e.mu.Lock()
	e.s = s
	e.mu.Unlock()
}

func (e *etcdServer) Stop() {
	e.mu.Lock()
	s := e.s
	e.s = nil
	e.mu.Unlock()
	if s != nil {
		s.Close()
	}
}

// Wipe stops the server, deletes its data and starts it again: a store
// that lost everything, as after a restore from an empty backup.
func (e *etcdServer) Wipe() {
	e.t.Helper()
	e.Stop()
	if err := os.RemoveAll(e.dir); err != nil {
		e.t.Fatal(err)
	}
	e.Start()
}

func (e *etcdServer) Endpoints() []string { return []string{e.client} }
