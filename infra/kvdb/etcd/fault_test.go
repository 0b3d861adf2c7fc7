package etcd_test

import (
	"context"
	"fmt"
	"slices"
	"strconv"
	"sync"
	"testing"
	"time"

	clientv3 "go.etcd.io/etcd/client/v3"

	"github.com/plinth-go/plinth/infra/kvdb"
	"github.com/plinth-go/plinth/infra/kvdb/etcd"
	"github.com/plinth-go/plinth/infra/kvdb/etcd/etcdtest"
)

// history returns the revisions of every change under prefix up to upTo,
// from the store's own history (nothing is compacted in these tests).
func history(ctx context.Context, t *testing.T, c *clientv3.Client, prefix string, upTo int64) []int64 {
	t.Helper()
	revs, _ := historySince(ctx, t, c, prefix, 1, upTo)
	return revs
}

// recorder collects the revisions a watch delivers and signals keys seen.
type recorder struct {
	mu      sync.Mutex
	revs    []int64
	resyncs int
	syncRev int64                    // the revision of the first resync's snapshot
	seen    map[string]chan struct{} // never changes after newRecorder
	closed  map[string]bool
	synced  chan struct{} // closed by the first resync
}

func newRecorder(keys ...string) *recorder {
	r := &recorder{seen: map[string]chan struct{}{}, closed: map[string]bool{}, synced: make(chan struct{})}
	for _, k := range keys {
		r.seen[k] = make(chan struct{})
	}
	return r
}

func (r *recorder) handle(_ context.Context, ev kvdb.Event) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	if ev.Kind == kvdb.EventResync {
		if r.resyncs == 0 {
			r.syncRev = ev.Rev
			close(r.synced)
		}
		r.resyncs++
		return nil
	}
	if n := len(r.revs); n > 0 && ev.Rev <= r.revs[n-1] {
		return fmt.Errorf("event %v %q rev %d after rev %d: out of order", ev.Kind, ev.Key, ev.Rev, r.revs[n-1])
	}
	r.revs = append(r.revs, ev.Rev)
	if ch, ok := r.seen[ev.Key]; ok && !r.closed[ev.Key] {
		close(ch)
		r.closed[ev.Key] = true
	}
	return nil
}

func (r *recorder) count() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return len(r.revs)
}

func wait(ctx context.Context, t *testing.T, what string, ch <-chan struct{}) {
	t.Helper()
	select {
	case <-ch:
	case <-ctx.Done():
		t.Fatalf("waiting for %s: %v", what, ctx.Err())
	}
}

func TestWatchSurvivesEtcdKillAndRestart(t *testing.T) {
	ctx, cancel := context.WithTimeout(t.Context(), 60*time.Second)
	defer cancel()
	proc := etcdtest.StartProcess(t)
	p := newPlugin(t, etcd.Config{Endpoints: proc.Endpoints(), DialTimeout: time.Second})
	prefix := uniquePrefix(t)
	b := p.NewBroker(prefix)

	rec := newRecorder("first", "end")
	wa, err := p.NewWatcher(prefix).Watch(ctx, "", rec.handle)
	if err != nil {
		t.Fatal(err)
	}
	defer wa.Stop()
	// Writes before the watch's list would arrive in the resync, not as
	// events.
	wait(ctx, t, "the resync", rec.synced)
	if err := b.Put(ctx, "first", nil); err != nil {
		t.Fatal(err)
	}
	wait(ctx, t, "the first event", rec.seen["first"])

	// The writer keeps writing through the outage; a failed put is retried
	// (and may have been applied, which the history tells).
	stop := make(chan struct{})
	writerDone := make(chan error, 1)
	var written sync.WaitGroup
	written.Add(1)
	go func() {
		for i := 0; ; i++ {
			select {
			case <-stop:
				writerDone <- nil
				return
			default:
			}
			pctx, pcancel := context.WithTimeout(ctx, 500*time.Millisecond)
			err := b.Put(pctx, "k"+strconv.Itoa(i%10), []byte(strconv.Itoa(i)))
			pcancel()
			if ctx.Err() != nil {
				writerDone <- ctx.Err()
				return
			}
			if i == 50 {
				written.Done()
			}
			_ = err
		}
	}()
	written.Wait()
	proc.Kill()
	waitFor(ctx, t, "the plugin to notice", func() bool { return !p.Connected() })
	proc.Restart()
	waitFor(ctx, t, "the plugin to reconnect", p.Connected)
	before := rec.count()
	waitFor(ctx, t, "events after the restart", func() bool { return rec.count() > before+50 })
	close(stop)
	if err := <-writerDone; err != nil {
		t.Fatal(err)
	}
	if err := b.Put(ctx, "end", nil); err != nil {
		t.Fatal(err)
	}
	wait(ctx, t, "the last event", rec.seen["end"])
	_, _, endRev, err := b.Get(ctx, "end")
	if err != nil {
		t.Fatal(err)
	}

	want := history(ctx, t, p.Client(), prefix, endRev)
	rec.mu.Lock()
	got := slices.Clone(rec.revs)
	resyncs := rec.resyncs
	rec.mu.Unlock()
	if !slices.Equal(got, want) {
		t.Errorf("watch delivered %d revisions, the store has %d; first difference at %d", len(got), len(want), firstDiff(got, want))
	}
	if resyncs != 1 {
		t.Errorf("%d resyncs, want 1 (the restart lost no history)", resyncs)
	}
	if err := wa.Err(); err != nil {
		t.Errorf("watch ended: %v", err)
	}
}

func firstDiff(a, b []int64) int {
	for i := range min(len(a), len(b)) {
		if a[i] != b[i] {
			return i
		}
	}
	return min(len(a), len(b))
}

func TestTenThousandPutsObservedInOrder(t *testing.T) {
	// The puts take about 40s with the race detector on an idle machine,
	// twice that with both cores busy; the deadline only stops a hung test.
	ctx, cancel := context.WithTimeout(t.Context(), 10*time.Minute)
	defer cancel()
	p := sharedPlugin(t)
	prefix := uniquePrefix(t)
	rec := newRecorder("end")
	wa, err := p.NewWatcher(prefix).Watch(ctx, "", rec.handle)
	if err != nil {
		t.Fatal(err)
	}
	defer wa.Stop()
	wait(ctx, t, "the resync", rec.synced)

	// Eight writers make the 10,000 puts concurrently, so the order the watch
	// sees is decided by etcd, not by the test.
	const puts, writers = 10000, 8
	b := p.NewBroker(prefix)
	var wg sync.WaitGroup
	errs := make(chan error, writers)
	for w := range writers {
		wg.Go(func() {
			for i := w; i < puts; i += writers {
				if err := b.Put(ctx, "k"+strconv.Itoa(i%100), []byte(strconv.Itoa(i))); err != nil {
					errs <- err
					return
				}
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	// The watch has delivered every put once it delivers a later one.
	if err := b.Put(ctx, "end", nil); err != nil {
		t.Fatal(err)
	}
	select {
	case <-rec.seen["end"]:
	case <-wa.Done():
		t.Fatalf("watch ended before the last event: %v", wa.Err())
	case <-ctx.Done():
		t.Fatalf("waiting for the last event: %v", ctx.Err())
	}
	_, _, endRev, err := b.Get(ctx, "end")
	if err != nil {
		t.Fatal(err)
	}

	// The store's own history of the prefix since the watch's snapshot is
	// what the watch must have delivered: the same revisions in the same
	// order, none missing. The revisions of the shared server are not all
	// this test's (another test's lease may expire meanwhile), and a put
	// whose attempt was cut off under load may have applied twice, so the
	// history, not a count of puts, is the reference.
	rec.mu.Lock()
	got := slices.Clone(rec.revs)
	syncRev := rec.syncRev
	rec.mu.Unlock()
	want, values := historySince(ctx, t, rawClient(t, shared.Endpoints()), prefix, syncRev+1, endRev)
	if !slices.Equal(got, want) {
		t.Errorf("watch delivered %d revisions, the store has %d under the prefix; first difference at %d", len(got), len(want), firstDiff(got, want))
	}
	// Every put is in that history.
	for i := range puts {
		if !values[strconv.Itoa(i)] {
			t.Fatalf("put of %d is not in the store's history (%d revisions)", i, len(want))
		}
	}
}

// historySince returns the revisions of every change under prefix from
// revision from up to upTo, read with a watch of the raw client, and the
// values those changes wrote.
func historySince(ctx context.Context, t *testing.T, c *clientv3.Client, prefix string, from, upTo int64) ([]int64, map[string]bool) {
	t.Helper()
	wctx, cancel := context.WithCancel(ctx)
	defer cancel()
	var revs []int64
	values := map[string]bool{}
	for resp := range c.Watch(wctx, prefix, clientv3.WithPrefix(), clientv3.WithRev(from)) {
		if err := resp.Err(); err != nil {
			t.Fatalf("history of %q since %d: %v", prefix, from, err)
		}
		for _, ev := range resp.Events {
			revs = append(revs, ev.Kv.ModRevision)
			values[string(ev.Kv.Value)] = true
			if ev.Kv.ModRevision >= upTo {
				return revs, values
			}
		}
	}
	t.Fatalf("history of %q since %d: %v", prefix, from, ctx.Err())
	return nil, nil
}

func TestClusterKeepsServingWithOneMemberDown(t *testing.T) {
	ctx, cancel := context.WithTimeout(t.Context(), 60*time.Second)
	defer cancel()
	cluster := etcdtest.StartCluster(t, 3)
	p := newPlugin(t, etcd.Config{Endpoints: cluster.Endpoints(), DialTimeout: time.Second})
	prefix := uniquePrefix(t)
	b := p.NewBroker(prefix)
	rec := newRecorder("after")
	wa, err := p.NewWatcher(prefix).Watch(ctx, "", rec.handle)
	if err != nil {
		t.Fatal(err)
	}
	defer wa.Stop()
	wait(ctx, t, "the resync", rec.synced)
	if err := b.Put(ctx, "before", []byte("1")); err != nil {
		t.Fatal(err)
	}
	cluster.Member(0).Kill()
	for i := range 20 {
		if err := b.Put(ctx, "after", []byte(strconv.Itoa(i))); err != nil {
			t.Fatalf("Put #%d with one member down: %v", i, err)
		}
		v, found, _, err := b.Get(ctx, "after")
		if err != nil || !found || string(v) != strconv.Itoa(i) {
			t.Fatalf("Get #%d with one member down = %q, %v, %v", i, v, found, err)
		}
	}
	wait(ctx, t, "watch events with one member down", rec.seen["after"])
	if !p.Connected() {
		t.Error("Connected() = false with a quorum up")
	}
}
