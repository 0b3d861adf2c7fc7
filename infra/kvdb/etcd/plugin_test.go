package etcd_test

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"sync"
	"testing"
	"time"

	"go.etcd.io/etcd/api/v3/v3rpc/rpctypes"
	clientv3 "go.etcd.io/etcd/client/v3"
	"go.uber.org/goleak"
	"go.uber.org/zap"

	"github.com/plinth-go/plinth/infra/config"
	"github.com/plinth-go/plinth/infra/kvdb"
	"github.com/plinth-go/plinth/infra/kvdb/etcd"
	"github.com/plinth-go/plinth/infra/kvdb/etcd/embedded"
	"github.com/plinth-go/plinth/infra/kvdb/etcd/etcdtest"
	"github.com/plinth-go/plinth/infra/kvdb/kvdbtest"
	"github.com/plinth-go/plinth/internal/freeport"
)

func rawClient(t testing.TB, endpoints []string) *clientv3.Client {
	t.Helper()
	c, err := clientv3.New(clientv3.Config{Endpoints: endpoints, DialTimeout: 3 * time.Second, Logger: zap.NewNop()})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

func TestDisabledWithoutEndpoints(t *testing.T) {
	fs := flag.NewFlagSet("test", flag.ContinueOnError)
	src := config.NewSource(fs, func(string) string { return "" })
	p := etcd.NewPlugin()
	p.Cfg = src.ForPlugin(p.String())
	if err := fs.Parse([]string{"-config-dir", t.TempDir()}); err != nil {
		t.Fatal(err)
	}
	if err := p.Init(); err != nil {
		t.Fatalf("Init: %v", err)
	}
	defer p.Close()
	if !p.Disabled() {
		t.Fatal("Disabled() = false without endpoints, want true")
	}
	b := p.NewBroker("/x/")
	if err := b.Put(t.Context(), "k", nil); !errors.Is(err, kvdb.ErrDisabled) {
		t.Errorf("Put = %v, want ErrDisabled", err)
	}
	if _, err := p.NewWatcher("/x/").Watch(t.Context(), "", func(context.Context, kvdb.Event) error { return nil }); !errors.Is(err, kvdb.ErrDisabled) {
		t.Errorf("Watch = %v, want ErrDisabled", err)
	}
}

func TestConfigFileAndEnv(t *testing.T) {
	dir := t.TempDir()
	tests := []struct {
		name, file, env string
		want            []string
		wantErr         bool
	}{
		{name: "env when the file has no endpoints", env: "a:1, b:2", want: []string{"a:1", "b:2"}},
		{name: "file wins over env", file: "endpoints: [f:1]\n", env: "a:1", want: []string{"f:1"}},
		{name: "unknown key fails", file: "endpiont: [f:1]\n", wantErr: true},
		{name: "half credentials fail", file: "endpoints: [f:1]\nusername: u\n", wantErr: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			args := []string{"-config-dir", dir}
			if tt.file != "" {
				path := filepath.Join(dir, "etcd-"+strconv.Itoa(len(tt.name))+".conf")
				if err := os.WriteFile(path, []byte(tt.file), 0o644); err != nil {
					t.Fatal(err)
				}
				args = append(args, "-etcd-config", path)
			}
			fs := flag.NewFlagSet("test", flag.ContinueOnError)
			src := config.NewSource(fs, func(k string) string {
				if k == etcd.EndpointsEnv {
					return tt.env
				}
				return ""
			})
			p := etcd.NewPlugin()
			p.Cfg = src.ForPlugin(p.String())
			if err := fs.Parse(args); err != nil {
				t.Fatal(err)
			}
			err := p.Init()
			defer p.Close()
			if tt.wantErr {
				if err == nil {
					t.Fatal("Init = nil, want an error")
				}
				return
			}
			if err != nil {
				t.Fatalf("Init: %v", err)
			}
			if got := p.Client().Endpoints(); len(got) != len(tt.want) || got[0] != tt.want[0] {
				t.Errorf("endpoints = %q, want %q", got, tt.want)
			}
		})
	}
}

func TestStartsWhileEtcdIsDownAndConnectsWhenItAppears(t *testing.T) {
	ctx, cancel := context.WithTimeout(t.Context(), 30*time.Second)
	defer cancel()
	addr := freeport.Addr(t)

	start := time.Now()
	p := newPlugin(t, etcd.Config{Endpoints: []string{addr}, DialTimeout: 500 * time.Millisecond})
	if d := time.Since(start); d > time.Second {
		t.Errorf("Init took %s with etcd down, want it not to wait", d)
	}
	if p.Connected() {
		t.Error("Connected() = true with etcd down")
	}

	var mu sync.Mutex
	var order []string
	var reports []bool
	connected := make(chan struct{}, 1)
	p.OnConnect(func() { mu.Lock(); order = append(order, "first"); mu.Unlock() })
	p.OnConnect(func() {
		mu.Lock()
		order = append(order, "second")
		mu.Unlock()
		connected <- struct{}{}
	})
	p.SetStatusReporter(func(ok bool, err error) {
		mu.Lock()
		defer mu.Unlock()
		if !ok && err == nil {
			t.Error("status reporter: not ok without an error")
		}
		reports = append(reports, ok)
	})

	opCtx, opCancel := context.WithTimeout(ctx, 200*time.Millisecond)
	err := p.NewBroker("/down/").Put(opCtx, "k", []byte("v"))
	opCancel()
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("Put with etcd down = %v, want DeadlineExceeded", err)
	}
	// A watch started while etcd is down delivers its resync once it is up.
	ch, wa, err := kvdb.WatchChan(ctx, p.NewWatcher("/down/"), "")
	if err != nil {
		t.Fatal(err)
	}
	defer wa.Stop()

	srv, err := embedded.Start(ctx, embedded.Config{DataDir: t.TempDir(), ClientAddr: addr, PeerAddr: "127.0.0.1:0", UnsafeNoFsync: true})
	if err != nil {
		t.Fatalf("start etcd on %s: %v", addr, err)
	}
	defer srv.Close()

	select {
	case <-connected:
	case <-ctx.Done():
		t.Fatal("OnConnect callbacks did not run after etcd appeared")
	}
	if !p.Connected() {
		t.Error("Connected() = false after the callbacks ran")
	}
	select {
	case ev := <-ch:
		if ev.Kind != kvdb.EventResync {
			t.Errorf("first event = %v, want resync", ev.Kind)
		}
	case <-ctx.Done():
		t.Fatal("no resync after etcd appeared")
	}
	if err := p.NewBroker("/down/").Put(ctx, "k", []byte("v")); err != nil {
		t.Errorf("Put after connect: %v", err)
	}
	mu.Lock()
	defer mu.Unlock()
	if len(order) != 2 || order[0] != "first" {
		t.Errorf("callbacks ran as %q, want [first second]", order)
	}
	if len(reports) < 2 || reports[0] || !reports[len(reports)-1] {
		t.Errorf("status reports = %v, want false first and true last", reports)
	}
}

func TestOnConnectRunsWhenRegisteredWhileConnected(t *testing.T) {
	ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
	defer cancel()
	p := sharedPlugin(t)
	waitFor(ctx, t, "connect", p.Connected)
	ran := make(chan struct{})
	p.OnConnect(func() { close(ran) })
	select {
	case <-ran:
	case <-ctx.Done():
		t.Fatal("callback registered while connected did not run")
	}
}

func TestSessionKeysVanishOnClose(t *testing.T) {
	ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
	defer cancel()
	prefix := uniquePrefix(t)
	p := etcd.NewPlugin(etcd.UseConf(etcd.Config{Endpoints: shared.Endpoints()}))
	if err := p.Init(); err != nil {
		t.Fatal(err)
	}
	waitFor(ctx, t, "connect", p.Connected)
	b := p.NewBroker(prefix)
	for _, k := range []string{"s1", "s2"} {
		if err := b.Put(ctx, k, []byte("v"), kvdb.WithSession()); err != nil {
			t.Fatal(err)
		}
	}
	raw := rawClient(t, shared.Endpoints())
	r1, _ := raw.Get(ctx, prefix+"s1")
	r2, _ := raw.Get(ctx, prefix+"s2")
	if len(r1.Kvs) != 1 || len(r2.Kvs) != 1 || r1.Kvs[0].Lease != r2.Kvs[0].Lease || r1.Kvs[0].Lease == 0 {
		t.Fatalf("session keys do not share one lease: %v %v", r1.Kvs, r2.Kvs)
	}
	if err := p.Close(); err != nil {
		t.Fatal(err)
	}
	resp, err := raw.Get(ctx, prefix, clientv3.WithPrefix())
	if err != nil || len(resp.Kvs) != 0 {
		t.Errorf("after Close: %d session keys left (%v), want 0", len(resp.Kvs), err)
	}
}

func TestTTLPutsShareLeases(t *testing.T) {
	ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
	defer cancel()
	prefix := uniquePrefix(t)
	p := sharedPlugin(t)
	b := p.NewBroker(prefix)
	for i := range 20 {
		if err := b.Put(ctx, strconv.Itoa(i), nil, kvdb.WithTTL(30*time.Second)); err != nil {
			t.Fatal(err)
		}
	}
	resp, err := rawClient(t, shared.Endpoints()).Get(ctx, prefix, clientv3.WithPrefix())
	if err != nil {
		t.Fatal(err)
	}
	leases := map[int64]bool{}
	for _, kv := range resp.Kvs {
		leases[kv.Lease] = true
	}
	// The puts take well under a second each, so at most a couple of
	// leases are granted, not one per put.
	if len(leases) > 3 || leases[0] {
		t.Errorf("20 TTL puts used %d leases, want at most 3 and all keys leased", len(leases))
	}
}

func TestErrorsNameTheKey(t *testing.T) {
	p := sharedPlugin(t)
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	err := p.NewBroker("/a/").Put(ctx, "b", nil)
	if err == nil || err.Error()[:len(`etcd: put "/a/b": `)] != `etcd: put "/a/b": ` {
		t.Errorf("Put error = %v, want it to start with %q", err, `etcd: put "/a/b": `)
	}
}

func TestCloseLeavesNoGoroutines(t *testing.T) {
	ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
	defer cancel()
	before := goleak.IgnoreCurrent()
	p := etcd.NewPlugin(etcd.UseConf(etcd.Config{Endpoints: shared.Endpoints(), AutoCompact: time.Hour}))
	if err := p.Init(); err != nil {
		t.Fatal(err)
	}
	p.OnConnect(func() {})
	prefix := uniquePrefix(t)
	b := p.NewBroker(prefix)
	if err := b.Put(ctx, "s", nil, kvdb.WithSession()); err != nil {
		t.Fatal(err)
	}
	if err := b.Put(ctx, "t", nil, kvdb.WithTTL(time.Minute)); err != nil {
		t.Fatal(err)
	}
	for range 3 {
		ch, _, err := kvdb.WatchChan(ctx, p.NewWatcher(prefix), "")
		if err != nil {
			t.Fatal(err)
		}
		<-ch
	}
	// A callback that waits for its ctx: Close ends it.
	if _, err := p.NewWatcher(prefix).Watch(ctx, "", func(ctx context.Context, _ kvdb.Event) error { <-ctx.Done(); return nil }); err != nil {
		t.Fatal(err)
	}
	if err := p.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}
	if err := goleak.Find(before); err != nil {
		t.Error(err)
	}
}

func TestCompactionWhileDisconnectedGivesOneResync(t *testing.T) {
	ctx, cancel := context.WithTimeout(t.Context(), 30*time.Second)
	defer cancel()
	px := newProxy(t, shared.Endpoints()[0])
	p := newPlugin(t, etcd.Config{Endpoints: []string{px.addr()}, DialTimeout: 500 * time.Millisecond})
	prefix := uniquePrefix(t)
	raw := rawClient(t, shared.Endpoints())
	for i := range 5 {
		if _, err := raw.Put(ctx, prefix+"k"+strconv.Itoa(i), "v0"); err != nil {
			t.Fatal(err)
		}
	}
	ch, wa, err := kvdb.WatchChan(ctx, p.NewWatcher(prefix), "")
	if err != nil {
		t.Fatal(err)
	}
	defer wa.Stop()
	state := kvdbtest.State{}
	ev := <-ch
	state.Apply(ev)

	px.block()
	waitFor(ctx, t, "disconnect", func() bool { return !p.Connected() })
	raw.Put(ctx, prefix+"k1", "v1")
	raw.Delete(ctx, prefix+"k2")
	resp, err := raw.Put(ctx, prefix+"new", "v1")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := raw.Compact(ctx, resp.Header.Revision); err != nil {
		t.Fatal(err)
	}
	px.unblock()

	ev = <-ch
	if ev.Kind != kvdb.EventResync {
		t.Fatalf("first event after compaction = %v %q, want resync", ev.Kind, ev.Key)
	}
	state.Apply(ev)
	want := map[string]string{"k0": "v0", "k1": "v1", "k3": "v0", "k4": "v0", "new": "v1"}
	if len(state) != len(want) {
		t.Fatalf("state after resync = %v, want %v", state, want)
	}
	for k, v := range want {
		if state[k] != v {
			t.Errorf("state[%q] = %q, want %q", k, state[k], v)
		}
	}
	// The watch goes on after the resync, with no second resync.
	raw.Put(ctx, prefix+"after", "x")
	if ev := <-ch; ev.Kind != kvdb.EventPut || ev.Key != "after" {
		t.Errorf("event after resync = %v %q, want put \"after\"", ev.Kind, ev.Key)
	}
}

// TestAutoCompactionGoesOnAfterSomeoneElseCompacts: with auto-compact on,
// a compaction by another client (etcdctl compact, another agent) must not
// stop the plugin's own: revisions written after it are compacted within
// three intervals.
func TestAutoCompactionGoesOnAfterSomeoneElseCompacts(t *testing.T) {
	const every = time.Second
	ctx, cancel := context.WithTimeout(t.Context(), 60*time.Second)
	defer cancel()
	srv := etcdtest.Start(t)
	raw := rawClient(t, srv.Endpoints())
	newPlugin(t, etcd.Config{Endpoints: srv.Endpoints(), AutoCompact: every})
	put := func(v string) int64 {
		t.Helper()
		resp, err := raw.Put(ctx, "/compact/k", v)
		if err != nil {
			t.Fatal(err)
		}
		return resp.Header.Revision
	}
	compacted := func(rev int64) bool {
		_, err := raw.Get(ctx, "/compact/k", clientv3.WithRev(rev))
		return errors.Is(err, rpctypes.ErrCompacted)
	}
	for round := range 3 {
		// Someone else compacts everything up to now, ahead of the plugin.
		if _, err := raw.Compact(ctx, put(fmt.Sprintf("external %d", round))); err != nil {
			t.Fatal(err)
		}
		rev := put(fmt.Sprintf("after %d", round))
		put(fmt.Sprintf("newest %d", round))
		start := time.Now()
		// Three intervals, plus slack for a busy machine.
		waitFor(ctx, t, fmt.Sprintf("round %d: revision %d compacted by the plugin", round, rev), func() bool {
			if time.Since(start) > 3*every+5*time.Second {
				t.Fatalf("round %d: revision %d still not compacted %v after the external compaction", round, rev, time.Since(start))
			}
			return compacted(rev)
		})
		t.Logf("round %d: the plugin compacted past the external compaction in %v", round, time.Since(start).Round(time.Millisecond))
	}
}
