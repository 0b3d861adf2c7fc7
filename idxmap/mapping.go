package idxmap

import (
	"errors"
	"fmt"
)

// Errors returned by implementations of the API. Compare with errors.Is.
var (
	// ErrDuplicateSubscriber is returned by Watch when the subscriber name
	// is already registered on the map and not yet unregistered.
	ErrDuplicateSubscriber = errors.New("idxmap: subscriber already registered")
	// ErrNoSubscriber is returned by Watch given an empty subscriber name
	// or a nil callback.
	ErrNoSubscriber = errors.New("idxmap: subscriber name and callback are required")
	// ErrDuplicateIndex is returned when an index name is registered twice.
	ErrDuplicateIndex = errors.New("idxmap: index already registered")
	// ErrNotSynced is what a CacheHelper reports to its state callback until
	// the first snapshot of the store is in the map.
	ErrNotSynced = errors.New("idxmap: cache not synced yet")
)

// IndexFunc computes the indexed values of value for one index: the keys
// under which ListNames and GetValuesByIndex find it. It may return several
// values (an item appears under each), none (it is not in the index) and
// duplicates (counted once). It must be deterministic and must not call the
// map: implementations call it while holding their write lock.
type IndexFunc[V any] func(value V) []string

// Indexers maps an index name to the function computing its indexed values.
type Indexers[V any] map[string]IndexFunc[V]

// NamedMapping is the read-only view of an indexed map: what the owner of
// the data exposes to other plugins. Entries are identified by their name
// (the primary key) and can be found by the indexed values that the map's
// index functions compute.
//
// Values are shared, not copied: callers must not modify a value returned
// by a lookup or given to a callback, as that would break the secondary
// indexes in addition to not being safe for concurrent use. Store pointers
// to immutable values, or values without pointers.
//
// Implementations are safe for concurrent use.
type NamedMapping[V any] interface {
	// GetValue returns the value stored under name.
	GetValue(name string) (value V, found bool)
	// ListAllNames returns every name in the map, sorted.
	ListAllNames() []string
	// ListNames returns, sorted, the names whose value has indexedValue
	// among the values computed by the index named index. An unknown index
	// or value gives nil.
	ListNames(index, indexedValue string) []string
	// GetValuesByIndex is ListNames returning the values, in the order of
	// their names.
	GetValuesByIndex(index, indexedValue string) []V
	// Len returns the number of entries.
	Len() int
	// Watch calls callback with every change of the map, starting when Watch
	// returns (or with the current content, see WithSnapshot), until the
	// returned registration is unregistered. See Event for the delivery
	// guarantees. The subscriber name identifies the watch in logs and
	// must be unique among the active watches of the map.
	Watch(subscriber string, callback func(Event[V]), opts ...WatchOption) (Registration, error)
}

// NamedMappingRW is the read-write view of an indexed map, kept by the
// owner of the data.
type NamedMappingRW[V any] interface {
	NamedMapping[V]
	// Put stores value under name, replacing any previous value, and
	// recomputes its indexed values.
	Put(name string, value V)
	// Delete removes name and returns the value it had.
	Delete(name string) (old V, existed bool)
	// Update calls fn with the value stored under name (found=false and the
	// zero value when there is none) while holding the write lock, so that
	// no other change can come in between the read and the write. If fn
	// returns store=true, its value is stored as by Put. fn must not call
	// the map. Update reports whether a value was stored.
	Update(name string, fn func(old V, found bool) (value V, store bool)) bool
	// Clear deletes every entry, emitting one EventDelete per entry in name
	// order.
	Clear()
}

// Registration is a running watch, returned by Watch.
type Registration interface {
	// Unregister ends the watch and discards the events not yet
	// delivered. A change made after it returns is never delivered; one
	// made before may still be, as the delivery goroutine may have taken
	// its event already. It does not wait: a callback that is running, or
	// about to start, may still run after it returns; Done tells when the
	// last one has returned. Unregister is idempotent and may be called
	// from the callback.
	Unregister()
	// Done is closed when the watch has ended and its callback has
	// returned for the last time.
	Done() <-chan struct{}
}

// EventKind says what an Event reports.
type EventKind uint8

// Kinds of events.
const (
	// EventCreate reports a name that was not in the map.
	EventCreate EventKind = iota + 1
	// EventUpdate reports a new value for a name already in the map.
	EventUpdate
	// EventDelete reports a name removed from the map.
	EventDelete
)

// String returns "create", "update" or "delete".
func (k EventKind) String() string {
	switch k {
	case EventCreate:
		return "create"
	case EventUpdate:
		return "update"
	case EventDelete:
		return "delete"
	}
	return fmt.Sprintf("EventKind(%d)", uint8(k))
}

// Event is one change of a map, given to the callbacks of Watch.
//
// Delivery: each subscriber receives every change, in the order in which
// the map changed (also with concurrent writers), one at a time on a
// goroutine of its own: the next callback starts after the previous one
// returned. There is no coordination between subscribers. Events wait for
// a slow subscriber in a bounded queue (see WithQueueSize); when the queue
// is full, the writers of the map wait in Put, Delete, Update and Clear
// until the subscriber catches up (backpressure), after releasing the
// map's lock, so lookups go on. Nothing is dropped. A callback may read the
// map, but must not write to it: with a full queue it would wait for
// itself.
type Event[V any] struct {
	Kind EventKind
	// Name is the name of the entry that changed.
	Name string
	// Old is the previous value (EventUpdate, EventDelete); zero for
	// EventCreate.
	Old V
	// New is the value stored (EventCreate, EventUpdate); zero for
	// EventDelete.
	New V
	// Snapshot is true for the EventCreate events that deliver the content
	// present when Watch was called with WithSnapshot.
	Snapshot bool
}

// DefaultQueueSize is the number of events that may wait for a subscriber
// before writers wait for it. It absorbs bursts such as a resync of a few
// hundred keys without slowing writers, and keeps the memory held for a
// stuck subscriber small.
const DefaultQueueSize = 1024

// WatchOption changes how Watch delivers events. Options are created by
// the With functions of this package.
type WatchOption interface{ applyWatch(*WatchOptions) }

// WatchOptions is the result of applying WatchOptions; implementations of
// NamedMapping read it through ApplyWatchOptions.
type WatchOptions struct {
	// Snapshot delivers the current content first.
	Snapshot bool
	// QueueSize bounds the events waiting for the subscriber. Always
	// positive after ApplyWatchOptions.
	QueueSize int
}

type watchOptionFunc func(*WatchOptions)

func (f watchOptionFunc) applyWatch(o *WatchOptions) { f(o) }

// WithSnapshot makes Watch deliver the current content of the map first, as
// one EventCreate per entry in name order with Event.Snapshot set, followed
// by every later change: no change is missed and none is delivered twice.
func WithSnapshot() WatchOption {
	return watchOptionFunc(func(o *WatchOptions) { o.Snapshot = true })
}

// WithQueueSize sets how many events may wait for the subscriber before
// writers wait for it. If n is zero or less, DefaultQueueSize is used. The
// snapshot of WithSnapshot does not count against it.
func WithQueueSize(n int) WatchOption {
	return watchOptionFunc(func(o *WatchOptions) { o.QueueSize = n })
}

// ApplyWatchOptions returns the settings of opts, later options winning.
func ApplyWatchOptions(opts []WatchOption) WatchOptions {
	var o WatchOptions
	for _, opt := range opts {
		opt.applyWatch(&o)
	}
	if o.QueueSize <= 0 {
		o.QueueSize = DefaultQueueSize
	}
	return o
}

// Change is one write of a batch given to BatchWriter.Apply: a Put of Value
// under Name, or, with Delete set, a Delete of Name.
type Change[V any] struct {
	Name   string
	Value  V
	Delete bool
}

// BatchWriter is implemented by maps that apply many writes at a lower cost
// than one call each. CacheHelper uses it, when IDX implements it, to apply
// a snapshot of the store.
type BatchWriter[V any] interface {
	// Apply makes the changes in order. The content and the events are
	// those of the same Puts and Deletes made one by one (a Delete of an
	// absent name does nothing); backpressure applies as for them.
	Apply(changes []Change[V])
	// Grow tells the map that about n more entries are coming, in the
	// batches that follow, so that it can size itself once. It is a hint:
	// it changes no content and emits no event.
	Grow(n int)
}
