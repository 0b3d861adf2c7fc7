package mem

import (
	"fmt"
	"slices"
	"sort"
	"strings"
	"sync"
	"sync/atomic"

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
	indexes []*index[V] // sorted by name
	// all caches every entry sorted by name; nil when stale. Readers
	// rebuild it under the read lock (concurrently, which is harmless:
	// each stores an equal list), writers clear it under the write lock.
	all  atomic.Pointer[[]*entry[V]]
	subs []*subscriber[V] // copied on change, so writers can use it after unlocking
	// slab and indexedSlab hold the memory of the next new entries while
	// Apply runs; nil otherwise.
	slab        []entry[V]
	indexedSlab [][]string
	// growing is the number of entries announced by Grow that the indexes
	// are not yet sized for; see presizeIndexesLocked.
	growing int
}

// entry is one name with its value. Its address is stable for as long as
// the name is in the map, which lets buckets hold it and an update of the
// value leave every bucket (and its sorted cache) untouched.
type entry[V any] struct {
	name    string
	value   V
	indexed [][]string // per index, in the order of Mapping.indexes
}

type index[V any] struct {
	name    string
	fn      idxmap.IndexFunc[V]
	buckets map[string]members[V] // indexed value -> entries
}

// members are the entries sharing one indexed value. Most indexes are
// nearly unique (an address, an ID): the only entry of a value is kept in
// the map itself, with no allocation; more go to a bucket.
type members[V any] struct {
	one  *entry[V]  // the only member, or nil when many holds them
	many *bucket[V] // nil while there is one member
}

// bucket is the set of entries of a value that more than one entry had, as
// a list: an add is an append. A remove from a large bucket needs the
// position of the entry: pos is built on the first such remove and kept
// from then on.
type bucket[V any] struct {
	list   []*entry[V]                 // the members, in no order
	pos    map[*entry[V]]int32         // index of each member in list; nil until needed
	sorted atomic.Pointer[[]*entry[V]] // members sorted by name; nil when stale (see Mapping.all)
}

// posThreshold is the size of a bucket above which a remove builds pos
// rather than scanning the list.
const posThreshold = 16

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
		m.indexes = append(m.indexes, &index[V]{name: name, fn: indexers[name], buckets: map[string]members[V]{}})
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
	idx := &index[V]{name: name, fn: fn, buckets: map[string]members[V]{}}
	pos, _ := slices.BinarySearchFunc(m.indexes, name, func(i *index[V], n string) int { return strings.Compare(i.name, n) })
	m.indexes = slices.Insert(m.indexes, pos, idx)
	for _, e := range m.items {
		vals := fn(e.value)
		e.indexed = slices.Insert(e.indexed, pos, vals)
		idx.addAll(e, vals)
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
	e := m.items[name]
	if e == nil {
		m.mu.RUnlock()
		var zero V
		return zero, false
	}
	v := e.value
	m.mu.RUnlock()
	return v, true
}

// Len returns the number of entries.
func (m *Mapping[V]) Len() int {
	m.mu.RLock()
	defer m.mu.RUnlock()
	return len(m.items)
}

// ListAllNames returns every name, sorted. After the first call following
// a create or a delete, it costs one copy.
func (m *Mapping[V]) ListAllNames() []string {
	m.mu.RLock()
	defer m.mu.RUnlock()
	if len(m.items) == 0 {
		return nil
	}
	return names(m.allLocked())
}

// allLocked returns every entry sorted by name; the caller holds at least
// the read lock and must not modify the result.
func (m *Mapping[V]) allLocked() []*entry[V] {
	if p := m.all.Load(); p != nil {
		return *p
	}
	list := make([]*entry[V], 0, len(m.items))
	for _, e := range m.items {
		list = append(list, e)
	}
	sortEntries(list)
	m.all.Store(&list)
	return list
}

// ListNames returns the names whose value has indexedValue in index,
// sorted. The result is a fresh slice (its only allocation while the
// bucket is unchanged); nil for an unknown index or value.
func (m *Mapping[V]) ListNames(index, indexedValue string) []string {
	m.mu.RLock()
	defer m.mu.RUnlock()
	ms, ok := m.membersLocked(index, indexedValue)
	if !ok {
		return nil
	}
	if ms.one != nil {
		return []string{ms.one.name}
	}
	return names(ms.many.sortedLocked())
}

// GetValuesByIndex is ListNames returning the values, in name order.
func (m *Mapping[V]) GetValuesByIndex(index, indexedValue string) []V {
	m.mu.RLock()
	defer m.mu.RUnlock()
	ms, ok := m.membersLocked(index, indexedValue)
	if !ok {
		return nil
	}
	if ms.one != nil {
		return []V{ms.one.value}
	}
	list := ms.many.sortedLocked()
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

func (m *Mapping[V]) membersLocked(index, indexedValue string) (members[V], bool) {
	idx := m.indexLocked(index)
	if idx == nil {
		return members[V]{}, false
	}
	ms, ok := idx.buckets[indexedValue]
	return ms, ok
}

func names[V any](list []*entry[V]) []string {
	out := make([]string, len(list))
	for i, e := range list {
		out[i] = e.name
	}
	return out
}

func sortEntries[V any](list []*entry[V]) {
	slices.SortFunc(list, func(a, b *entry[V]) int { return strings.Compare(a.name, b.name) })
}

// Put stores value under name.
func (m *Mapping[V]) Put(name string, value V) {
	m.mu.Lock()
	ev := m.putLocked(name, value)
	subs := m.subs
	publishLocked(subs, ev)
	m.mu.Unlock()
	waitForRoom(subs)
}

// Update applies fn to the value of name under the write lock.
func (m *Mapping[V]) Update(name string, fn func(old V, found bool) (V, bool)) bool {
	m.mu.Lock()
	var old V
	e := m.items[name]
	if e != nil {
		old = e.value
	}
	value, store := fn(old, e != nil)
	if !store {
		m.mu.Unlock()
		return false
	}
	ev := m.putLocked(name, value)
	subs := m.subs
	publishLocked(subs, ev)
	m.mu.Unlock()
	waitForRoom(subs)
	return true
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
	old := m.deleteLocked(e)
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
		m.mu.Lock()
		subs := m.subs
		n := len(changes)
		for _, s := range subs {
			n = min(n, s.room())
		}
		fromEmpty := len(m.items) == 0 && n >= sampleSize*2
		if len(m.items) == 0 && n > 1 && m.growing == 0 {
			// Most of a batch on an empty map creates: size the map once.
			m.items = make(map[string]*entry[V], n)
		}
		for i := range changes[:n] {
			if fromEmpty && i == sampleSize {
				m.presizeIndexesLocked(max(n, m.growing))
				m.growing = 0
			}
			c := &changes[i]
			if c.Delete {
				e := m.items[c.Name]
				if e == nil {
					continue
				}
				old := m.deleteLocked(e)
				publishLocked(subs, idxmap.Event[V]{Kind: idxmap.EventDelete, Name: c.Name, Old: old})
				continue
			}
			if len(m.slab) == 0 && n-i >= slabSize/4 {
				m.slab = make([]entry[V], min(n-i, slabSize))
				if len(m.indexes) > 0 {
					m.indexedSlab = make([][]string, len(m.slab)*len(m.indexes))
				}
			}
			ev := m.putLocked(c.Name, c.Value)
			publishLocked(subs, ev)
		}
		// A batch allocates entries by slabs; a later Put allocates its own.
		m.slab, m.indexedSlab = nil, nil
		m.mu.Unlock()
		waitForRoom(subs)
		changes = changes[n:]
	}
}

// Grow makes room for n more entries: the map of names at once, and the
// indexes with many distinct values in the next batch that fills the map
// from empty, once it has seen which those are (see Apply).
func (m *Mapping[V]) Grow(n int) {
	if n <= 0 {
		return
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	items := make(map[string]*entry[V], len(m.items)+n)
	for name, e := range m.items {
		items[name] = e
	}
	m.items = items
	if len(m.items) == 0 {
		m.growing = n
	}
}

// slabSize is the number of entries a batch allocates at once. Deleted
// entries are cleared, so a slab held by the entries left holds no values;
// it keeps at most slabSize small structs per entry left.
const slabSize = 128

// sampleSize is the number of changes of a batch on an empty map after
// which the indexes with many distinct values are sized for the batch.
const sampleSize = 256

// presizeIndexesLocked remakes, sized for a batch of n changes, the bucket
// map of each index whose first sampleSize entries mostly got buckets of
// their own (a unique field such as an address): it would grow n times
// over otherwise.
func (m *Mapping[V]) presizeIndexesLocked(n int) {
	for _, idx := range m.indexes {
		if len(idx.buckets) <= sampleSize/2 {
			continue
		}
		buckets := make(map[string]members[V], len(idx.buckets)*n/sampleSize)
		for v, b := range idx.buckets {
			buckets[v] = b
		}
		idx.buckets = buckets
	}
}

// newEntryLocked returns a new entry, from the slab of the batch being
// applied if there is one.
func (m *Mapping[V]) newEntryLocked(name string, value V) *entry[V] {
	var e *entry[V]
	if len(m.slab) > 0 {
		e, m.slab = &m.slab[0], m.slab[1:]
		e.name, e.value = name, value
	} else {
		e = &entry[V]{name: name, value: value}
	}
	if k := len(m.indexes); k > 0 {
		if len(m.indexedSlab) >= k {
			e.indexed, m.indexedSlab = m.indexedSlab[:k:k], m.indexedSlab[k:]
		} else {
			e.indexed = make([][]string, k)
		}
	}
	return e
}

// Clear deletes every entry, emitting a delete event per entry in name
// order, in one step: no reader sees a partly cleared map.
func (m *Mapping[V]) Clear() {
	m.mu.Lock()
	subs := m.subs
	if len(subs) > 0 {
		for _, e := range m.allLocked() {
			publishLocked(subs, idxmap.Event[V]{Kind: idxmap.EventDelete, Name: e.name, Old: e.value})
		}
	}
	m.items = map[string]*entry[V]{}
	m.all.Store(nil)
	for _, idx := range m.indexes {
		idx.buckets = map[string]members[V]{}
	}
	m.mu.Unlock()
	waitForRoom(subs)
}

func (m *Mapping[V]) putLocked(name string, value V) idxmap.Event[V] {
	e := m.items[name]
	if e == nil {
		e = m.newEntryLocked(name, value)
		for i, idx := range m.indexes {
			vals := idx.fn(value)
			e.indexed[i] = vals
			idx.addAll(e, vals)
		}
		m.items[name] = e
		if m.all.Load() != nil {
			m.all.Store(nil)
		}
		return idxmap.Event[V]{Kind: idxmap.EventCreate, Name: name, New: value}
	}
	old := e.value
	e.value = value
	for i, idx := range m.indexes {
		vals := idx.fn(value)
		idx.replace(e, e.indexed[i], vals)
		e.indexed[i] = vals
	}
	return idxmap.Event[V]{Kind: idxmap.EventUpdate, Name: name, Old: old, New: value}
}

// deleteLocked removes e and returns its value. It clears e, which may
// share its memory with other entries (see slabSize), to let the value go.
func (m *Mapping[V]) deleteLocked(e *entry[V]) V {
	for i, idx := range m.indexes {
		for _, v := range e.indexed[i] {
			idx.remove(e, v)
		}
	}
	delete(m.items, e.name)
	m.all.Store(nil)
	old := e.value
	*e = entry[V]{}
	return old
}

// addAll adds e, a member of none of the buckets, to the bucket of each of
// vals; a value listed twice is added once.
func (idx *index[V]) addAll(e *entry[V], vals []string) {
	for j, v := range vals {
		if !repeated(vals, j) {
			idx.add(e, v)
		}
	}
}

// repeated reports whether vals[j] is also in vals[:j].
func repeated(vals []string, j int) bool {
	return j > 0 && slices.Contains(vals[:j], vals[j])
}

// replace moves e from the buckets of old to those of vals. It removes only
// the values that vals lacks, so that a value in both (old [a], new [a b])
// keeps e in its bucket.
func (idx *index[V]) replace(e *entry[V], old, vals []string) {
	if slices.Equal(old, vals) {
		return // the common case: the update did not touch the indexed fields
	}
	for _, v := range old {
		if !slices.Contains(vals, v) {
			idx.remove(e, v)
		}
	}
	for j, v := range vals {
		if !slices.Contains(old, v) && !repeated(vals, j) {
			idx.add(e, v)
		}
	}
}

// add puts e into the bucket of v; e must not be a member already.
func (idx *index[V]) add(e *entry[V], v string) {
	ms, ok := idx.buckets[v]
	switch {
	case !ok:
		idx.buckets[v] = members[V]{one: e}
	case ms.many == nil:
		b := &bucket[V]{list: make([]*entry[V], 2, 4)}
		b.list[0], b.list[1] = ms.one, e
		idx.buckets[v] = members[V]{many: b}
	default:
		b := ms.many
		if b.pos != nil {
			b.pos[e] = int32(len(b.list))
		}
		b.list = append(b.list, e)
		b.invalidate()
	}
}

// remove takes e out of the bucket of v, if it is there. An emptied bucket
// is deleted: otherwise an index over a changing field (a counter, an
// address) would grow with every value it ever held.
func (idx *index[V]) remove(e *entry[V], v string) {
	ms, ok := idx.buckets[v]
	if !ok {
		return
	}
	if ms.many == nil {
		if ms.one == e {
			delete(idx.buckets, v)
		}
		return
	}
	b := ms.many
	i := b.indexOf(e)
	if i < 0 {
		return
	}
	last := len(b.list) - 1
	if last == 0 {
		delete(idx.buckets, v)
		return
	}
	moved := b.list[last]
	b.list[i] = moved
	b.list[last] = nil
	b.list = b.list[:last]
	if b.pos != nil {
		b.pos[moved] = int32(i)
		delete(b.pos, e)
	}
	b.invalidate()
}

// indexOf returns the position of e in the list, or -1.
func (b *bucket[V]) indexOf(e *entry[V]) int {
	if b.pos == nil {
		if len(b.list) <= posThreshold {
			return slices.Index(b.list, e)
		}
		b.pos = make(map[*entry[V]]int32, len(b.list))
		for i, m := range b.list {
			b.pos[m] = int32(i)
		}
	}
	if i, ok := b.pos[e]; ok {
		return int(i)
	}
	return -1
}

// invalidate drops the sorted cache. The load first avoids a store, with
// its write barrier, in the common case of a bucket nobody looked up since
// its last change.
func (b *bucket[V]) invalidate() {
	if b.sorted.Load() != nil {
		b.sorted.Store(nil)
	}
}

// sortedLocked returns the members sorted by name; the caller holds at
// least the read lock and must not modify the result.
func (b *bucket[V]) sortedLocked() []*entry[V] {
	if p := b.sorted.Load(); p != nil {
		return *p
	}
	list := slices.Clone(b.list)
	sortEntries(list)
	b.sorted.Store(&list)
	return list
}
