package idxmap_test

import (
	"context"
	"errors"
	"fmt"

	"github.com/plinth-go/plinth/idxmap"
	"github.com/plinth-go/plinth/idxmap/mem"
	"github.com/plinth-go/plinth/infra/kvdb"
)

type Interface struct {
	Type string `json:"type"`
}

func ExampleToChan() {
	m := mem.NewMapping[*Interface](nil)
	defer m.Close()
	ch := make(chan idxmap.Event[*Interface])
	reg, err := idxmap.ToChan[*Interface](m, "reader", ch)
	if err != nil {
		fmt.Println(err)
		return
	}
	defer reg.Unregister()
	go m.Put("eth0", &Interface{Type: "ethernet"})
	ev := <-ch
	fmt.Println(ev.Kind, ev.Name, ev.New.Type)
	// Output:
	// create eth0 ethernet
}

func ExampleWatchFuncs() {
	m := mem.NewMapping[string](nil)
	defer m.Close()
	done := make(chan struct{})
	reg, _ := m.Watch("handler", idxmap.WatchFuncs[string]{
		OnCreate: func(name, value string) { fmt.Println("created", name, value) },
		OnDelete: func(name, old string) { fmt.Println("deleted", name, old); close(done) },
	}.Callback())
	defer reg.Unregister()
	m.Put("a", "1")
	m.Put("a", "2") // no OnUpdate: skipped
	m.Delete("a")
	<-done
	// Output:
	// created a 1
	// deleted a 2
}

// snapshotWatcher stands in for a store: its watches deliver one snapshot.
// In an agent the watcher comes from kvdb.Store.NewWatcher.
func snapshotWatcher(kvs ...kvdb.KeyValue) kvdb.Watcher {
	return kvdb.WatchFunc(func(ctx context.Context, prefix string, fn func(context.Context, kvdb.Event) error) (kvdb.Watch, error) {
		w := &stoppedWatch{done: make(chan struct{})}
		close(w.done)
		return w, fn(ctx, kvdb.Event{Kind: kvdb.EventResync, Rev: 7, Snapshot: kvs})
	})
}

type stoppedWatch struct{ done chan struct{} }

func (w *stoppedWatch) Stop()                 {}
func (w *stoppedWatch) Done() <-chan struct{} { return w.done }
func (w *stoppedWatch) Err() error            { return nil }

func ExampleCacheHelper() {
	m := mem.NewMapping(idxmap.Indexers[*Interface]{
		"type": func(i *Interface) []string { return []string{i.Type} },
	})
	h := &idxmap.CacheHelper[*Interface]{
		IDX: m,
		Watcher: snapshotWatcher(
			kvdb.KeyValue{Key: "config/interfaces/eth0", Value: []byte(`{"type":"ethernet"}`), Rev: 3},
			kvdb.KeyValue{Key: "config/interfaces/lo", Value: []byte(`{"type":"loopback"}`), Rev: 5},
			kvdb.KeyValue{Key: "config/interfaces/bad", Value: []byte(`{`), Rev: 6},
		),
		Prefix: "config/interfaces/",
	}
	if err := h.Start(); err != nil {
		fmt.Println(err)
		return
	}
	defer h.Close()
	<-h.Synced()
	fmt.Println(m.ListAllNames())
	fmt.Println(m.ListNames("type", "loopback"))
	fmt.Printf("%+v\n", h.Stats())
	// Output:
	// [eth0 lo]
	// [lo]
	// {Rev:7 Resyncs:1 Skipped:1}
}

func ExampleNameFromKey() {
	name, err := idxmap.NameFromKey("/vnf-agent/vpp1/config/", "/vnf-agent/vpp1/config/eth0")
	fmt.Println(name, err)
	_, err = idxmap.NameFromKey("/vnf-agent/vpp1/config/", "/vnf-agent/vpp2/config/eth0")
	fmt.Println(errors.Is(err, idxmap.ErrKeyOutsidePrefix))
	// Output:
	// eth0 <nil>
	// true
}
