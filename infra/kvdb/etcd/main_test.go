package etcd_test

import (
	"context"
	"fmt"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/plinth-go/plinth/infra/kvdb/etcd"
	"github.com/plinth-go/plinth/infra/kvdb/etcd/embedded"
	"github.com/plinth-go/plinth/infra/kvdb/etcd/etcdtest"
	"github.com/plinth-go/plinth/internal/testwait"
)

// shared is one in-process etcd server for the tests that do not stop it;
// each test works under its own key prefix.
var shared *embedded.Server

func TestMain(m *testing.M) { etcdtest.MainWithSharedServer(m, &shared) }

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
	testwait.Until(ctx, t, what, func(context.Context) (bool, string) { return cond(), "" })
}
