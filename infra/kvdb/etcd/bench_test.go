package etcd_test

import (
	"context"
	"strconv"
	"testing"

	clientv3 "go.etcd.io/etcd/client/v3"

	"github.com/plinth-go/plinth/infra/kvdb"
)

// The benchmarks run each operation through the broker ("ours") and through
// the raw client ("raw") against the same in-process server in one run, so
// their ratio is the cost the plugin adds to a round trip.

func BenchmarkPut(b *testing.B) {
	p := sharedPlugin(b)
	prefix := uniquePrefix(b)
	value := []byte("a value of a typical size: an interface config in json")
	ctx := context.Background()
	b.Run("ours", func(b *testing.B) {
		br := p.NewBroker(prefix)
		b.ReportAllocs()
		for b.Loop() {
			if err := br.Put(ctx, "k", value); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("raw", func(b *testing.B) {
		c := p.Client()
		b.ReportAllocs()
		for b.Loop() {
			// The timeout matches what the broker applies.
			cctx, cancel := context.WithTimeout(ctx, 5e9)
			if _, err := c.Put(cctx, prefix+"k", string(value)); err != nil {
				b.Fatal(err)
			}
			cancel()
		}
	})
}

func BenchmarkGet(b *testing.B) {
	p := sharedPlugin(b)
	prefix := uniquePrefix(b)
	ctx := context.Background()
	if err := p.NewBroker(prefix).Put(ctx, "k", []byte("value")); err != nil {
		b.Fatal(err)
	}
	b.Run("ours", func(b *testing.B) {
		br := p.NewBroker(prefix)
		b.ReportAllocs()
		for b.Loop() {
			if _, _, _, err := br.Get(ctx, "k"); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("raw", func(b *testing.B) {
		c := p.Client()
		b.ReportAllocs()
		for b.Loop() {
			cctx, cancel := context.WithTimeout(ctx, 5e9)
			if _, err := c.Get(cctx, prefix+"k"); err != nil {
				b.Fatal(err)
			}
			cancel()
		}
	})
}

// BenchmarkList lists 100 keys: a typical resync of one agent's config.
func BenchmarkList(b *testing.B) {
	p := sharedPlugin(b)
	prefix := uniquePrefix(b)
	ctx := context.Background()
	br := p.NewBroker(prefix)
	for i := range 100 {
		if err := br.Put(ctx, "k"+strconv.Itoa(i), []byte("value")); err != nil {
			b.Fatal(err)
		}
	}
	b.Run("ours", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if kvs, _, err := br.List(ctx, ""); err != nil || len(kvs) != 100 {
				b.Fatal(len(kvs), err)
			}
		}
	})
	b.Run("raw", func(b *testing.B) {
		c := p.Client()
		b.ReportAllocs()
		for b.Loop() {
			cctx, cancel := context.WithTimeout(ctx, 5e9)
			if resp, err := c.Get(cctx, prefix, clientv3.WithPrefix()); err != nil || len(resp.Kvs) != 100 {
				b.Fatal(err)
			}
			cancel()
		}
	})
}

// BenchmarkWatchDelivery measures events per second from a put to the
// callback, with the puts pipelined by 16 writers.
func BenchmarkWatchDelivery(b *testing.B) {
	p := sharedPlugin(b)
	prefix := uniquePrefix(b)
	ctx := b.Context()
	got := make(chan struct{}, 1024)
	synced := make(chan struct{})
	wa, err := p.NewWatcher(prefix).Watch(ctx, "", func(ctx context.Context, ev kvdb.Event) error {
		if ev.Kind == kvdb.EventResync {
			close(synced)
			return nil
		}
		select {
		case got <- struct{}{}:
		case <-ctx.Done():
		}
		return nil
	})
	if err != nil {
		b.Fatal(err)
	}
	defer wa.Stop()
	<-synced // puts before the watch's list would not be events
	br := p.NewBroker(prefix)
	b.ReportAllocs()
	b.SetParallelism(16)
	n := 0
	done := make(chan struct{})
	go func() {
		for range got {
			n++
			if n == b.N {
				close(done)
				return
			}
		}
	}()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			if err := br.Put(ctx, "k", []byte("v")); err != nil {
				b.Error(err)
				return
			}
		}
	})
	<-done
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "events/s")
}

// BenchmarkListLarge lists 100,000 keys, the size of a large cluster's pods,
// which the broker reads in pages: the raw side reads them in one request,
// the fewest round trips and the least work for etcd.
func BenchmarkListLarge(b *testing.B) {
	const keys = 100000
	p := sharedPlugin(b)
	prefix := uniquePrefix(b)
	ctx := context.Background()
	c := p.Client()
	value := []byte(`{"name":"pod","node":"node1","ip":"10.0.0.1","type":"type1"}`)
	// etcd accepts at most 128 operations per transaction.
	for start := 0; start < keys; start += 128 {
		var ops []clientv3.Op
		for i := start; i < min(start+128, keys); i++ {
			ops = append(ops, clientv3.OpPut(prefix+"pod"+strconv.Itoa(i), string(value)))
		}
		if _, err := c.Txn(ctx).Then(ops...).Commit(); err != nil {
			b.Fatal(err)
		}
	}
	b.Run("ours", func(b *testing.B) {
		br := p.NewBroker(prefix)
		b.ReportAllocs()
		for b.Loop() {
			if kvs, _, err := br.List(ctx, ""); err != nil || len(kvs) != keys {
				b.Fatal(len(kvs), err)
			}
		}
	})
	b.Run("raw", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			cctx, cancel := context.WithTimeout(ctx, 5e9)
			if resp, err := c.Get(cctx, prefix, clientv3.WithPrefix()); err != nil || len(resp.Kvs) != keys {
				b.Fatal(err)
			}
			cancel()
		}
	})
}
