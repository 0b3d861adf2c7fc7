package bench

import (
	"context"
	"strconv"
	"sync/atomic"
	"testing"

	clientv3 "go.etcd.io/etcd/client/v3"
	"go.uber.org/zap"

	"github.com/plinth-go/plinth/infra/kvdb"
	"github.com/plinth-go/plinth/infra/kvdb/etcd"
	"github.com/plinth-go/plinth/infra/kvdb/etcd/etcdtest"
)

// The kvdb benchmarks run each operation through a broker or watcher of the
// etcd plugin ("ours") and through a clientv3.Client of its own ("raw"),
// both connected to one in-process etcd server (no fsync, so a round trip
// is mostly CPU and the plugin's share is as visible as it gets). Every raw
// call gets a context with the plugin's default operation timeout, which is
// what the broker adds to a context without a deadline.

// kvdbValue is the size of a typical value: a small config in JSON.
var kvdbValue = []byte(`{"name":"eth0","type":"ethernet","enabled":true,"mtu":1500,"ip":["10.0.0.1/24"]}`)

const kvdbTimeout = etcd.DefaultOperationTimeout

// kvdbSetup starts an etcd server, the plugin and a raw client on it.
func kvdbSetup(b *testing.B) (*etcd.Plugin, *clientv3.Client) {
	b.Helper()
	srv := etcdtest.Start(b)
	cli := kvdbClient(b, srv.Endpoints())
	p := etcd.NewPlugin(etcd.UseConf(etcd.Config{Endpoints: srv.Endpoints()}))
	if err := p.Init(); err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { p.Close() })
	return p, cli
}

// kvdbClient returns a raw client, closed before the server.
func kvdbClient(b *testing.B, endpoints []string) *clientv3.Client {
	b.Helper()
	cli, err := clientv3.New(clientv3.Config{Endpoints: endpoints, Logger: zap.NewNop()})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { cli.Close() })
	return cli
}

// kvdbPair compares ours and raw: ours(b, n) and raw(b, n) each do n
// operations. The samples alternate (see interleave): ours, raw, ours, raw
// … Within every sample both sides run, in alternating chunks of up to
// chunk operations, and only the sample's own side is timed: the store
// grows alike whichever side is measured, and each is timed amid the same
// work of the other (the server's background work, a raft snapshot, a
// batch commit), rather than ours on a fresh store and raw on a grown one.
// Stopping the timer between chunks keeps the other side out of the time
// and of the allocation counts; allocations of the in-process server
// during the timed chunks count on both sides alike. A non-empty rateUnit
// reports the operations per second under that name.
func kvdbPair(b *testing.B, chunk int, rateUnit string, ours, raw func(b *testing.B, n int)) {
	b.Helper()
	run := func(timed, other func(b *testing.B, n int)) func(b *testing.B) {
		return func(b *testing.B) {
			b.ReportAllocs()
			// b.N rather than b.Loop: the loop runs chunks, not operations.
			for done := 0; done < b.N; done += chunk {
				n := min(chunk, b.N-done)
				b.StopTimer()
				other(b, n)
				b.StartTimer()
				timed(b, n)
			}
			if rateUnit != "" {
				b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), rateUnit)
			}
		}
	}
	interleave(b, side{"ours", run(ours, raw)}, side{"raw", run(raw, ours)})
}

// kvdbChunk is the chunk of the round-trip benchmarks: a few milliseconds,
// short next to the changes of load on a shared machine, long next to
// stopping and starting the timer.
const kvdbChunk = 16

// BenchmarkKvdbPut puts one value again and again.
func BenchmarkKvdbPut(b *testing.B) {
	p, cli := kvdbSetup(b)
	const prefix = "/bench/kvdb/put/"
	ctx := context.Background()
	br := p.NewBroker(prefix)
	kvdbPair(b, kvdbChunk, "", func(b *testing.B, n int) {
		for range n {
			if err := br.Put(ctx, "eth0", kvdbValue); err != nil {
				b.Fatal(err)
			}
		}
	}, func(b *testing.B, n int) {
		for range n {
			cctx, cancel := context.WithTimeout(ctx, kvdbTimeout)
			_, err := cli.Put(cctx, prefix+"eth0", string(kvdbValue))
			cancel()
			if err != nil {
				b.Fatal(err)
			}
		}
	})
}

// BenchmarkKvdbGet reads one value that exists.
func BenchmarkKvdbGet(b *testing.B) {
	p, cli := kvdbSetup(b)
	const prefix = "/bench/kvdb/get/"
	ctx := context.Background()
	br := p.NewBroker(prefix)
	if err := br.Put(ctx, "eth0", kvdbValue); err != nil {
		b.Fatal(err)
	}
	kvdbPair(b, kvdbChunk, "", func(b *testing.B, n int) {
		for range n {
			if _, found, _, err := br.Get(ctx, "eth0"); err != nil || !found {
				b.Fatal(found, err)
			}
		}
	}, func(b *testing.B, n int) {
		for range n {
			cctx, cancel := context.WithTimeout(ctx, kvdbTimeout)
			resp, err := cli.Get(cctx, prefix+"eth0")
			cancel()
			if err != nil || len(resp.Kvs) != 1 {
				b.Fatal(err)
			}
		}
	})
}

// BenchmarkKvdbList lists 100 keys, the size of a typical agent's config:
// ours returns them as []kvdb.KeyValue with relative keys, raw as the
// client's response.
func BenchmarkKvdbList(b *testing.B) {
	const keys = 100
	p, cli := kvdbSetup(b)
	const prefix = "/bench/kvdb/list/"
	ctx := context.Background()
	br := p.NewBroker(prefix)
	for i := range keys {
		if err := br.Put(ctx, "eth"+strconv.Itoa(i), kvdbValue); err != nil {
			b.Fatal(err)
		}
	}
	kvdbPair(b, kvdbChunk, "", func(b *testing.B, n int) {
		for range n {
			if kvs, _, err := br.List(ctx, ""); err != nil || len(kvs) != keys {
				b.Fatal(len(kvs), err)
			}
		}
	}, func(b *testing.B, n int) {
		for range n {
			cctx, cancel := context.WithTimeout(ctx, kvdbTimeout)
			resp, err := cli.Get(cctx, prefix, clientv3.WithPrefix())
			cancel()
			if err != nil || len(resp.Kvs) != keys {
				b.Fatal(err)
			}
		}
	})
}

// kvdbCounter counts the events a watch delivered and signals when it
// reaches a wanted number.
type kvdbCounter struct {
	n, want atomic.Int64
	reached chan struct{} // cap 1
}

func newKvdbCounter() *kvdbCounter { return &kvdbCounter{reached: make(chan struct{}, 1)} }

func (c *kvdbCounter) add(n int) {
	if n > 0 && c.n.Add(int64(n)) == c.want.Load() {
		c.reached <- struct{}{}
	}
}

// BenchmarkKvdbWatch measures the delivery of changes, from the first put to
// the last event in the consumer: one op is one event. Two writers put
// transactions of 100 keys (etcd allows 128 operations per transaction), so
// that events come in bursts, as when a peer rewrites its config, and the
// watch rather than one put at a time sets the pace. The writers have a
// client of their own. Both watches ask for previous values, as ours always
// does, and they run at the same time on prefixes of their own.
func BenchmarkKvdbWatch(b *testing.B) {
	const batch, writers = 100, 2
	p, cli := kvdbSetup(b)
	wcli := kvdbClient(b, cli.Endpoints())
	ctx := b.Context()
	const oursPrefix, rawPrefix = "/bench/kvdb/watch/ours/", "/bench/kvdb/watch/raw/"

	// write puts n changes under prefix, split between the writers, and
	// waits for c to count them.
	write := func(b *testing.B, c *kvdbCounter, prefix string, n int) {
		c.want.Store(c.n.Load() + int64(n))
		errs := make(chan error, writers)
		for w := range writers {
			go func() {
				var err error
				for start := w * batch; start < n && err == nil; start += writers * batch {
					ops := make([]clientv3.Op, 0, batch)
					for i := start; i < min(start+batch, n); i++ {
						ops = append(ops, clientv3.OpPut(prefix+"k"+strconv.Itoa(i%1000), string(kvdbValue)))
					}
					cctx, cancel := context.WithTimeout(ctx, kvdbTimeout)
					_, err = wcli.Txn(cctx).Then(ops...).Commit()
					cancel()
				}
				errs <- err
			}()
		}
		for range writers {
			if err := <-errs; err != nil {
				b.Fatal(err)
			}
		}
		<-c.reached
	}

	ours := newKvdbCounter()
	synced := make(chan struct{})
	w, err := p.NewWatcher(oursPrefix).Watch(ctx, "", func(_ context.Context, ev kvdb.Event) error {
		if ev.Kind == kvdb.EventResync {
			close(synced)
			return nil
		}
		ours.add(1)
		return nil
	})
	if err != nil {
		b.Fatal(err)
	}
	defer w.Stop()
	<-synced // puts before the watch's list would not be events

	raw := newKvdbCounter()
	resp, err := cli.Get(ctx, rawPrefix, clientv3.WithPrefix())
	if err != nil {
		b.Fatal(err)
	}
	wctx, cancel := context.WithCancel(clientv3.WithRequireLeader(ctx))
	defer cancel()
	ch := cli.Watch(wctx, rawPrefix, clientv3.WithPrefix(), clientv3.WithRev(resp.Header.Revision+1), clientv3.WithPrevKV())
	rawDone := make(chan struct{})
	go func() {
		defer close(rawDone)
		for resp := range ch {
			raw.add(len(resp.Events))
		}
	}()
	defer func() { cancel(); <-rawDone }()

	// Chunks of 1,000 events: tens of milliseconds.
	kvdbPair(b, 1000, "events/s", func(b *testing.B, n int) {
		write(b, ours, oursPrefix, n)
	}, func(b *testing.B, n int) {
		write(b, raw, rawPrefix, n)
	})
}
