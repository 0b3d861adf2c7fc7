package etcd_test

import (
	"context"
	"fmt"
	"os"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/plinth-go/plinth/infra/kvdb/etcd"
	"github.com/plinth-go/plinth/infra/kvdb/etcd/embedded"
)

// shared is one in-process etcd server for the tests that do not stop it;
// each test works under its own key prefix.
var shared *embedded.Server

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "etcd-plugin-test-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	shared, err = embedded.Start(context.Background(), embedded.Config{
		DataDir: dir, ClientAddr: "127.0.0.1:0", PeerAddr: "127.0.0.1:0", UnsafeNoFsync: true,
	})
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	code := m.Run()
	// The server is closed after every client, before the leak check,
	// because its goroutines are not the plugin's.
	shared.Close()
	os.RemoveAll(dir)
	if code == 0 {
		if err := goleak.Find(goleak.IgnoreCurrent()); err != nil {
			fmt.Fprintln(os.Stderr, "goroutines leaked:", err)
			code = 1
		}
	}
	os.Exit(code)
}

// newPlugin starts a plugin on endpoints and closes it at the end of the
// test.
func newPlugin(t testing.TB, c etcd.Config, opts ...etcd.Option) *etcd.Plugin {
	t.Helper()
	p := etcd.NewPlugin(append([]etcd.Option{etcd.UseConf(c)}, opts...)...)
	if err := p.Init(); err != nil {
		t.Fatalf("Init: %v", err)
	}
	t.Cleanup(func() {
		if err := p.Close(); err != nil {
			t.Errorf("Close: %v", err)
		}
	})
	return p
}

func sharedPlugin(t testing.TB) *etcd.Plugin {
	return newPlugin(t, etcd.Config{Endpoints: shared.Endpoints()})
}

var prefixSeq atomic.Int64

// uniquePrefix returns a key prefix no other test uses.
func uniquePrefix(t testing.TB) string {
	name := strings.NewReplacer("/", "_", " ", "_").Replace(t.Name())
	return fmt.Sprintf("/test/%s/%d/", name, prefixSeq.Add(1))
}

// waitFor polls cond until it holds or ctx ends. It is for states that have
// no event to wait on (a connection flag).
func waitFor(ctx context.Context, t testing.TB, what string, cond func() bool) {
	t.Helper()
	for !cond() {
		select {
		case <-ctx.Done():
			t.Fatalf("waiting for %s: %v", what, ctx.Err())
		case <-time.After(10 * time.Millisecond):
		}
	}
}
