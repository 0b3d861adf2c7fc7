package kvdb

import (
	"context"
	"fmt"
)

// EventKind says what an Event reports.
type EventKind uint8

// Kinds of events.
const (
	// EventPut reports that a key was created or changed.
	EventPut EventKind = iota + 1
	// EventDelete reports that a key was deleted (or expired).
	EventDelete
	// EventResync carries the complete content of the watched prefix. It is
	// the first event of every watch, and follows a gap the watch could not
	// fill (after compaction): the consumer replaces its state with it.
	EventResync
)

// String returns "put", "delete" or "resync".
func (k EventKind) String() string {
	switch k {
	case EventPut:
		return "put"
	case EventDelete:
		return "delete"
	case EventResync:
		return "resync"
	}
	return fmt.Sprintf("EventKind(%d)", uint8(k))
}

// Event is a change seen by a watch.
//
// Events of one watch are delivered in revision order, one at a time: the
// next waits until the callback has returned (backpressure; nothing is
// dropped). Two events never carry the same revision unless they come from
// one transaction. Watches are not coordinated with each other.
type Event struct {
	Kind EventKind
	// Key is relative to the watcher's prefix; empty for EventResync.
	Key string
	// Value is the new value (EventPut).
	Value []byte
	// PrevValue is the value before the change, when there was one and the
	// store still had it; nil otherwise.
	PrevValue []byte
	// Rev is the revision of the change, or for EventResync the revision of
	// the snapshot: the next event has a higher one.
	Rev int64
	// Snapshot is the content of the prefix, sorted by key (EventResync
	// only).
	Snapshot []KeyValue
}

// Watcher streams the changes of keys under a prefix.
type Watcher interface {
	// Watch calls fn with every change of the keys under prefix (relative to
	// the watcher's prefix), starting with an EventResync, until ctx ends,
	// Stop is called, the store closes, or fn returns an error. It returns at
	// once, also when the store is unreachable: the first event arrives
	// when the store answers. fn runs on one goroutine per watch and never
	// concurrently with itself. The ctx given to fn ends when the watch
	// ends; a callback that waits (for a reader, a lock, I/O) must give up
	// when it does, or Stop and the store's Close wait for it.
	Watch(ctx context.Context, prefix string, fn func(ctx context.Context, ev Event) error) (Watch, error)
}

// Watch is a running watch.
type Watch interface {
	// Stop ends the watch and waits until fn has returned for the last time;
	// fn is not called afterwards. Stop is idempotent. It must not be called
	// from fn: return an error from fn instead.
	Stop()
	// Done is closed when the watch has ended and fn will not be called
	// again.
	Done() <-chan struct{}
	// Err returns why the watch ended once Done is closed: the error
	// returned by fn, ErrClosed, or the ctx error; nil while it runs and
	// after Stop.
	Err() error
}

// WatchFunc adapts a function to a Watcher.
type WatchFunc func(ctx context.Context, prefix string, fn func(ctx context.Context, ev Event) error) (Watch, error)

// Watch calls f.
func (f WatchFunc) Watch(ctx context.Context, prefix string, fn func(ctx context.Context, ev Event) error) (Watch, error) {
	return f(ctx, prefix, fn)
}

// WatchChan is the channel form of Watcher.Watch: it returns a channel of
// the watch's events. The channel is unbuffered, so a slow reader holds back
// the watch rather than losing events; it is closed when the watch ends
// (check Watch.Err). Cancel ctx or call Stop to end the watch.
func WatchChan(ctx context.Context, w Watcher, prefix string) (<-chan Event, Watch, error) {
	ch := make(chan Event)
	wa, err := w.Watch(ctx, prefix, func(ctx context.Context, ev Event) error {
		select {
		case ch <- ev:
			return nil
		case <-ctx.Done():
			return nil // the watch is ending and says why
		}
	})
	if err != nil {
		return nil, nil, err
	}
	go func() {
		<-wa.Done()
		close(ch)
	}()
	return ch, wa, nil
}
