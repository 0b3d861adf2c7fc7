package bench

import (
	"context"
	"encoding/json"
	"fmt"
	"runtime"
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

// idxmapIndexFuncs returns the first n indexes of node, ip, type.
func idxmapIndexFuncs(n int) map[string]func(*idxmapPod) []string {
	all := []struct {
		name string
		fn   func(*idxmapPod) []string
	}{
		{"node", func(p *idxmapPod) []string { return []string{p.Node} }},
		{"ip", func(p *idxmapPod) []string { return []string{p.IP} }},
		{"type", func(p *idxmapPod) []string { return []string{p.Type} }},
	}
	out := map[string]func(*idxmapPod) []string{}
	for _, ix := range all[:n] {
		out[ix.name] = ix.fn
	}
	return out
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

func idxmapClientGoIndexers(indexes int) cache.Indexers {
	ix := cache.Indexers{}
	for name, fn := range idxmapIndexFuncs(indexes) {
		ix[name] = func(obj any) ([]string, error) { return fn(obj.(*idxmapPod)), nil }
	}
	return ix
}

func idxmapKey(obj any) (string, error) { return obj.(*idxmapPod).Name, nil }

func newIdxmapClientGo(entries, indexes int) cache.Indexer {
	s := cache.NewIndexer(idxmapKey, idxmapClientGoIndexers(indexes))
	for i := range entries {
		if err := s.Add(newIdxmapPod(i, 0)); err != nil {
			panic(err)
		}
	}
	return s
}

var idxmapNodeNames = func() []string {
	s := make([]string, 100)
	for i := range s {
		s[i] = "node" + strconv.Itoa(i)
	}
	return s
}()

// idxmapUpdates returns 2n values for the n pods, which move every pod to
// another node and address twice: writing them in turn, every write
// changes every index but "type".
func idxmapUpdates(n int) []*idxmapPod {
	updates := make([]*idxmapPod, 2*n)
	for i := range updates {
		updates[i] = newIdxmapPod(i%n, 1+i/n)
	}
	return updates
}

// BenchmarkIdxmapByIndex looks up the values under one indexed value, from
// every CPU at once, in a map nobody writes: ours GetValuesByIndex (in name
// order), client-go ByIndex (in no order). The timer covers the lookups
// only, on both sides.
func BenchmarkIdxmapByIndex(b *testing.B) {
	for _, n := range idxmapSizes {
		for _, k := range idxmapIndexes {
			ours, peer := newIdxmapOurs(n, k), newIdxmapClientGo(n, k)
			b.Run(fmt.Sprintf("entries=%d/indexes=%d", n, k), func(b *testing.B) {
				interleave(b, side{"ours", func(b *testing.B) {
					b.ReportAllocs()
					defer startCPU().report(b)
					b.RunParallel(func(pb *testing.PB) {
						i := 0
						for pb.Next() {
							if len(ours.GetValuesByIndex("node", idxmapNodeNames[i%100])) == 0 {
								b.Error("empty lookup")
								return
							}
							i++
						}
					})
				}}, side{"client-go", func(b *testing.B) {
					b.ReportAllocs()
					defer startCPU().report(b)
					b.RunParallel(func(pb *testing.PB) {
						i := 0
						for pb.Next() {
							items, err := peer.ByIndex("node", idxmapNodeNames[i%100])
							if err != nil || len(items) == 0 {
								b.Error("empty lookup", err)
								return
							}
							i++
						}
					})
				}})
			})
		}
	}
}

// BenchmarkIdxmapUpdate replaces existing entries with values that move
// them to another node and address, so every index but "type" changes:
// ours Put, client-go Update. The new values are built before the timer,
// which covers the writes only. Each side keeps its place in the list of
// updates from one round to the next, so that no write repeats the value
// already stored.
func BenchmarkIdxmapUpdate(b *testing.B) {
	for _, n := range idxmapSizes {
		for _, k := range idxmapIndexes {
			updates := idxmapUpdates(n)
			ours, peer := newIdxmapOurs(n, k), newIdxmapClientGo(n, k)
			var oursNext, peerNext int
			b.Run(fmt.Sprintf("entries=%d/indexes=%d", n, k), func(b *testing.B) {
				interleave(b, side{"ours", func(b *testing.B) {
					b.ReportAllocs()
					defer startCPU().report(b)
					for b.Loop() {
						p := updates[oursNext%len(updates)]
						ours.Put(p.Name, p)
						oursNext++
					}
				}}, side{"client-go", func(b *testing.B) {
					b.ReportAllocs()
					defer startCPU().report(b)
					for b.Loop() {
						if err := peer.Update(updates[peerNext%len(updates)]); err != nil {
							b.Fatal(err)
						}
						peerNext++
					}
				}})
			})
		}
	}
}

// BenchmarkIdxmapUpdateThenByIndex is what a cache fed by a watch sees:
// a value changes, then a reader looks up the indexed value it moved to.
// Each operation is one update of BenchmarkIdxmapUpdate followed by the
// lookup of the pod's new node, whose bucket the update has just changed:
// ours Put and GetValuesByIndex, client-go Update and ByIndex. The timer
// covers both calls on both sides.
func BenchmarkIdxmapUpdateThenByIndex(b *testing.B) {
	for _, n := range idxmapSizes {
		for _, k := range idxmapIndexes {
			updates := idxmapUpdates(n)
			ours, peer := newIdxmapOurs(n, k), newIdxmapClientGo(n, k)
			var oursNext, peerNext int
			b.Run(fmt.Sprintf("entries=%d/indexes=%d", n, k), func(b *testing.B) {
				interleave(b, side{"ours", func(b *testing.B) {
					b.ReportAllocs()
					defer startCPU().report(b)
					for b.Loop() {
						p := updates[oursNext%len(updates)]
						ours.Put(p.Name, p)
						if len(ours.GetValuesByIndex("node", p.Node)) == 0 {
							b.Fatal("empty lookup")
						}
						oursNext++
					}
				}}, side{"client-go", func(b *testing.B) {
					b.ReportAllocs()
					defer startCPU().report(b)
					for b.Loop() {
						p := updates[peerNext%len(updates)]
						if err := peer.Update(p); err != nil {
							b.Fatal(err)
						}
						items, err := peer.ByIndex("node", p.Node)
						if err != nil || len(items) == 0 {
							b.Fatal("empty lookup", err)
						}
						peerNext++
					}
				}})
			})
		}
	}
}

// BenchmarkIdxmapUpdateLargeBuckets is BenchmarkIdxmapUpdate for an
// index with two values, each held by half of the entries (a phase, a
// namespace): every write takes a pod out of one large bucket and puts it
// into the other, pods taken in no name order. The timer covers the
// writes only, on both sides.
func BenchmarkIdxmapUpdateLargeBuckets(b *testing.B) {
	phase := func(p *idxmapPod) []string { return []string{p.Type} }
	for _, n := range idxmapSizes {
		updates := make([]*idxmapPod, 2*n)
		for i := range updates {
			k := i * 7919 % n // 7919 is prime: every pod once per n writes
			updates[i] = &idxmapPod{Name: "pod" + strconv.Itoa(k), Type: "phase" + strconv.Itoa((k+1+i/n)%2)}
		}
		ours := mem.NewMapping(idxmap.Indexers[*idxmapPod]{"phase": phase})
		peer := cache.NewIndexer(idxmapKey, cache.Indexers{"phase": func(obj any) ([]string, error) { return phase(obj.(*idxmapPod)), nil }})
		for i := range n {
			p := &idxmapPod{Name: "pod" + strconv.Itoa(i), Type: "phase" + strconv.Itoa(i%2)}
			ours.Put(p.Name, p)
			if err := peer.Add(p); err != nil {
				b.Fatal(err)
			}
		}
		var oursNext, peerNext int
		b.Run(fmt.Sprintf("entries=%d", n), func(b *testing.B) {
			interleave(b, side{"ours", func(b *testing.B) {
				b.ReportAllocs()
				defer startCPU().report(b)
				for b.Loop() {
					p := updates[oursNext%len(updates)]
					ours.Put(p.Name, p)
					oursNext++
				}
			}}, side{"client-go", func(b *testing.B) {
				b.ReportAllocs()
				defer startCPU().report(b)
				for b.Loop() {
					if err := peer.Update(updates[peerNext%len(updates)]); err != nil {
						b.Fatal(err)
					}
					peerNext++
				}
			}})
		})
	}
}

// BenchmarkIdxmapCacheSync fills an indexed cache from 100,000 keys in
// etcd, with no index and with the 3 indexes, the same on both sides.
// Ours: a CacheHelper over the etcd plugin into a mem.Mapping (list,
// decode, index, start the watch), which decodes on several goroutines.
// client-go: what a user of clientv3 and client-go would write, one prefix
// Get, a JSON decode of each value, Replace into a client-go indexer (as a
// reflector fills it), then a watch from the next revision. The timer covers a whole sync, from an empty
// map to a filled one, on both sides; cpu-ns/op is the CPU time of the
// process (every goroutine, and the etcd server running in it), so that
// decoding on several cores does not pass for cheaper work.
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
	last := "pod" + strconv.Itoa(keys-1)

	for _, k := range []int{0, 3} {
		ours := func(b *testing.B) {
			m := newIdxmapOurs(0, k)
			h := &idxmap.CacheHelper[*idxmapPod]{IDX: m, Watcher: p.NewWatcher(prefix)}
			if err := h.Start(); err != nil {
				b.Fatal(err)
			}
			<-h.Synced()
			h.Close()
			if _, ok := m.GetValue(last); !ok || m.Len() != keys {
				b.Fatalf("cached %d keys, want %d", m.Len(), keys)
			}
		}
		peer := func(b *testing.B) {
			resp, err := cli.Get(ctx, prefix, clientv3.WithPrefix())
			if err != nil {
				b.Fatal(err)
			}
			items := make([]any, len(resp.Kvs))
			for i, kv := range resp.Kvs {
				var v *idxmapPod
				if err := json.Unmarshal(kv.Value, &v); err != nil {
					b.Fatal(err)
				}
				items[i] = v
			}
			s := cache.NewIndexer(idxmapKey, idxmapClientGoIndexers(k))
			if err := s.Replace(items, strconv.FormatInt(resp.Header.Revision, 10)); err != nil {
				b.Fatal(err)
			}
			if _, ok, _ := s.GetByKey(last); !ok || len(items) != keys {
				b.Fatalf("cached %d keys, want %d", len(items), keys)
			}
			// Then watch from the next revision, as ours does, and stop.
			wctx, cancel := context.WithCancel(ctx)
			watch := cli.Watch(wctx, prefix, clientv3.WithPrefix(), clientv3.WithRev(resp.Header.Revision+1))
			cancel()
			for range watch {
			}
		}
		// Each side syncs once before its timer, so that neither pays alone
		// for the first growth of the heap or the server's first read of
		// the keys, and collects the garbage of the side before it.
		timed := func(sync func(*testing.B)) func(*testing.B) {
			return func(b *testing.B) {
				b.ReportAllocs()
				sync(b)
				runtime.GC()
				cpu := startCPU()
				for b.Loop() {
					sync(b)
				}
				cpu.report(b)
			}
		}
		b.Run(fmt.Sprintf("keys=%d/indexes=%d", keys, k), func(b *testing.B) {
			interleave(b, side{"ours", timed(ours)}, side{"client-go", timed(peer)})
		})
	}
}
