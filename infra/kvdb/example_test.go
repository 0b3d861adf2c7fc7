package kvdb_test

import (
	"context"
	"fmt"

	"google.golang.org/protobuf/types/known/structpb"

	"github.com/plinth-go/plinth/infra/kvdb"
)

func ExampleJSON() {
	m, _ := structpb.NewStruct(map[string]any{"mtu": 1500, "name": "eth0"})
	data, _ := kvdb.JSON.Marshal(m)
	back := &structpb.Struct{}
	_ = kvdb.JSON.Unmarshal(data, back)
	fmt.Println(back.Fields["name"].GetStringValue(), back.Fields["mtu"].GetNumberValue())
	// Output: eth0 1500
}

func ExamplePrefixEnd() {
	fmt.Printf("%q\n", kvdb.PrefixEnd("/vnf-agent/vpp1/"))
	// Output: "/vnf-agent/vpp10"
}

// A consumer rebuilds the content of a prefix from a watch: a resync
// replaces its state, puts and deletes update it.
func ExampleWatchChan() {
	// A watcher that replays three events stands in for a store here.
	w := kvdb.WatchFunc(func(ctx context.Context, prefix string, fn func(context.Context, kvdb.Event) error) (kvdb.Watch, error) {
		return replay(ctx, fn,
			kvdb.Event{Kind: kvdb.EventResync, Rev: 7, Snapshot: []kvdb.KeyValue{{Key: "a", Value: []byte("1"), Rev: 3}}},
			kvdb.Event{Kind: kvdb.EventPut, Key: "b", Value: []byte("2"), Rev: 8},
			kvdb.Event{Kind: kvdb.EventDelete, Key: "a", PrevValue: []byte("1"), Rev: 9},
		), nil
	})
	ch, wa, err := kvdb.WatchChan(context.Background(), w, "")
	if err != nil {
		fmt.Println(err)
		return
	}
	defer wa.Stop()
	state := map[string]string{}
	for ev := range ch {
		switch ev.Kind {
		case kvdb.EventResync:
			clear(state)
			for _, kv := range ev.Snapshot {
				state[kv.Key] = string(kv.Value)
			}
		case kvdb.EventPut:
			state[ev.Key] = string(ev.Value)
		case kvdb.EventDelete:
			delete(state, ev.Key)
		}
		fmt.Println(ev.Rev, ev.Kind, state)
	}
	// Output:
	// 7 resync map[a:1]
	// 8 put map[a:1 b:2]
	// 9 delete map[b:2]
}

// replayWatch delivers fixed events, then ends.
type replayWatch struct {
	cancel context.CancelFunc
	done   chan struct{}
}

func replay(ctx context.Context, fn func(context.Context, kvdb.Event) error, evs ...kvdb.Event) *replayWatch {
	ctx, cancel := context.WithCancel(ctx)
	w := &replayWatch{cancel: cancel, done: make(chan struct{})}
	go func() {
		defer close(w.done)
		defer cancel()
		for _, ev := range evs {
			if fn(ctx, ev) != nil || ctx.Err() != nil {
				return
			}
		}
	}()
	return w
}

func (w *replayWatch) Stop()                 { w.cancel(); <-w.done }
func (w *replayWatch) Done() <-chan struct{} { return w.done }
func (w *replayWatch) Err() error            { return nil }

// A plugin that builds keys from names users give it refuses a name that
// would not stay one segment of the key.
func ExampleSegmentProblem() {
	for _, label := range []string{"vpp1", "vpp/1", "vpp 1", ".."} {
		if p := kvdb.SegmentProblem(label); p != "" {
			fmt.Printf("%q: the label %s\n", label, p)
			continue
		}
		fmt.Printf("%q: ok\n", label)
	}
	// Output:
	// "vpp1": ok
	// "vpp/1": the label contains "/"
	// "vpp 1": the label contains white space ' '
	// "..": the label is a path element
}
