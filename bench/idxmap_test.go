package bench

import (
	"context"
	"encoding/json"
	"fmt"
	"strconv"
	"testing"

	clientv3 "go.etcd.io/etcd/client/v3"
	"go.uber.org/zap"
	"k8s.io/client-go/tools/cache"

	"github.com/plinth-go/plinth/idxmap"
	"github.com/plinth-go/plinth/idxmap/mem"
	"github.com/plinth-go/plinth/infra/kvdb/etcd"
	"github.com/plinth-go/plinth/infra/kvdb/etcd/etcdtest"
)

// idxmapPod is the value of the indexed-map benchmarks: a pod with the
// fields an agent indexes.
type idxmapPod struct {
	Name string `json:"name"`
	Node string `json:"node"`
	IP   string `json:"ip"`
	Type string `json:"type"`
}

// Indexes: "node" has 100 values (buckets of 50 pods at 5,000 entries, of
// 1,000 at 100,000), "ip" is unique, "type" has 10 values. Lookups query
// "node"; with one index it is the only one. 5,000 is client-go's
// BenchmarkIndexer size; 100,000 a large cluster.
var (
	idxmapSizes   = []int{5000, 100000}
	idxmapIndexes = []int{1, 3}
)

func idxmapIndexFuncs(n int) map[string]func(*idxmapPod) []string {
	all := map[string]func(*idxmapPod) []string{
		"node": func(p *idxmapPod) []string { return []string{p.Node} },
		"ip":   func(p *idxmapPod) []string { return []string{p.IP} },
		"type": func(p *idxmapPod) []string { return []string{p.Type} },
	}
	if n == 1 {
		return map[string]func(*idxmapPod) []string{"node": all["node"]}
	}
	return all
}

func newIdxmapPod(i, round int) *idxmapPod {
	name := "pod" + strconv.Itoa(i)
	return &idxmapPod{
		Name: name,
		Node: "node" + strconv.Itoa((i+round)%100),
		IP:   strconv.Itoa(round) + "." + strconv.Itoa(i),
		Type: "type" + strconv.Itoa(i%10),
	}
}

func newIdxmapOurs(entries, indexes int) *mem.Mapping[*idxmapPod] {
	ix := idxmap.Indexers[*idxmapPod]{}
	for name, fn := range idxmapIndexFuncs(indexes) {
		ix[name] = fn
	}
	m := mem.NewMapping(ix)
	for i := range entries {
		p := newIdxmapPod(i, 0)
		m.Put(p.Name, p)
	}
	return m
}

func newIdxmapClientGo(entries, indexes int) cache.Indexer {
	ix := cache.Indexers{}
	for name, fn := range idxmapIndexFuncs(indexes) {
		ix[name] = func(obj any) ([]string, error) { return fn(obj.(*idxmapPod)), nil }
	}
	keyFunc := func(obj any) (string, error) { return obj.(*idxmapPod).Name, nil }
	s := cache.NewIndexer(keyFunc, ix)
	for i := range entries {
		if err := s.Add(newIdxmapPod(i, 0)); err != nil {
			panic(err)
		}
	}
	return s
}

// BenchmarkIdxmapByIndex looks up the values under one indexed value, from
// every CPU at once: ours GetValuesByIndex (sorted), client-go ByIndex
// (unordered).
func BenchmarkIdxmapByIndex(b *testing.B) {
	for _, n := range idxmapSizes {
		for _, k := range idxmapIndexes {
			prefix := fmt.Sprintf("entries=%d/indexes=%d/", n, k)
			ours := newIdxmapOurs(n, k)
			b.Run(prefix+"ours", func(b *testing.B) {
				b.ReportAllocs()
				b.RunParallel(func(pb *testing.PB) {
					i := 0
					for pb.Next() {
						if len(ours.GetValuesByIndex("node", idxmapNodeNames[i%100])) == 0 {
							b.Fatal("empty lookup")
						}
						i++
					}
				})
			})
			peer := newIdxmapClientGo(n, k)
			b.Run(prefix+"client-go", func(b *testing.B) {
				b.ReportAllocs()
				b.RunParallel(func(pb *testing.PB) {
					i := 0
					for pb.Next() {
						items, err := peer.ByIndex("node", idxmapNodeNames[i%100])
						if err != nil || len(items) == 0 {
							b.Fatal("empty lookup", err)
						}
						i++
					}
				})
			})
		}
	}
}

var idxmapNodeNames = func() []string {
	s := make([]string, 100)
	for i := range s {
		s[i] = "node" + strconv.Itoa(i)
	}
	return s
}()

// BenchmarkIdxmapUpdate replaces existing entries with values that move
// them to another node and address, so every index but "type" changes.
// The new values are built before the timer.
func BenchmarkIdxmapUpdate(b *testing.B) {
	for _, n := range idxmapSizes {
		for _, k := range idxmapIndexes {
			prefix := fmt.Sprintf("entries=%d/indexes=%d/", n, k)
			updates := make([]*idxmapPod, 2*n)
			for i := range updates {
				updates[i] = newIdxmapPod(i%n, 1+i/n)
			}
			ours := newIdxmapOurs(n, k)
			b.Run(prefix+"ours", func(b *testing.B) {
				b.ReportAllocs()
				i := 0
				for b.Loop() {
					p := updates[i%len(updates)]
					ours.Put(p.Name, p)
					i++
				}
			})
			peer := newIdxmapClientGo(n, k)
			b.Run(prefix+"client-go", func(b *testing.B) {
				b.ReportAllocs()
				i := 0
				for b.Loop() {
					if err := peer.Update(updates[i%len(updates)]); err != nil {
						b.Fatal(err)
					}
					i++
				}
			})
		}
	}
}

// BenchmarkIdxmapCacheSync fills an indexed cache from 100,000 keys in
// etcd: ours with a CacheHelper over the etcd plugin (list, decode, index,
// then watch), the peer with one prefix Get and a JSON decode of each value
// into a plain map.
func BenchmarkIdxmapCacheSync(b *testing.B) {
	const keys = 100000
	const prefix = "/bench/pods/"
	srv := etcdtest.Start(b)
	ctx := context.Background()
	cli, err := clientv3.New(clientv3.Config{Endpoints: srv.Endpoints(), Logger: zap.NewNop()})
	if err != nil {
		b.Fatal(err)
	}
	defer cli.Close()
	// etcd accepts at most 128 operations per transaction.
	for start := 0; start < keys; start += 128 {
		var ops []clientv3.Op
		for i := start; i < min(start+128, keys); i++ {
			data, _ := json.Marshal(newIdxmapPod(i, 0))
			ops = append(ops, clientv3.OpPut(prefix+"pod"+strconv.Itoa(i), string(data)))
		}
		if _, err := cli.Txn(ctx).Then(ops...).Commit(); err != nil {
			b.Fatal(err)
		}
	}
	p := etcd.NewPlugin(etcd.UseClient(cli))
	if err := p.Init(); err != nil {
		b.Fatal(err)
	}
	defer p.Close()
	name := fmt.Sprintf("keys=%d/", keys)

	// Each side syncs once before its timed loop, so that neither pays
	// alone for the first growth of the heap or the server's first read of
	// the keys.
	ours := func(b *testing.B) {
		m := newIdxmapOurs(0, 3)
		h := &idxmap.CacheHelper[*idxmapPod]{IDX: m, Watcher: p.NewWatcher(prefix)}
		if err := h.Start(); err != nil {
			b.Fatal(err)
		}
		<-h.Synced()
		h.Close()
		if m.Len() != keys {
			b.Fatalf("cached %d keys, want %d", m.Len(), keys)
		}
	}
	// etcdGetPaged reads in pages of 1,000 keys: it tells the cost of
	// paging with a fixed page size, which the etcd plugin avoids (it reads
	// 1,000 keys, then the rest in pages of up to 16 MiB).
	etcdGetPaged := func(b *testing.B) {
		m := make(map[string]*idxmapPod, keys)
		end := clientv3.GetPrefixRangeEnd(prefix)
		opts := []clientv3.OpOption{clientv3.WithRange(end), clientv3.WithLimit(1000)}
		start, rev := prefix, int64(0)
		for {
			resp, err := cli.Get(ctx, start, opts...)
			if err != nil {
				b.Fatal(err)
			}
			if rev == 0 {
				rev = resp.Header.Revision
				opts = append(opts, clientv3.WithRev(rev))
			}
			for _, kv := range resp.Kvs {
				var v *idxmapPod
				if err := json.Unmarshal(kv.Value, &v); err != nil {
					b.Fatal(err)
				}
				m[string(kv.Key[len(prefix):])] = v
			}
			if !resp.More || len(resp.Kvs) == 0 {
				break
			}
			start = string(resp.Kvs[len(resp.Kvs)-1].Key) + "\x00"
		}
		if len(m) != keys {
			b.Fatalf("decoded %d keys, want %d", len(m), keys)
		}
	}
	etcdGet := func(b *testing.B) {
		resp, err := cli.Get(ctx, prefix, clientv3.WithPrefix())
		if err != nil {
			b.Fatal(err)
		}
		m := make(map[string]*idxmapPod, len(resp.Kvs))
		for _, kv := range resp.Kvs {
			var v *idxmapPod
			if err := json.Unmarshal(kv.Value, &v); err != nil {
				b.Fatal(err)
			}
			m[string(kv.Key[len(prefix):])] = v
		}
		if len(m) != keys {
			b.Fatalf("decoded %d keys, want %d", len(m), keys)
		}
	}
	for _, impl := range []struct {
		name string
		sync func(*testing.B)
	}{{"ours", ours}, {"etcd-get-paged", etcdGetPaged}, {"etcd-get", etcdGet}} {
		b.Run(name+impl.name, func(b *testing.B) {
			b.ReportAllocs()
			impl.sync(b) // the warm-up; b.Loop starts the timer
			for b.Loop() {
				impl.sync(b)
			}
		})
	}
}
