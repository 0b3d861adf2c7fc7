package idxmap_test

import (
	"context"
	"encoding/json"
	"fmt"
	"strconv"
	"testing"

	"github.com/plinth-go/plinth/idxmap"
	"github.com/plinth-go/plinth/idxmap/mem"
	"github.com/plinth-go/plinth/infra/kvdb"
)

// BenchmarkCacheHelperResync applies a first snapshot of 100,000 keys, the
// work of an initial sync without the store, next to decoding the same
// values into a plain map: the difference is the cost of the cache. The
// keys sort in creation order, as the keys of a list from etcd come.
func BenchmarkCacheHelperResync(b *testing.B) {
	const keys = 100000
	snap := make([]kvdb.KeyValue, keys)
	for i := range snap {
		v, _ := json.Marshal(iface{Type: "type" + strconv.Itoa(i%10), MTU: i})
		snap[i] = kvdb.KeyValue{Key: fmt.Sprintf("if/eth%06d", i), Value: v, Rev: int64(i + 1)}
	}
	ev := kvdb.Event{Kind: kvdb.EventResync, Rev: keys, Snapshot: snap}
	w := kvdb.WatchFunc(func(ctx context.Context, _ string, fn func(context.Context, kvdb.Event) error) (kvdb.Watch, error) {
		wa := &stoppedWatch{done: make(chan struct{})}
		close(wa.done)
		return wa, fn(ctx, ev)
	})
	b.Run("cache", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			m := mem.NewMapping(idxmap.Indexers[*iface]{"type": byType})
			h := &idxmap.CacheHelper[*iface]{IDX: m, Watcher: w, Prefix: "if/"}
			if err := h.Start(); err != nil {
				b.Fatal(err)
			}
			h.Close()
		}
	})
	b.Run("decode-only", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			m := make(map[string]*iface, keys)
			for _, kv := range snap {
				var v *iface
				if err := json.Unmarshal(kv.Value, &v); err != nil {
					b.Fatal(err)
				}
				m[kv.Key[3:]] = v
			}
		}
	})
}
