package etcd_test

import (
	"bytes"
	"context"
	"fmt"
	"maps"
	"strconv"
	"sync"
	"testing"
	"time"

	clientv3 "go.etcd.io/etcd/client/v3"

	"github.com/plinth-go/plinth/infra/kvdb"
	"github.com/plinth-go/plinth/infra/kvdb/etcd"
	"github.com/plinth-go/plinth/infra/kvdb/kvdbtest"
)

// smallPages makes a plugin list in pages of one or two keys, so that a
// few keys take every path of the paging.
var smallPages = etcd.WithListPaging(2, 64)

func TestConformanceWithSmallPages(t *testing.T) {
	p := newPlugin(t, etcd.Config{Endpoints: shared.Endpoints()}, smallPages)
	t.Run("Broker", func(t *testing.T) {
		kvdbtest.Run(t, func(t *testing.T) kvdb.BytesBroker { return p.NewBroker(uniquePrefix(t)) })
	})
	t.Run("Watcher", func(t *testing.T) {
		kvdbtest.RunWatch(t, func(t *testing.T) (kvdb.BytesBroker, kvdb.Watcher) {
			prefix := uniquePrefix(t)
			return p.NewBroker(prefix), p.NewWatcher(prefix)
		})
	})
}

// churn changes the keys under prefix until ctx ends: it updates, deletes
// and creates keys, with values of varied sizes so that pages vary too. The
// prefix holds at most 2*keys keys.
func churn(ctx context.Context, t *testing.T, c *clientv3.Client, prefix string, keys int) (wait func()) {
	var wg sync.WaitGroup
	wg.Go(func() {
		for i := 0; ctx.Err() == nil; i++ {
			key := prefix + fmt.Sprintf("k%04d", (i*7)%keys)
			var err error
			switch i % 3 {
			case 0:
				_, err = c.Put(ctx, key, string(bytes.Repeat([]byte("u"), i%200)))
			case 1:
				_, err = c.Delete(ctx, key)
			default:
				_, err = c.Put(ctx, prefix+"new"+strconv.Itoa(i%keys), "n")
			}
			if err != nil && ctx.Err() == nil {
				t.Errorf("churn: %v", err)
				return
			}
		}
	})
	return wg.Wait
}

func TestListIsOneSnapshotWhilePrefixChanges(t *testing.T) {
	for _, tc := range []struct {
		name string
		keys int
		opts []etcd.Option
	}{
		{"small pages", 40, []etcd.Option{smallPages}},
		{"pages of about 1 KiB", 300, []etcd.Option{etcd.WithListPaging(10, 1024)}},
		{"default pages", 300, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			keys := tc.keys
			p := newPlugin(t, etcd.Config{Endpoints: shared.Endpoints()}, tc.opts...)
			prefix := uniquePrefix(t)
			ctx, cancel := context.WithTimeout(t.Context(), 30*time.Second)
			defer cancel()
			c := p.Client()
			for i := range keys {
				if _, err := c.Put(ctx, prefix+fmt.Sprintf("k%04d", i), string(bytes.Repeat([]byte("v"), i%300))); err != nil {
					t.Fatal(err)
				}
			}
			churnCtx, stop := context.WithCancel(ctx)
			wait := churn(churnCtx, t, c, prefix, keys)
			defer func() { stop(); wait() }()

			b := p.NewBroker(prefix)
			for range 5 {
				kvs, rev, err := b.List(ctx, "")
				if err != nil {
					t.Fatalf("List: %v", err)
				}
				want, err := c.Get(ctx, prefix, clientv3.WithPrefix(), clientv3.WithRev(rev))
				if err != nil {
					t.Fatal(err)
				}
				if len(kvs) != len(want.Kvs) {
					t.Fatalf("List at rev %d: %d keys, the store had %d", rev, len(kvs), len(want.Kvs))
				}
				for i, kv := range kvs {
					w := want.Kvs[i]
					if prefix+kv.Key != string(w.Key) || !bytes.Equal(kv.Value, w.Value) || kv.Rev != w.ModRevision {
						t.Fatalf("List at rev %d: entry %d = %q (rev %d), store has %q (rev %d)",
							rev, i, kv.Key, kv.Rev, w.Key[len(prefix):], w.ModRevision)
					}
				}

				names, rev, err := b.ListKeys(ctx, "")
				if err != nil {
					t.Fatalf("ListKeys: %v", err)
				}
				want, err = c.Get(ctx, prefix, clientv3.WithPrefix(), clientv3.WithRev(rev), clientv3.WithKeysOnly())
				if err != nil {
					t.Fatal(err)
				}
				if len(names) != len(want.Kvs) {
					t.Fatalf("ListKeys at rev %d: %d keys, the store had %d", rev, len(names), len(want.Kvs))
				}
				for i, name := range names {
					if prefix+name != string(want.Kvs[i].Key) {
						t.Fatalf("ListKeys at rev %d: key %d = %q, store has %q", rev, i, name, want.Kvs[i].Key[len(prefix):])
					}
				}
			}
		})
	}
}

// TestWatchOverManyPagesMissesNothing starts watches while the prefix
// changes, with a resync listed in many pages, and checks that the state
// each rebuilds equals the store once the changes stop.
func TestWatchOverManyPagesMissesNothing(t *testing.T) {
	const keys, watches = 200, 5
	p := newPlugin(t, etcd.Config{Endpoints: shared.Endpoints()}, etcd.WithListPaging(5, 256))
	prefix := uniquePrefix(t)
	ctx, cancel := context.WithTimeout(t.Context(), 30*time.Second)
	defer cancel()
	c := p.Client()
	for i := range keys {
		if _, err := c.Put(ctx, prefix+fmt.Sprintf("k%04d", i), strconv.Itoa(i)); err != nil {
			t.Fatal(err)
		}
	}
	churnCtx, stop := context.WithCancel(ctx)
	wait := churn(churnCtx, t, c, prefix, keys)

	type view struct {
		mu    sync.Mutex
		state kvdbtest.State
		rev   int64
		err   error
	}
	// The watches start one after another while the prefix changes, so
	// each lists it at another revision.
	views := make([]*view, watches)
	var lastResync int64
	for i := range views {
		v := &view{state: kvdbtest.State{}}
		views[i] = v
		synced := make(chan int64, 1)
		w, err := p.NewWatcher(prefix).Watch(ctx, "", func(_ context.Context, ev kvdb.Event) error {
			if ev.Kind == kvdb.EventResync {
				synced <- ev.Rev
			}
			v.mu.Lock()
			defer v.mu.Unlock()
			if ev.Rev <= v.rev && v.err == nil {
				v.err = fmt.Errorf("event at rev %d after rev %d", ev.Rev, v.rev)
			}
			v.rev = ev.Rev
			switch ev.Kind {
			case kvdb.EventResync:
				clear(v.state)
				for _, kv := range ev.Snapshot {
					v.state[kv.Key] = string(kv.Value)
				}
			case kvdb.EventPut:
				v.state[ev.Key] = string(ev.Value)
			case kvdb.EventDelete:
				delete(v.state, ev.Key)
			}
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
		defer w.Stop()
		select {
		case lastResync = <-synced:
		case <-ctx.Done():
			t.Fatalf("watch %d: no resync: %v", i, ctx.Err())
		}
	}
	// Let the last watch see changes too.
	waitFor(ctx, t, "100 more changes", func() bool {
		resp, err := c.Get(ctx, "no such key")
		return err == nil && resp.Header.Revision >= lastResync+100
	})
	stop()
	wait()

	resp, err := c.Get(ctx, "no such key")
	if err != nil {
		t.Fatal(err)
	}
	for i, v := range views {
		waitFor(ctx, t, fmt.Sprintf("watch %d to reach rev %d", i, resp.Header.Revision), func() bool {
			v.mu.Lock()
			defer v.mu.Unlock()
			return v.rev >= resp.Header.Revision || v.err != nil
		})
		// A write whose context the stop cancelled may still apply after
		// the Get above: compare each view with the store at its own
		// revision.
		v.mu.Lock()
		rev, state, verr := v.rev, maps.Clone(v.state), v.err
		v.mu.Unlock()
		if verr != nil {
			t.Errorf("watch %d: %v", i, verr)
			continue
		}
		at, err := c.Get(ctx, prefix, clientv3.WithPrefix(), clientv3.WithRev(rev))
		if err != nil {
			t.Fatal(err)
		}
		want := kvdbtest.State{}
		for _, kv := range at.Kvs {
			want[string(kv.Key[len(prefix):])] = string(kv.Value)
		}
		if !maps.Equal(state, want) {
			t.Errorf("watch %d: state of %d keys differs from the store's %d at rev %d", i, len(state), len(want), rev)
		}
	}
}
