package mem

import (
	"fmt"
	"slices"
	"sort"
	"strings"
	"sync"

	"github.com/plinth-go/plinth/idxmap"
	"github.com/plinth-go/plinth/logging"
)

// Mapping is an in-memory indexed map. Build it with NewMapping; the zero
// value is not usable.
type Mapping[V any] struct {
	name string
	log  logging.Logger

	mu      sync.RWMutex // guards items, indexes, subs and the content of every entry and bucket
	items   map[string]*entry[V]
	indexes []*index[V]      // sorted by name
	subs    []*subscriber[V] // copied on change, so writers can use it after unlocking
}

// entry is one name with its value. Its address is stable for as long as
// the name is in the map, which lets buckets hold it and an update of the
// value leave every bucket untouched.
type entry[V any] struct {
	name    string
	value   V
	indexed [][]string // per index, in the order of Mapping.indexes: the buckets e is in
}

// index maps each indexed value to its bucket: the entries having that
// value, sorted by name. client-go's store keeps sets instead; sorted
// buckets are what BenchmarkIdxmapByIndex (bench/) needs, since lookups
// return names in order: a lookup copies the bucket as it is, in one
// allocation, at a tenth to a fifth of client-go's time, where a set
// collected and sorted on every lookup took 1.3–2 times client-go's time
// at buckets of 50 entries, and two allocations. The price is the write:
// an add or a remove finds its place by binary search and shifts the
// pointers after it, a copy that grows with the bucket (about 7 µs a
// write in buckets of 50,000 entries, where a set takes 1:
// BenchmarkIdxmapUpdateLargeBuckets), still less than one lookup of that
// bucket. Buckets are never empty: the last remove deletes the bucket.
type index[V any] struct {
	name    string
	fn      idxmap.IndexFunc[V]
	buckets map[string][]*entry[V]
}

var (
	_ idxmap.NamedMappingRW[int] = (*Mapping[int])(nil)
	_ idxmap.BatchWriter[int]    = (*Mapping[int])(nil)
)

// Option changes a Mapping built by NewMapping.
type Option func(*options)

type options struct {
	name string
	log  logging.Logger
}

// WithName names the map in logs and in String. If not set, "idxmap" is
// used.
func WithName(name string) Option { return func(o *options) { o.name = name } }

// WithLogger sets where the map logs slow subscribers. If not set, nothing
// is logged.
func WithLogger(log logging.Logger) Option { return func(o *options) { o.log = log } }

// NewMapping returns an empty map with the given secondary indexes (nil
// for none). It panics if an index function is nil, which is a wiring
// mistake.
func NewMapping[V any](indexers idxmap.Indexers[V], opts ...Option) *Mapping[V] {
	o := options{name: "idxmap"}
	for _, opt := range opts {
		opt(&o)
	}
	m := &Mapping[V]{name: o.name, log: o.log, items: map[string]*entry[V]{}}
	names := make([]string, 0, len(indexers))
	for name, fn := range indexers {
		if fn == nil {
			panic(fmt.Sprintf("idxmap: %s: nil index function for index %q", o.name, name))
		}
		names = append(names, name)
	}
	sort.Strings(names)
	for _, name := range names {
		m.indexes = append(m.indexes, &index[V]{name: name, fn: indexers[name], buckets: map[string][]*entry[V]{}})
	}
	return m
}

// String returns the name given by WithName.
func (m *Mapping[V]) String() string { return m.name }

// AddIndex registers one more index and computes it for every entry. It
// costs one call of fn per entry, under the write lock. It returns an error
// wrapping idxmap.ErrDuplicateIndex if the name is taken.
func (m *Mapping[V]) AddIndex(name string, fn idxmap.IndexFunc[V]) error {
	if fn == nil {
		return fmt.Errorf("idxmap: %s: add index %q: nil index function", m.name, name)
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.indexLocked(name) != nil {
		return fmt.Errorf("idxmap: %s: add index %q: %w", m.name, name, idxmap.ErrDuplicateIndex)
	}
	// fn runs for every entry before anything changes, so that a panic
	// leaves the map as it was; in name order, every add appends.
	entries := m.sortedLocked()
	vals := make([][]string, len(entries))
	for i, e := range entries {
		vals[i] = fn(e.value)
	}
	idx := &index[V]{name: name, fn: fn, buckets: map[string][]*entry[V]{}}
	pos, _ := slices.BinarySearchFunc(m.indexes, name, func(i *index[V], n string) int { return strings.Compare(i.name, n) })
	m.indexes = slices.Insert(m.indexes, pos, idx)
	for i, e := range entries {
		e.indexed = slices.Insert(e.indexed, pos, vals[i])
		for _, v := range vals[i] {
			idx.add(e, v)
		}
	}
	return nil
}

// Indexes returns the names of the indexes, sorted.
func (m *Mapping[V]) Indexes() []string {
	m.mu.RLock()
	defer m.mu.RUnlock()
	names := make([]string, len(m.indexes))
	for i, idx := range m.indexes {
		names[i] = idx.name
	}
	return names
}

// indexLocked finds an index by name. A linear scan beats a map lookup for
// the handful of indexes a map has.
func (m *Mapping[V]) indexLocked(name string) *index[V] {
	for _, idx := range m.indexes {
		if idx.name == name {
			return idx
		}
	}
	return nil
}

// GetValue returns the value stored under name.
func (m *Mapping[V]) GetValue(name string) (V, bool) {
	m.mu.RLock()
	defer m.mu.RUnlock()
	if e := m.items[name]; e != nil {
		return e.value, true
	}
	var zero V
	return zero, false
}

// Len returns the number of entries.
func (m *Mapping[V]) Len() int {
	m.mu.RLock()
	defer m.mu.RUnlock()
	return len(m.items)
}

// ListAllNames returns every name, sorted. It sorts them on every call:
// the result is its only allocation.
func (m *Mapping[V]) ListAllNames() []string {
	m.mu.RLock()
	defer m.mu.RUnlock()
	if len(m.items) == 0 {
		return nil
	}
	out := make([]string, 0, len(m.items))
	for name := range m.items {
		out = append(out, name)
	}
	slices.Sort(out)
	return out
}

// sortedLocked returns every entry sorted by name, for the few calls that
// go through the whole map in order. The caller holds at least the read
// lock.
func (m *Mapping[V]) sortedLocked() []*entry[V] {
	list := make([]*entry[V], 0, len(m.items))
	for _, e := range m.items {
		list = append(list, e)
	}
	slices.SortFunc(list, func(a, b *entry[V]) int { return strings.Compare(a.name, b.name) })
	return list
}

// ListNames returns the names whose value has indexedValue in index,
// sorted. The result is a fresh slice, its only allocation; nil for an
// unknown index or value.
func (m *Mapping[V]) ListNames(index, indexedValue string) []string {
	m.mu.RLock()
	defer m.mu.RUnlock()
	return names(m.bucketLocked(index, indexedValue))
}

// GetValuesByIndex is ListNames returning the values, in name order.
func (m *Mapping[V]) GetValuesByIndex(index, indexedValue string) []V {
	m.mu.RLock()
	defer m.mu.RUnlock()
	list := m.bucketLocked(index, indexedValue)
	if list == nil {
		return nil
	}
	out := make([]V, len(list))
	for i, e := range list {
		out[i] = e.value
	}
	return out
}

// IndexedValues returns the indexed values of name per index, as the index
// functions computed them, or nil if name is not in the map. Callers must
// not modify the slices.
func (m *Mapping[V]) IndexedValues(name string) map[string][]string {
	m.mu.RLock()
	defer m.mu.RUnlock()
	e := m.items[name]
	if e == nil {
		return nil
	}
	out := make(map[string][]string, len(m.indexes))
	for i, idx := range m.indexes {
		out[idx.name] = e.indexed[i]
	}
	return out
}

// bucketLocked returns the entries having indexedValue in index, sorted by
// name; nil for an unknown index or value. The caller holds at least the
// read lock and must not modify the result.
func (m *Mapping[V]) bucketLocked(index, indexedValue string) []*entry[V] {
	idx := m.indexLocked(index)
	if idx == nil {
		return nil
	}
	return idx.buckets[indexedValue]
}

func names[V any](list []*entry[V]) []string {
	if list == nil {
		return nil
	}
	out := make([]string, len(list))
	for i, e := range list {
		out[i] = e.name
	}
	return out
}

// Put stores value under name. If an index function panics, the map is
// left as it was, unlocked, and the panic goes on to the caller.
func (m *Mapping[V]) Put(name string, value V) {
	m.Update(name, func(V, bool) (V, bool) { return value, true })
}

// Update applies fn to the value of name under the write lock. If fn or an
// index function panics, the map is left as it was, unlocked, and the panic
// goes on to the caller (net/http, for one, recovers a handler's panic: the
// map must stay usable).
func (m *Mapping[V]) Update(name string, fn func(old V, found bool) (V, bool)) bool {
	subs, stored := m.update(name, fn)
	waitForRoom(subs) // after unlocking: lookups go on while a subscriber catches up
	return stored
}

// update is Update but for the wait for room; it returns the subscribers
// to wait for.
func (m *Mapping[V]) update(name string, fn func(old V, found bool) (V, bool)) ([]*subscriber[V], bool) {
	m.mu.Lock()
	defer m.mu.Unlock()
	var old V
	e := m.items[name]
	if e != nil {
		old = e.value
	}
	value, store := fn(old, e != nil)
	if !store {
		return nil, false
	}
	publishLocked(m.subs, m.putLocked(name, value))
	return m.subs, true
}

// Delete removes name and returns its value.
func (m *Mapping[V]) Delete(name string) (V, bool) {
	m.mu.Lock()
	e := m.items[name]
	if e == nil {
		m.mu.Unlock()
		var zero V
		return zero, false
	}
	old := e.value
	m.deleteLocked(e)
	subs := m.subs
	publishLocked(subs, idxmap.Event[V]{Kind: idxmap.EventDelete, Name: name, Old: old})
	m.mu.Unlock()
	waitForRoom(subs)
	return old, true
}

// Apply makes the changes in order, as the same calls of Put and Delete
// would, under the write lock once instead of once per change. With
// watches, it releases the lock whenever a subscriber's queue is full, and
// waits for room as Put does, so the queues stay bounded; readers may then
// see part of the batch applied, as they would see part of the calls made.
func (m *Mapping[V]) Apply(changes []idxmap.Change[V]) {
	for len(changes) > 0 {
		subs, n := m.applyLocked(changes)
		waitForRoom(subs)
		changes = changes[n:]
	}
}

// applyLocked makes as many of changes as the subscribers' queues have
// room for, under the write lock, and returns the subscribers and how many
// it made. A panicking index function stops the batch there, with the
// changes before it made and the lock released.
func (m *Mapping[V]) applyLocked(changes []idxmap.Change[V]) ([]*subscriber[V], int) {
	m.mu.Lock()
	defer m.mu.Unlock()
	subs := m.subs
	n := len(changes)
	for _, s := range subs {
		n = min(n, s.room())
	}
	for i := range changes[:n] {
		c := &changes[i]
		if !c.Delete {
			publishLocked(subs, m.putLocked(c.Name, c.Value))
		} else if e := m.items[c.Name]; e != nil {
			m.deleteLocked(e)
			publishLocked(subs, idxmap.Event[V]{Kind: idxmap.EventDelete, Name: c.Name, Old: e.value})
		}
	}
	return subs, n
}

// Grow does nothing: the map grows as entries come. Sizing it up front
// saved about 4% of the CPU time of the map's part of an initial sync of
// 100,000 keys, under 1% of BenchmarkIdxmapCacheSync (bench/), which
// cannot tell. It is there for idxmap.BatchWriter.
func (m *Mapping[V]) Grow(n int) {}

// Clear deletes every entry, emitting a delete event per entry in name
// order, in one step: no reader sees a partly cleared map.
func (m *Mapping[V]) Clear() {
	m.mu.Lock()
	subs := m.subs
	if len(subs) > 0 {
		for _, e := range m.sortedLocked() {
			publishLocked(subs, idxmap.Event[V]{Kind: idxmap.EventDelete, Name: e.name, Old: e.value})
		}
	}
	m.items = map[string]*entry[V]{}
	for _, idx := range m.indexes {
		idx.buckets = map[string][]*entry[V]{}
	}
	m.mu.Unlock()
	waitForRoom(subs)
}

func (m *Mapping[V]) putLocked(name string, value V) idxmap.Event[V] {
	// Every index function runs before anything changes, so that one that
	// panics leaves the map as it was.
	indexed := make([][]string, len(m.indexes))
	for i, idx := range m.indexes {
		indexed[i] = idx.fn(value)
	}
	e := m.items[name]
	if e == nil {
		e = &entry[V]{name: name, value: value, indexed: indexed}
		m.items[name] = e
		for i, idx := range m.indexes {
			for _, v := range indexed[i] {
				idx.add(e, v)
			}
		}
		return idxmap.Event[V]{Kind: idxmap.EventCreate, Name: name, New: value}
	}
	old := e.value
	for i, idx := range m.indexes {
		// Only the buckets of values that changed are touched: an update
		// that leaves the indexed fields as they were costs no shift.
		for _, v := range e.indexed[i] {
			if !slices.Contains(indexed[i], v) {
				idx.remove(e, v)
			}
		}
		for _, v := range indexed[i] {
			if !slices.Contains(e.indexed[i], v) {
				idx.add(e, v)
			}
		}
	}
	e.value, e.indexed = value, indexed
	return idxmap.Event[V]{Kind: idxmap.EventUpdate, Name: name, Old: old, New: value}
}

// deleteLocked removes e from the map and from its buckets.
func (m *Mapping[V]) deleteLocked(e *entry[V]) {
	for i, idx := range m.indexes {
		for _, v := range e.indexed[i] {
			idx.remove(e, v)
		}
	}
	delete(m.items, e.name)
}

// add puts e into the bucket of v, in name order, unless it is there
// already (an index function may return a value twice).
func (idx *index[V]) add(e *entry[V], v string) {
	list := idx.buckets[v]
	if i, found := slices.BinarySearchFunc(list, e.name, byName); !found {
		idx.buckets[v] = slices.Insert(list, i, e)
	}
}

// remove takes e out of the bucket of v, if it is there. An emptied bucket
// is deleted: otherwise an index over a changing field (a counter, an
// address) would grow with every value it ever held.
func (idx *index[V]) remove(e *entry[V], v string) {
	list := idx.buckets[v]
	i, found := slices.BinarySearchFunc(list, e.name, byName)
	switch {
	case !found:
	case len(list) == 1:
		delete(idx.buckets, v)
	default:
		idx.buckets[v] = slices.Delete(list, i, i+1)
	}
}

func byName[V any](e *entry[V], name string) int { return strings.Compare(e.name, name) }
