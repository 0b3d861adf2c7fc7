package idxmap_test

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	clientv3 "go.etcd.io/etcd/client/v3"
	"go.uber.org/zap"
	"google.golang.org/protobuf/types/known/wrapperspb"

	"github.com/plinth-go/plinth/idxmap"
	"github.com/plinth-go/plinth/idxmap/mem"
	"github.com/plinth-go/plinth/infra/kvdb"
	"github.com/plinth-go/plinth/infra/kvdb/etcd"
	"github.com/plinth-go/plinth/infra/kvdb/etcd/embedded"
	"github.com/plinth-go/plinth/internal/freeport"
	"github.com/plinth-go/plinth/internal/testwait"
)

type iface struct {
	Type string `json:"type"`
	MTU  int    `json:"mtu"`
}

func byType(i *iface) []string { return []string{i.Type} }

func newIfaceMap(t testing.TB) *mem.Mapping[*iface] {
	m := mem.NewMapping(idxmap.Indexers[*iface]{"type": byType})
	t.Cleanup(func() { m.Close() })
	return m
}

// fakeWatch is a kvdb.Watch fed by hand: each call of send runs the
// callback, as a watch does, one at a time.
type fakeWatch struct {
	fn   func(context.Context, kvdb.Event) error
	done chan struct{}
	once sync.Once
	err  error
}

func (w *fakeWatch) Stop()                 { w.once.Do(func() { close(w.done) }) }
func (w *fakeWatch) Done() <-chan struct{} { return w.done }
func (w *fakeWatch) Err() error            { return w.err }

func (w *fakeWatch) send(t *testing.T, ev kvdb.Event) {
	t.Helper()
	if err := w.fn(t.Context(), ev); err != nil {
		t.Fatalf("callback returned %v; the cache must not fail", err)
	}
}

// end ends the watch on its own, as a store that closes does.
func (w *fakeWatch) end(err error) { w.err = err; w.Stop() }

func fakeWatcher(prefix *string) (kvdb.Watcher, chan *fakeWatch) {
	started := make(chan *fakeWatch, 1)
	return kvdb.WatchFunc(func(_ context.Context, p string, fn func(context.Context, kvdb.Event) error) (kvdb.Watch, error) {
		*prefix = p
		w := &fakeWatch{fn: fn, done: make(chan struct{})}
		started <- w
		return w, nil
	}), started
}

func put(key, value string, rev int64) kvdb.Event {
	return kvdb.Event{Kind: kvdb.EventPut, Key: key, Value: []byte(value), Rev: rev}
}

func resync(rev int64, kvs ...kvdb.KeyValue) kvdb.Event {
	return kvdb.Event{Kind: kvdb.EventResync, Rev: rev, Snapshot: kvs}
}

func kv(key, value string, rev int64) kvdb.KeyValue {
	return kvdb.KeyValue{Key: key, Value: []byte(value), Rev: rev}
}

type stateLog struct {
	mu     sync.Mutex
	states []string
}

func (s *stateLog) report(ok bool, err error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if ok {
		s.states = append(s.states, "ok")
	} else {
		s.states = append(s.states, "error: "+err.Error())
	}
}

func (s *stateLog) get() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.states)
}

func TestCacheHelperAppliesEventsAndSkipsBadValues(t *testing.T) {
	m := newIfaceMap(t)
	var watched string
	w, started := fakeWatcher(&watched)
	states := &stateLog{}
	h := &idxmap.CacheHelper[*iface]{IDX: m, Watcher: w, Prefix: "config/if/", ReportState: states.report}
	if err := h.Start(); err != nil {
		t.Fatal(err)
	}
	defer h.Close()
	if watched != "config/if/" {
		t.Errorf("watched prefix %q, want %q", watched, "config/if/")
	}
	wa := <-started
	if h.HasSynced() {
		t.Error("HasSynced before the first resync")
	}
	m.Put("stale", &iface{Type: "ethernet"}) // not in the store: the resync removes it
	wa.send(t, resync(10,
		kv("config/if/eth0", `{"type":"ethernet","mtu":1500}`, 5),
		kv("config/if/bad", `{not json`, 6),
		kv("config/if/", `{"type":"ethernet"}`, 7), // no name left after the prefix
		kv("config/if/lo", `{"type":"loopback"}`, 8),
	))
	if !h.HasSynced() {
		t.Error("HasSynced false after the first resync")
	}
	if got := m.ListAllNames(); !slices.Equal(got, []string{"eth0", "lo"}) {
		t.Errorf("names after resync = %q, want [eth0 lo]", got)
	}
	wa.send(t, put("config/if/eth1", `{"type":"ethernet"}`, 11))
	wa.send(t, put("config/if/lo", `[]`, 12)) // undecodable update: lo is removed
	wa.send(t, kvdb.Event{Kind: kvdb.EventDelete, Key: "config/if/eth0", Rev: 13})
	if got := m.ListNames("type", "ethernet"); !slices.Equal(got, []string{"eth1"}) {
		t.Errorf(`ListNames("type", "ethernet") = %q, want [eth1]`, got)
	}
	if _, found := m.GetValue("lo"); found {
		t.Error("lo still cached after an undecodable update")
	}
	st := h.Stats()
	if st.Skipped != 3 || st.Resyncs != 1 || st.Rev != 13 {
		t.Errorf("Stats() = %+v, want 3 skipped, 1 resync, rev 13", st)
	}
	if got := states.get(); len(got) != 2 || !strings.Contains(got[0], idxmap.ErrNotSynced.Error()) || got[1] != "ok" {
		t.Errorf("reported states = %q, want [not synced, ok]", got)
	}
}

func TestCacheHelperResyncKeepsUnchangedEntries(t *testing.T) {
	m := newIfaceMap(t)
	var watched string
	w, started := fakeWatcher(&watched)
	h := &idxmap.CacheHelper[*iface]{IDX: m, Watcher: w}
	if err := h.Start(); err != nil {
		t.Fatal(err)
	}
	defer h.Close()
	wa := <-started
	wa.send(t, resync(3, kv("a", `{"type":"x"}`, 2), kv("b", `{"type":"x"}`, 3)))
	var events []string
	var mu sync.Mutex
	recorded := make(chan struct{}, 10)
	reg, err := m.Watch("test", func(ev idxmap.Event[*iface]) {
		mu.Lock()
		events = append(events, ev.Kind.String()+" "+ev.Name)
		mu.Unlock()
		recorded <- struct{}{}
	})
	if err != nil {
		t.Fatal(err)
	}
	defer reg.Unregister()
	// a unchanged (same revision), b changed, c new, and nothing else.
	wa.send(t, resync(9, kv("a", `{"type":"x"}`, 2), kv("b", `{"type":"y"}`, 8), kv("c", `{"type":"x"}`, 9)))
	for range 2 {
		<-recorded
	}
	mu.Lock()
	defer mu.Unlock()
	if !slices.Equal(events, []string{"update b", "create c"}) {
		t.Errorf("events of the second resync = %q, want [update b, create c]", events)
	}
}

func TestCacheHelperReportsAWatchThatEnds(t *testing.T) {
	var watched string
	w, started := fakeWatcher(&watched)
	states := &stateLog{}
	reported := make(chan struct{}, 3)
	h := &idxmap.CacheHelper[*iface]{IDX: newIfaceMap(t), Watcher: w, ReportState: func(ok bool, err error) {
		states.report(ok, err)
		reported <- struct{}{}
	}}
	if err := h.Start(); err != nil {
		t.Fatal(err)
	}
	defer h.Close()
	<-reported
	(<-started).end(kvdb.ErrClosed)
	<-reported
	got := states.get()
	if len(got) != 2 || !strings.Contains(got[1], kvdb.ErrClosed.Error()) {
		t.Errorf("states = %q, want the second to carry %v", got, kvdb.ErrClosed)
	}
}

func TestCacheHelperStartChecksItsFields(t *testing.T) {
	var watched string
	w, _ := fakeWatcher(&watched)
	tests := []struct {
		name string
		h    *idxmap.CacheHelper[*iface]
		want string
	}{
		{"no map", &idxmap.CacheHelper[*iface]{Watcher: w}, "no IDX"},
		{"no watcher", &idxmap.CacheHelper[*iface]{IDX: newIfaceMap(t)}, "no Watcher"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := tt.h.Start()
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("Start() = %v, want an error containing %q", err, tt.want)
			}
			if err := tt.h.Close(); err != nil {
				t.Errorf("Close after a failed Start = %v", err)
			}
		})
	}
}

func TestDecodeProtoAndDefaultDecoder(t *testing.T) {
	dec := idxmap.DecodeProto[*wrapperspb.StringValue](kvdb.Proto)
	data, _ := kvdb.Proto.Marshal(wrapperspb.String("hello"))
	v, err := dec("k", data)
	if err != nil || v.GetValue() != "hello" {
		t.Errorf("DecodeProto = %v, %v, want hello", v, err)
	}
	// Without Decode, proto messages are read as protojson.
	m := mem.NewMapping[*wrapperspb.StringValue](nil)
	var watched string
	w, started := fakeWatcher(&watched)
	h := &idxmap.CacheHelper[*wrapperspb.StringValue]{IDX: m, Watcher: w}
	if err := h.Start(); err != nil {
		t.Fatal(err)
	}
	defer h.Close()
	(<-started).send(t, resync(1, kv("greeting", `"hi"`, 1)))
	if v, _ := m.GetValue("greeting"); v.GetValue() != "hi" {
		t.Errorf("default decoder gave %v, want hi", v)
	}
}

func FuzzNameFromKey(f *testing.F) {
	f.Add("/vnf-agent/vpp1/config/", "eth0") // the usual shape
	f.Add("", "a")                           // no prefix: the key is the name
	f.Add("/a/", "")                         // nothing after the prefix
	f.Add("/a", "/b/c")                      // a prefix without a trailing slash
	f.Add("pre\xff", "\x00")                 // bytes that are not UTF-8
	f.Fuzz(func(t *testing.T, prefix, rest string) {
		key := prefix + rest
		name, err := idxmap.NameFromKey(prefix, key)
		if rest == "" {
			if !errors.Is(err, idxmap.ErrKeyOutsidePrefix) {
				t.Fatalf("NameFromKey(%q, %q) = %q, %v, want ErrKeyOutsidePrefix", prefix, key, name, err)
			}
			return
		}
		if err != nil || name != rest {
			t.Fatalf("NameFromKey(%q, %q) = %q, %v, want %q", prefix, key, name, err, rest)
		}
		// Any other key either gives a name that joins back to it, or an
		// error.
		other := rest + prefix
		if n, err := idxmap.NameFromKey(prefix, other); err == nil && kvdb.Join(prefix, n) != other {
			t.Fatalf("NameFromKey(%q, %q) = %q, which does not join back", prefix, other, n)
		}
	})
}

// --- against a real etcd ---

var prefixSeq atomic.Int64

func uniquePrefix(t testing.TB) string {
	name := strings.NewReplacer("/", "_", " ", "_").Replace(t.Name())
	return fmt.Sprintf("/test/%s/%d/", name, prefixSeq.Add(1))
}

func newEtcdPlugin(t testing.TB, endpoints ...string) *etcd.Plugin {
	t.Helper()
	p := etcd.NewPlugin(etcd.UseConf(etcd.Config{Endpoints: endpoints, DialTimeout: 500 * time.Millisecond}))
	if err := p.Init(); err != nil {
		t.Fatalf("etcd Init: %v", err)
	}
	t.Cleanup(func() { p.Close() })
	return p
}

func rawClient(t testing.TB, endpoints ...string) *clientv3.Client {
	t.Helper()
	c, err := clientv3.New(clientv3.Config{Endpoints: endpoints, DialTimeout: 3 * time.Second, Logger: zap.NewNop()})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

// waitFor polls cond until it holds or ctx ends: the cache has no event
// that says "the map now equals the store".
func waitFor(ctx context.Context, t testing.TB, what string, cond func() error) {
	t.Helper()
	testwait.Until(ctx, t, what, func(context.Context) (bool, string) {
		if err := cond(); err != nil {
			return false, err.Error()
		}
		return true, ""
	})
}

// equalsStore reports how m differs from the JSON values under prefix.
func equalsStore(ctx context.Context, c *clientv3.Client, prefix string, m idxmap.NamedMapping[*iface]) func() error {
	return func() error {
		resp, err := c.Get(ctx, prefix, clientv3.WithPrefix())
		if err != nil {
			return err
		}
		want := map[string]string{}
		for _, kv := range resp.Kvs {
			want[strings.TrimPrefix(string(kv.Key), prefix)] = string(kv.Value)
		}
		names := m.ListAllNames()
		if len(names) != len(want) {
			return fmt.Errorf("map has %q, store has %d keys %v", names, len(want), want)
		}
		for _, n := range names {
			v, _ := m.GetValue(n)
			if w, ok := want[n]; !ok || !strings.Contains(w, `"`+v.Type+`"`) {
				return fmt.Errorf("map has %s=%+v, store has %q", n, v, w)
			}
		}
		return nil
	}
}

func TestCacheHelperFollowsEtcd(t *testing.T) {
	ctx, cancel := context.WithTimeout(t.Context(), 30*time.Second)
	defer cancel()
	prefix := uniquePrefix(t)
	raw := rawClient(t, shared.Endpoints()...)
	for i := range 20 {
		raw.Put(ctx, prefix+"if/eth"+strconv.Itoa(i), `{"type":"ethernet"}`)
	}
	raw.Put(ctx, prefix+"if/lo", `{"type":"loopback"}`)
	raw.Put(ctx, prefix+"if/broken", `{`)
	raw.Put(ctx, prefix+"other", `{"type":"not cached"}`)

	p := newEtcdPlugin(t, shared.Endpoints()...)
	m := newIfaceMap(t)
	h := &idxmap.CacheHelper[*iface]{IDX: m, Watcher: p.NewWatcher(prefix), Prefix: "if/"}
	if err := h.Start(); err != nil {
		t.Fatal(err)
	}
	defer h.Close()
	select {
	case <-h.Synced():
	case <-ctx.Done():
		t.Fatal("not synced")
	}
	if n := m.Len(); n != 21 {
		t.Errorf("Len() after the initial sync = %d, want 21 (the broken value skipped)", n)
	}
	if got := m.ListNames("type", "loopback"); !slices.Equal(got, []string{"lo"}) {
		t.Errorf(`ListNames("type", "loopback") = %q, want [lo]`, got)
	}
	raw.Put(ctx, prefix+"if/lo", `{"type":"ethernet"}`)
	raw.Delete(ctx, prefix+"if/eth3")
	raw.Put(ctx, prefix+"if/tap0", `{"type":"tap"}`)
	raw.Put(ctx, prefix+"if/broken", `{"type":"fixed"}`)
	waitFor(ctx, t, "live updates", func() error {
		if got := m.ListNames("type", "tap"); !slices.Equal(got, []string{"tap0"}) {
			return fmt.Errorf(`ListNames("type", "tap") = %q`, got)
		}
		return equalsStore(ctx, raw, prefix+"if/", m)()
	})
	if len(m.ListNames("type", "loopback")) != 0 {
		t.Error("lo still indexed as loopback after its update")
	}
}

// restartable is an etcd server that can be stopped and started again on
// its data, on the same or another client address.
type restartable struct {
	t        testing.TB
	dir      string
	peerAddr string
	srv      *embedded.Server
}

func (r *restartable) start(ctx context.Context, clientAddr string) {
	r.t.Helper()
	srv, err := embedded.Start(ctx, embedded.Config{DataDir: r.dir, ClientAddr: clientAddr, PeerAddr: r.peerAddr, UnsafeNoFsync: true})
	if err != nil {
		r.t.Fatalf("start etcd on %s: %v", clientAddr, err)
	}
	r.srv = srv
}

func (r *restartable) stop() {
	if r.srv != nil {
		r.srv.Close()
		r.srv = nil
	}
}

// TestCacheHelperCatchesUpAfterEtcdRestart stops etcd under a running
// cache, changes and deletes keys through another address while the cache
// cannot reach it, optionally compacts past the cache's revision, and
// restarts etcd where the cache looks for it: the map must equal the store.
func TestCacheHelperCatchesUpAfterEtcdRestart(t *testing.T) {
	for _, compact := range []bool{false, true} {
		t.Run("compact="+strconv.FormatBool(compact), func(t *testing.T) {
			ctx, cancel := context.WithTimeout(t.Context(), 60*time.Second)
			defer cancel()
			r := &restartable{t: t, dir: t.TempDir(), peerAddr: freeport.Addr(t)}
			addr := freeport.Addr(t)
			r.start(ctx, addr)
			defer func() { r.stop() }()
			prefix := "/agent/if/"
			raw := rawClient(t, addr)
			for i := range 10 {
				if _, err := raw.Put(ctx, prefix+"eth"+strconv.Itoa(i), `{"type":"ethernet"}`); err != nil {
					t.Fatal(err)
				}
			}
			p := newEtcdPlugin(t, addr)
			m := newIfaceMap(t)
			states := &stateLog{}
			h := &idxmap.CacheHelper[*iface]{IDX: m, Watcher: p.NewWatcher(prefix), ReportState: states.report}
			if err := h.Start(); err != nil {
				t.Fatal(err)
			}
			defer h.Close()
			<-h.Synced()
			syncedRev := h.Stats().Rev

			r.stop()
			other := freeport.Addr(t)
			r.start(ctx, other)
			side := rawClient(t, other)
			for _, k := range []string{"eth1", "eth2", "eth3"} {
				if _, err := side.Delete(ctx, prefix+k); err != nil {
					t.Fatal(err)
				}
			}
			side.Put(ctx, prefix+"eth4", `{"type":"renamed"}`)
			resp, err := side.Put(ctx, prefix+"vxlan0", `{"type":"vxlan"}`)
			if err != nil {
				t.Fatal(err)
			}
			if compact {
				if _, err := side.Compact(ctx, resp.Header.Revision); err != nil {
					t.Fatal(err)
				}
				if resp.Header.Revision <= syncedRev {
					t.Fatalf("compacted at %d, not past the cache's revision %d", resp.Header.Revision, syncedRev)
				}
			}
			side.Close()
			r.stop()
			r.start(ctx, addr)

			waitFor(ctx, t, "the map to equal the store", equalsStore(ctx, raw, prefix, m))
			wantResyncs := uint64(1)
			if compact {
				wantResyncs = 2
			}
			if got := h.Stats().Resyncs; got != wantResyncs {
				t.Errorf("resyncs = %d, want %d", got, wantResyncs)
			}
			// And it goes on following the store.
			raw.Put(ctx, prefix+"after", `{"type":"after"}`)
			waitFor(ctx, t, "a change after the restart", equalsStore(ctx, raw, prefix, m))
		})
	}
}

// plainRW hides the BatchWriter of a map: the helper then writes one key
// at a time.
type plainRW struct{ idxmap.NamedMappingRW[*iface] }

// TestCacheHelperBatchedResyncEqualsOneByOne applies large snapshots
// (decoded on several goroutines, applied in batches) to a map and, one
// key at a time, to another: the events, their order and the content must
// be the same, also with a subscriber whose queue holds one event.
func TestCacheHelperBatchedResyncEqualsOneByOne(t *testing.T) {
	const n = 5000
	snap := func(round int) []kvdb.KeyValue {
		var kvs []kvdb.KeyValue
		for i := range n {
			if (i+round)%7 == 0 {
				continue // deleted in this round
			}
			key, value, rev := "if/eth"+strconv.Itoa(i), fmt.Sprintf(`{"type":"t%d","mtu":%d}`, i%5, i), int64(i+1)
			switch {
			case i%997 == 0:
				value = `{bad` // undecodable
			case i%991 == 0:
				key = "if/" // no name
			case i%3 == round:
				value, rev = fmt.Sprintf(`{"type":"u%d"}`, i%4), int64(n+i+round)
			}
			kvs = append(kvs, kvdb.KeyValue{Key: key, Value: []byte(value), Rev: rev})
		}
		return kvs
	}
	run := func(idx idxmap.NamedMappingRW[*iface], m *mem.Mapping[*iface]) ([]string, []string, idxmap.CacheStats) {
		var mu sync.Mutex
		var events []string
		end := make(chan struct{})
		reg, err := m.Watch("rec", func(ev idxmap.Event[*iface]) {
			if ev.Name == "~end" {
				close(end)
				return
			}
			mu.Lock()
			events = append(events, ev.Kind.String()+" "+ev.Name)
			mu.Unlock()
		}, idxmap.WithQueueSize(1))
		if err != nil {
			t.Fatal(err)
		}
		var watched string
		w, started := fakeWatcher(&watched)
		h := &idxmap.CacheHelper[*iface]{IDX: idx, Watcher: w, Prefix: "if/"}
		if err := h.Start(); err != nil {
			t.Fatal(err)
		}
		wa := <-started
		m.Put("stale", &iface{Type: "t0"})
		for round := range 3 {
			wa.send(t, kvdb.Event{Kind: kvdb.EventResync, Rev: int64(3 * n), Snapshot: snap(round)})
		}
		h.Close()
		m.Put("~end", &iface{}) // delivered after every event of the resyncs
		<-end
		// Unregister before deleting the marker: a delete made while the
		// watch is registered is a change like any other, and its event
		// (named ~end too) may be delivered before Unregister returns.
		reg.Unregister()
		<-reg.Done()
		m.Delete("~end")
		mu.Lock()
		defer mu.Unlock()
		return events, m.ListAllNames(), h.Stats()
	}
	batched := newIfaceMap(t)
	gotEvents, gotNames, gotStats := run(batched, batched)
	plain := newIfaceMap(t)
	wantEvents, wantNames, wantStats := run(plainRW{plain}, plain)
	if len(wantEvents) < n {
		t.Fatalf("only %d events one key at a time", len(wantEvents))
	}
	if !slices.Equal(gotEvents, wantEvents) {
		t.Errorf("batched resyncs gave %d events, one by one %d; first difference at %d", len(gotEvents), len(wantEvents), firstDiff(gotEvents, wantEvents))
	}
	if !slices.Equal(gotNames, wantNames) {
		t.Errorf("batched resyncs left %d names, one by one %d", len(gotNames), len(wantNames))
	}
	if gotStats != wantStats {
		t.Errorf("Stats() = %+v batched, %+v one by one", gotStats, wantStats)
	}
	for _, name := range wantNames {
		a, _ := batched.GetValue(name)
		b, _ := plain.GetValue(name)
		if *a != *b {
			t.Fatalf("%s = %+v batched, %+v one by one", name, *a, *b)
		}
	}
	for i := range 5 {
		tv := "t" + strconv.Itoa(i)
		if a, b := batched.ListNames("type", tv), plain.ListNames("type", tv); !slices.Equal(a, b) {
			t.Errorf("ListNames(type, %s): %d names batched, %d one by one", tv, len(a), len(b))
		}
	}
}

func firstDiff(a, b []string) int {
	for i := range min(len(a), len(b)) {
		if a[i] != b[i] {
			return i
		}
	}
	return min(len(a), len(b))
}
