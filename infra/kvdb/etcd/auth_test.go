package etcd_test

import (
	"context"
	"strings"
	"sync"
	"testing"
	"time"

	clientv3 "go.etcd.io/etcd/client/v3"
	"go.uber.org/zap"

	"github.com/plinth-go/plinth/infra/kvdb"
	"github.com/plinth-go/plinth/infra/kvdb/etcd"
	"github.com/plinth-go/plinth/infra/kvdb/etcd/etcdtest"
)

// TestWatchDeniedByAuthIsReportedThenEnds: a watch that etcd's auth refuses
// cannot succeed by retrying. The plugin reports ERROR with the cause while
// it retries, and the watch ends with the error after watch-error-timeout,
// so its owner learns why nothing arrives; a permitted watch of the same
// plugin keeps working, and the plugin is OK again once the denied watch
// has ended.
func TestWatchDeniedByAuthIsReportedThenEnds(t *testing.T) {
	ctx, cancel := context.WithTimeout(t.Context(), 4*time.Minute)
	defer cancel()
	srv := etcdtest.Start(t)
	root := rawClient(t, srv.Endpoints())
	for _, step := range []func() error{
		func() error { _, err := root.UserAdd(ctx, "root", "rootpw"); return err },
		func() error { _, err := root.RoleAdd(ctx, "root"); return err },
		func() error { _, err := root.UserGrantRole(ctx, "root", "root"); return err },
		func() error { _, err := root.RoleAdd(ctx, "app"); return err },
		func() error {
			_, err := root.RoleGrantPermission(ctx, "app", "/allowed/", clientv3.GetPrefixRangeEnd("/allowed/"), clientv3.PermissionType(clientv3.PermReadWrite))
			return err
		},
		func() error { _, err := root.UserAdd(ctx, "app", "apppw"); return err },
		func() error { _, err := root.UserGrantRole(ctx, "app", "app"); return err },
		func() error { _, err := root.AuthEnable(ctx); return err },
	} {
		if err := step(); err != nil {
			t.Fatalf("set up auth: %v", err)
		}
	}

	const timeout = 3 * time.Second
	p := etcd.NewPlugin(etcd.UseConf(etcd.Config{
		Endpoints: srv.Endpoints(), Username: "app", Password: "apppw", WatchErrorTimeout: timeout,
		// etcd checks the password with bcrypt: under the race detector
		// on a busy machine a dial takes seconds.
		DialTimeout: 30 * time.Second,
	}))
	var (
		mu      sync.Mutex
		reports []string
	)
	p.SetStatusReporter(func(ok bool, err error) {
		mu.Lock()
		defer mu.Unlock()
		if ok {
			reports = append(reports, "OK")
		} else {
			reports = append(reports, "ERROR: "+err.Error())
		}
	})
	if err := p.Init(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { p.Close() })

	allowed, allowedW, err := kvdb.WatchChan(ctx, p.NewWatcher("/allowed/"), "")
	if err != nil {
		t.Fatal(err)
	}
	defer allowedW.Stop()
	if ev := <-allowed; ev.Kind != kvdb.EventResync {
		t.Fatalf("first event of the permitted watch = %v, want resync", ev.Kind)
	}
	denied, err := p.NewWatcher("/denied/").Watch(ctx, "", func(context.Context, kvdb.Event) error {
		t.Error("the denied watch delivered an event")
		return nil
	})
	if err != nil {
		t.Fatalf("Watch = %v, want it to start and fail later", err)
	}
	started := time.Now()
	lastReport := func() string {
		mu.Lock()
		defer mu.Unlock()
		if len(reports) == 0 {
			return ""
		}
		return reports[len(reports)-1]
	}
	defer func() {
		if t.Failed() {
			mu.Lock()
			t.Logf("reports: %q", reports)
			mu.Unlock()
		}
	}()
	waitFor(ctx, t, "the plugin to report the denied watch", func() bool {
		r := lastReport()
		return strings.HasPrefix(r, "ERROR: ") && strings.Contains(r, `watch "/denied/"`) && strings.Contains(r, "permission denied")
	})
	select {
	case <-denied.Done():
	case <-ctx.Done():
		t.Fatal("the denied watch never ended")
	}
	if took := time.Since(started); took < timeout {
		t.Errorf("the denied watch ended after %v, before the watch error timeout %v", took, timeout)
	}
	if err := denied.Err(); err == nil || !strings.Contains(err.Error(), "permission denied") || !strings.Contains(err.Error(), "/denied/") {
		t.Errorf("Err() = %v, want permission denied naming the prefix", err)
	}
	waitFor(ctx, t, "the plugin to be OK again", func() bool { return lastReport() == "OK" })

	// The permitted watch was never disturbed.
	admin, err := clientv3.New(clientv3.Config{Endpoints: srv.Endpoints(), Username: "root", Password: "rootpw", DialTimeout: 30 * time.Second, Logger: zap.NewNop()})
	if err != nil {
		t.Fatal(err)
	}
	defer admin.Close()
	if _, err := admin.Put(ctx, "/allowed/k", "v"); err != nil {
		t.Fatal(err)
	}
	select {
	case ev := <-allowed:
		if ev.Kind != kvdb.EventPut || ev.Key != "k" {
			t.Errorf("permitted watch got %v %q, want put k", ev.Kind, ev.Key)
		}
	case <-ctx.Done():
		t.Fatal("the permitted watch stopped delivering")
	}
}
