package kvdbtest

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"strconv"
	"testing"

	"github.com/plinth-go/plinth/infra/kvdb"
)

type watchCase struct {
	name string
	doc  string
	run  func(ctx context.Context, b kvdb.BytesBroker, w kvdb.Watcher) error
}

// RunWatch checks a Watcher implementation. newPair returns a broker and a
// watcher on the same, empty prefix; it is called once per case.
func RunWatch(t *testing.T, newPair func(t *testing.T) (kvdb.BytesBroker, kvdb.Watcher)) {
	t.Helper()
	for _, c := range watchCases {
		t.Run(c.name, func(t *testing.T) {
			ctx, cancel := context.WithTimeout(t.Context(), Timeout)
			defer cancel()
			b, w := newPair(t)
			if err := c.run(ctx, b, w); err != nil {
				t.Errorf("%s\n%v", c.doc, err)
			}
		})
	}
}

// next receives one event or fails when ctx ends or the watch does.
func next(ctx context.Context, ch <-chan kvdb.Event, wa kvdb.Watch) (kvdb.Event, error) {
	select {
	case ev, ok := <-ch:
		if !ok {
			return kvdb.Event{}, fmt.Errorf("watch ended early: %v", wa.Err())
		}
		return ev, nil
	case <-ctx.Done():
		return kvdb.Event{}, fmt.Errorf("waiting for an event: %w", ctx.Err())
	}
}

// State is the content of a prefix as a watch consumer rebuilds it.
type State map[string]string

// Apply updates s with ev, replacing it on a resync.
func (s State) Apply(ev kvdb.Event) {
	switch ev.Kind {
	case kvdb.EventResync:
		clear(s)
		for _, kv := range ev.Snapshot {
			s[kv.Key] = string(kv.Value)
		}
	case kvdb.EventPut:
		s[ev.Key] = string(ev.Value)
	case kvdb.EventDelete:
		delete(s, ev.Key)
	}
}

var watchCases = []watchCase{
	{"StartsWithResync", "The first event is a resync with the content of the prefix and its revision.", func(ctx context.Context, b kvdb.BytesBroker, w kvdb.Watcher) error {
		for _, k := range []string{"w/2", "w/1", "x"} {
			if err := b.Put(ctx, k, []byte("v"+k)); err != nil {
				return err
			}
		}
		_, _, rev, err := b.Get(ctx, "x")
		if err != nil {
			return err
		}
		ch, wa, err := kvdb.WatchChan(ctx, w, "w/")
		if err != nil {
			return err
		}
		defer wa.Stop()
		ev, err := next(ctx, ch, wa)
		if err != nil {
			return err
		}
		var keys []string
		for _, kv := range ev.Snapshot {
			keys = append(keys, kv.Key)
		}
		if ev.Kind != kvdb.EventResync || ev.Rev < rev || fmt.Sprint(keys) != "[w/1 w/2]" {
			return fmt.Errorf("first event = %v rev %d keys %q, want resync rev >= %d keys [w/1 w/2]", ev.Kind, ev.Rev, keys, rev)
		}
		return nil
	}},
	{"ChangesInOrder", "Puts and deletes follow the resync in revision order, with values and previous values.", func(ctx context.Context, b kvdb.BytesBroker, w kvdb.Watcher) error {
		ch, wa, err := kvdb.WatchChan(ctx, w, "")
		if err != nil {
			return err
		}
		defer wa.Stop()
		first, err := next(ctx, ch, wa)
		if err != nil {
			return err
		}
		if err := b.Put(ctx, "a", []byte("1")); err != nil {
			return err
		}
		if err := b.Put(ctx, "a", []byte("2")); err != nil {
			return err
		}
		if _, err := b.Delete(ctx, "a"); err != nil {
			return err
		}
		want := []kvdb.Event{
			{Kind: kvdb.EventPut, Key: "a", Value: []byte("1")},
			{Kind: kvdb.EventPut, Key: "a", Value: []byte("2"), PrevValue: []byte("1")},
			{Kind: kvdb.EventDelete, Key: "a", PrevValue: []byte("2")},
		}
		var errs []error
		last := first.Rev
		for i, w := range want {
			ev, err := next(ctx, ch, wa)
			if err != nil {
				return err
			}
			if ev.Kind != w.Kind || ev.Key != w.Key || string(ev.Value) != string(w.Value) || string(ev.PrevValue) != string(w.PrevValue) {
				errs = append(errs, fmt.Errorf("event %d = %v %q %q prev %q, want %v %q %q prev %q", i, ev.Kind, ev.Key, ev.Value, ev.PrevValue, w.Kind, w.Key, w.Value, w.PrevValue))
			}
			if ev.Rev <= last {
				errs = append(errs, fmt.Errorf("event %d rev %d, want > %d", i, ev.Rev, last))
			}
			last = ev.Rev
		}
		return errors.Join(errs...)
	}},
	{"NoGapAfterResync", "Writes racing with the start of a watch all reach the consumer: resync plus events equal the store.", func(ctx context.Context, b kvdb.BytesBroker, w kvdb.Watcher) error {
		const n = 200
		done := make(chan error, 1)
		go func() {
			for i := range n {
				if err := b.Put(ctx, "k"+strconv.Itoa(i%20), []byte(strconv.Itoa(i))); err != nil {
					done <- err
					return
				}
			}
			done <- b.Put(ctx, "end", nil)
		}()
		ch, wa, err := kvdb.WatchChan(ctx, w, "")
		if err != nil {
			return err
		}
		defer wa.Stop()
		state := State{}
		for {
			ev, err := next(ctx, ch, wa)
			if err != nil {
				return err
			}
			state.Apply(ev)
			if _, ok := state["end"]; ok {
				break
			}
		}
		if err := <-done; err != nil {
			return err
		}
		kvs, _, err := b.List(ctx, "")
		if err != nil {
			return err
		}
		want := State{}
		want.Apply(kvdb.Event{Kind: kvdb.EventResync, Snapshot: kvs})
		if !maps.Equal(state, want) {
			return fmt.Errorf("state from the watch = %v, want %v", state, want)
		}
		return nil
	}},
	{"CallbackErrorEndsWatch", "An error returned by the callback ends the watch, and Err returns it.", func(ctx context.Context, b kvdb.BytesBroker, w kvdb.Watcher) error {
		boom := errors.New("boom")
		wa, err := w.Watch(ctx, "", func(context.Context, kvdb.Event) error { return boom })
		if err != nil {
			return err
		}
		select {
		case <-wa.Done():
		case <-ctx.Done():
			return fmt.Errorf("watch still running: %w", ctx.Err())
		}
		if !errors.Is(wa.Err(), boom) {
			return fmt.Errorf("Err() = %v, want %v", wa.Err(), boom)
		}
		wa.Stop() // idempotent after the end
		return nil
	}},
	{"StopWaitsForCallback", "Stop returns after the last callback, which is never called afterwards, and Err is nil.", func(ctx context.Context, b kvdb.BytesBroker, w kvdb.Watcher) error {
		var calls, after int
		stopped := false
		started := make(chan struct{}, 1)
		wa, err := w.Watch(ctx, "", func(context.Context, kvdb.Event) error {
			calls++ // no lock: Stop waiting for the callback orders these accesses
			if stopped {
				after++
			}
			select {
			case started <- struct{}{}:
			default:
			}
			return nil
		})
		if err != nil {
			return err
		}
		select {
		case <-started:
		case <-ctx.Done():
			return ctx.Err()
		}
		wa.Stop()
		stopped = true
		if err := b.Put(ctx, "after-stop", nil); err != nil {
			return err
		}
		wa.Stop()
		if after != 0 || wa.Err() != nil {
			return fmt.Errorf("after Stop: %d callbacks, Err() = %v; want 0, nil", after, wa.Err())
		}
		return nil
	}},
	{"ContextEndsWatch", "Canceling the watch's context ends it with an error wrapping context.Canceled.", func(ctx context.Context, b kvdb.BytesBroker, w kvdb.Watcher) error {
		wctx, cancel := context.WithCancel(ctx)
		wa, err := w.Watch(wctx, "", func(context.Context, kvdb.Event) error { return nil })
		if err != nil {
			cancel()
			return err
		}
		cancel()
		select {
		case <-wa.Done():
		case <-ctx.Done():
			return fmt.Errorf("watch still running: %w", ctx.Err())
		}
		if !errors.Is(wa.Err(), context.Canceled) {
			return fmt.Errorf("Err() = %v, want context.Canceled", wa.Err())
		}
		return nil
	}},
	{"SlowConsumerLosesNothing", "A blocked callback holds the watch back; once it resumes every change arrives.", func(ctx context.Context, b kvdb.BytesBroker, w kvdb.Watcher) error {
		release := make(chan struct{})
		got := make(chan kvdb.Event, 1000)
		wa, err := w.Watch(ctx, "", func(_ context.Context, ev kvdb.Event) error {
			if ev.Kind != kvdb.EventResync {
				<-release
			}
			got <- ev
			return nil
		})
		if err != nil {
			return err
		}
		defer wa.Stop()
		if ev := <-got; ev.Kind != kvdb.EventResync {
			return fmt.Errorf("first event %v, want resync", ev.Kind)
		}
		const n = 100
		for i := range n {
			if err := b.Put(ctx, "k", []byte(strconv.Itoa(i))); err != nil {
				return err
			}
		}
		close(release)
		for i := range n {
			select {
			case ev := <-got:
				if string(ev.Value) != strconv.Itoa(i) {
					return fmt.Errorf("event %d value %q, want %q", i, ev.Value, strconv.Itoa(i))
				}
			case <-ctx.Done():
				return fmt.Errorf("got %d of %d events: %w", i, n, ctx.Err())
			}
		}
		return nil
	}},
}
