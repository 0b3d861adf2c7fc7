package idxmap

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"runtime"
	"sync"
	"sync/atomic"

	"google.golang.org/protobuf/proto"

	"github.com/plinth-go/plinth/infra/kvdb"
	"github.com/plinth-go/plinth/logging"
)

// CacheHelper keeps IDX an indexed local copy of the keys under Prefix in a
// KV store. It watches the prefix (the watch lists it first, then follows
// every change after the list's revision), turns each key into a name and
// each value into a V, and stores them in IDX. After a gap the watch could
// not fill (the store compacted the changes it missed while disconnected)
// it gets a new snapshot and makes IDX equal to it, deleting the names that
// are gone.
//
// Set the exported fields, then call Start; Close stops it. The helper owns
// IDX while it runs: entries put by others are deleted at the next resync.
//
// A value that does not decode, or a key that gives no name, is skipped:
// logged, counted in Stats, and its name is removed from IDX (the store no
// longer holds the value the map had). It never stops the cache.
type CacheHelper[V any] struct {
	// IDX is the map kept equal to the store. Required.
	IDX NamedMappingRW[V]
	// Watcher watches the store, usually kvdb.Store.NewWatcher(root).
	// Required.
	Watcher kvdb.Watcher
	// Prefix is the watched prefix, relative to the Watcher's.
	Prefix string
	// ParseName turns a key (relative to the Watcher's prefix) into a name.
	// If nil, the name is the key with Prefix stripped (see NameFromKey).
	ParseName func(key string) (name string, err error)
	// Decode turns a stored value into a V. If nil, values are decoded as
	// protojson (kvdb.JSON) when V is a proto message, and with
	// encoding/json otherwise. See DecodeProto and DecodeJSON.
	Decode func(key string, value []byte) (V, error)
	// Log receives skipped keys and watch errors. If nil, nothing is
	// logged; Stats still counts them.
	Log logging.Logger
	// ReportState, if set, learns the state of the cache: ok=false with
	// ErrNotSynced from Start until the first snapshot is in IDX, ok=true
	// after it, and ok=false with the cause if the watch ends on its own.
	// Calls are made one at a time. To report through the status check,
	// map it onto PluginStatusWriter.ReportStateChange (see the package
	// documentation).
	ReportState func(ok bool, err error)

	mu      sync.Mutex // guards started, closed, cancel, watch
	started bool
	closed  bool
	cancel  context.CancelFunc
	watch   kvdb.Watch
	wg      sync.WaitGroup // the goroutine waiting for the watch to end

	synced     chan struct{} // closed by the first resync
	syncedOnce sync.Once
	// revs maps each name in IDX to the mod revision of its value. The
	// initial sync leaves the revisions in pending instead, which costs no
	// hashing on the way to Synced; revisions moves them into revs when
	// they are first needed. Both are touched by the watch callback only.
	revs    map[string]int64
	pending []nameRev
	// concurrentDecode is set when Decode is a default decoder, which
	// resync may call from several goroutines.
	concurrentDecode bool
	stateMu          sync.Mutex // serializes ReportState calls
	rev              atomic.Int64
	resyncs          atomic.Uint64
	skipped          atomic.Uint64
}

// CacheStats counts what a CacheHelper did.
type CacheStats struct {
	// Rev is the store revision the map reflects.
	Rev int64
	// Resyncs counts the snapshots applied, including the first.
	Resyncs uint64
	// Skipped counts the keys left out because their name or value could
	// not be parsed.
	Skipped uint64
}

// Start checks the fields and starts watching. It does not wait for the
// store: see Synced. It returns an error if IDX or Watcher is missing, if
// the watch cannot start, or if the helper was started before.
func (h *CacheHelper[V]) Start() error {
	h.mu.Lock()
	defer h.mu.Unlock()
	switch {
	case h.started:
		return fmt.Errorf("idxmap: cache %q: already started", h.Prefix)
	case h.IDX == nil:
		return fmt.Errorf("idxmap: cache %q: no IDX map to fill", h.Prefix)
	case h.Watcher == nil:
		return fmt.Errorf("idxmap: cache %q: no Watcher", h.Prefix)
	}
	h.started = true
	h.initLocked()
	if h.ParseName == nil {
		prefix := h.Prefix
		h.ParseName = func(key string) (string, error) { return NameFromKey(prefix, key) }
	}
	if h.Decode == nil {
		h.Decode = defaultDecode[V]()
		h.concurrentDecode = true // the default decoders keep no state
	}
	h.report(false, ErrNotSynced)
	// The watch outlives Start: it uses a context that Close cancels.
	ctx, cancel := context.WithCancel(context.Background())
	wa, err := h.Watcher.Watch(ctx, h.Prefix, h.apply)
	if err != nil {
		cancel()
		return fmt.Errorf("idxmap: cache %q: watch: %w", h.Prefix, err)
	}
	h.cancel, h.watch = cancel, wa
	h.wg.Add(1)
	go h.awaitEnd(ctx, wa)
	return nil
}

func (h *CacheHelper[V]) initLocked() {
	if h.synced == nil {
		h.synced = make(chan struct{})
		h.revs = map[string]int64{}
	}
}

// awaitEnd reports a watch that ends by itself (the store closed, or
// the watcher gave up).
func (h *CacheHelper[V]) awaitEnd(ctx context.Context, wa kvdb.Watch) {
	defer h.wg.Done()
	<-wa.Done()
	if ctx.Err() != nil {
		return // stopped by Close
	}
	err := wa.Err()
	if err == nil {
		err = errors.New("watch ended")
	}
	err = fmt.Errorf("idxmap: cache %q: %w", h.Prefix, err)
	h.logError(err)
	h.report(false, err)
}

// Close stops the watch and waits until nothing runs: the event being
// applied finishes first, so a subscriber of IDX that holds its writers
// back (backpressure) holds Close back too. IDX keeps its content. Close
// is idempotent.
func (h *CacheHelper[V]) Close() error {
	h.mu.Lock()
	if h.closed || !h.started {
		h.closed = true
		h.mu.Unlock()
		return nil
	}
	h.closed = true
	cancel, wa := h.cancel, h.watch
	h.mu.Unlock()
	cancel()
	wa.Stop()
	h.wg.Wait()
	return nil
}

// Synced is closed once the first snapshot of the store is in IDX.
func (h *CacheHelper[V]) Synced() <-chan struct{} {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.initLocked()
	return h.synced
}

// HasSynced reports whether the first snapshot of the store is in IDX.
func (h *CacheHelper[V]) HasSynced() bool {
	select {
	case <-h.Synced():
		return true
	default:
		return false
	}
}

// Stats returns what the helper did so far.
func (h *CacheHelper[V]) Stats() CacheStats {
	return CacheStats{Rev: h.rev.Load(), Resyncs: h.resyncs.Load(), Skipped: h.skipped.Load()}
}

// String returns the prefix, for logs.
func (h *CacheHelper[V]) String() string { return "cache " + h.Prefix }

// apply is the watch callback. It never fails: a key that cannot be used
// is skipped, as the doc of CacheHelper says.
func (h *CacheHelper[V]) apply(_ context.Context, ev kvdb.Event) error {
	switch ev.Kind {
	case kvdb.EventResync:
		h.resync(ev.Snapshot)
		h.rev.Store(ev.Rev)
		h.resyncs.Add(1)
		h.syncedOnce.Do(func() { close(h.synced) })
		h.report(true, nil)
		return nil
	case kvdb.EventPut:
		if name, ok := h.name(ev.Key); ok {
			h.put(name, ev.Key, ev.Value, ev.Rev)
		}
	case kvdb.EventDelete:
		if name, ok := h.name(ev.Key); ok {
			h.IDX.Delete(name)
			delete(h.revisions(), name)
		}
	}
	h.rev.Store(ev.Rev)
	return nil
}

// resync makes IDX equal to the snapshot. Values whose revision is the one
// already in the map are not decoded again, so a resync after a short gap
// emits events only for what changed. The writes, and their events, are
// those of a Put or Delete per key in snapshot order, then a Delete per
// name missing from the snapshot in name order; they are applied in
// batches (see BatchWriter). With the default Decode, values of a large
// snapshot are decoded on several goroutines ahead of the batches.
func (h *CacheHelper[V]) resync(snapshot []kvdb.KeyValue) {
	initial := len(h.revs) == 0 && len(h.pending) == 0 && h.IDX.Len() == 0
	var revs map[string]int64 // nil in the initial sync, which fills pending
	if initial {
		h.pending = make([]nameRev, 0, len(snapshot))
	} else {
		revs = h.revisions()
	}
	// The names, and which values to decode, are known before any write:
	// values can then be decoded ahead of their batch.
	keys := make([]resyncKey, len(snapshot))
	for i, kv := range snapshot {
		k := &keys[i]
		k.name, k.err = h.ParseName(kv.Key)
		if k.err != nil {
			continue
		}
		if rev, found := revs[k.name]; !found || rev != kv.Rev {
			k.decode = true
		}
	}
	dec := h.startDecode(snapshot, keys)
	defer dec.wait()

	// seen maps each name of the snapshot to whether it is in IDX (an
	// undecodable value is not); the initial sync has nothing to delete.
	var seen map[string]bool
	if !initial {
		seen = make(map[string]bool, len(snapshot))
	}
	// Each chunk is applied as soon as it is decoded, while the next ones
	// are being decoded; the initial sync first tells IDX how many entries
	// are coming, so that it sizes itself once.
	bw, batched := h.IDX.(BatchWriter[V])
	if initial && batched {
		bw.Grow(len(snapshot))
	}
	changes := make([]Change[V], 0, min(len(snapshot), resyncChunk))
	for start := 0; start < len(snapshot); start += resyncChunk {
		end := min(start+resyncChunk, len(snapshot))
		dec.chunkDone(start / resyncChunk)
		changes = changes[:0]
		for i := start; i < end; i++ {
			kv, k := &snapshot[i], &keys[i]
			if k.err != nil {
				h.skip(fmt.Errorf("idxmap: cache %q: name of %q: %w", h.Prefix, kv.Key, k.err))
				continue
			}
			if rev, found := revs[k.name]; found && rev == kv.Rev {
				if seen != nil {
					seen[k.name] = true
				}
				continue
			}
			var v V
			var err error
			if k.decode && dec.values != nil {
				v, err = dec.values[i], dec.errs[i]
			} else {
				v, err = h.Decode(kv.Key, kv.Value)
			}
			if err != nil {
				h.skip(fmt.Errorf("idxmap: cache %q: decode %q: %w", h.Prefix, kv.Key, err))
				changes = append(changes, Change[V]{Name: k.name, Delete: true})
				delete(revs, k.name)
			} else {
				changes = append(changes, Change[V]{Name: k.name, Value: v})
				if initial {
					h.pending = append(h.pending, nameRev{k.name, kv.Rev})
				} else {
					revs[k.name] = kv.Rev
				}
			}
			if seen != nil {
				seen[k.name] = err == nil
			}
		}
		h.applyChanges(changes)
	}
	if initial {
		return
	}
	present := 0
	for _, in := range seen {
		if in {
			present++
		}
	}
	if h.IDX.Len() == present {
		return // nothing else in the map: skip listing it
	}
	changes = changes[:0]
	for _, name := range h.IDX.ListAllNames() {
		if !seen[name] {
			changes = append(changes, Change[V]{Name: name, Delete: true})
			delete(revs, name)
		}
	}
	h.applyChanges(changes)
}

// nameRev is a name with the mod revision of its value.
type nameRev struct {
	name string
	rev  int64
}

// revisions returns revs, first moving the revisions of the initial sync
// into it.
func (h *CacheHelper[V]) revisions() map[string]int64 {
	if h.pending != nil {
		if len(h.revs) == 0 {
			h.revs = make(map[string]int64, len(h.pending))
		}
		for _, nr := range h.pending {
			h.revs[nr.name] = nr.rev
		}
		h.pending = nil
	}
	return h.revs
}

// resyncChunk is the number of keys of a snapshot decoded, then applied,
// together.
const resyncChunk = 1024

// resyncKey is what resync learns of a key before writing.
type resyncKey struct {
	name   string
	err    error // from ParseName
	decode bool  // the revision differs from the one in the map
}

// applyChanges writes changes to IDX, in one call if it is a BatchWriter.
func (h *CacheHelper[V]) applyChanges(changes []Change[V]) {
	if len(changes) == 0 {
		return
	}
	if bw, ok := h.IDX.(BatchWriter[V]); ok {
		bw.Apply(changes)
		clear(changes) // drop the references to the values
		return
	}
	for i := range changes {
		c := &changes[i]
		if c.Delete {
			h.IDX.Delete(c.Name)
		} else {
			h.IDX.Put(c.Name, c.Value)
		}
		*c = Change[V]{}
	}
}

// snapshotDecoder decodes the values of a snapshot on several goroutines,
// chunk by chunk, for the default decoders, which are safe for concurrent
// use. values is nil when it does not run: resync then decodes each value
// itself.
type snapshotDecoder[V any] struct {
	values []V
	errs   []error
	done   []chan struct{} // closed when the chunk of that number is decoded
	wg     sync.WaitGroup
}

func (h *CacheHelper[V]) startDecode(snapshot []kvdb.KeyValue, keys []resyncKey) *snapshotDecoder[V] {
	d := &snapshotDecoder[V]{}
	chunks := (len(snapshot) + resyncChunk - 1) / resyncChunk
	workers := min(runtime.GOMAXPROCS(0), chunks)
	if !h.concurrentDecode || chunks < 2 || workers < 2 {
		return d
	}
	d.values = make([]V, len(snapshot))
	d.errs = make([]error, len(snapshot))
	d.done = make([]chan struct{}, chunks)
	for i := range d.done {
		d.done[i] = make(chan struct{})
	}
	decode := h.Decode
	var next atomic.Int64
	d.wg.Add(workers)
	for range workers {
		go func() {
			defer d.wg.Done()
			for {
				c := int(next.Add(1) - 1)
				if c >= chunks {
					return
				}
				for i := c * resyncChunk; i < min((c+1)*resyncChunk, len(snapshot)); i++ {
					if keys[i].decode {
						d.values[i], d.errs[i] = decode(snapshot[i].Key, snapshot[i].Value)
					}
				}
				close(d.done[c])
			}
		}()
	}
	return d
}

// chunkDone waits until chunk c is decoded.
func (d *snapshotDecoder[V]) chunkDone(c int) {
	if d.done != nil {
		<-d.done[c]
	}
}

// wait waits for the goroutines to end.
func (d *snapshotDecoder[V]) wait() { d.wg.Wait() }

// put stores the decoded value and reports whether name is now in IDX.
func (h *CacheHelper[V]) put(name, key string, value []byte, rev int64) bool {
	v, err := h.Decode(key, value)
	if err != nil {
		h.skip(fmt.Errorf("idxmap: cache %q: decode %q: %w", h.Prefix, key, err))
		h.IDX.Delete(name)
		delete(h.revisions(), name)
		return false
	}
	h.IDX.Put(name, v)
	h.revisions()[name] = rev
	return true
}

func (h *CacheHelper[V]) name(key string) (string, bool) {
	name, err := h.ParseName(key)
	if err != nil {
		h.skip(fmt.Errorf("idxmap: cache %q: name of %q: %w", h.Prefix, key, err))
		return "", false
	}
	return name, true
}

func (h *CacheHelper[V]) skip(err error) {
	h.skipped.Add(1)
	h.logError(err)
}

func (h *CacheHelper[V]) logError(err error) {
	if h.Log != nil {
		h.Log.Error(err)
	}
}

func (h *CacheHelper[V]) report(ok bool, err error) {
	if h.ReportState == nil {
		return
	}
	h.stateMu.Lock()
	defer h.stateMu.Unlock()
	h.ReportState(ok, err)
}

// ErrKeyOutsidePrefix is wrapped by NameFromKey for a key that does not
// start with the prefix or that equals it.
var ErrKeyOutsidePrefix = errors.New("key is not under the prefix")

// NameFromKey returns key without prefix: the default name of a cached key.
// It returns an error wrapping ErrKeyOutsidePrefix if key does not start
// with prefix or nothing is left after it.
func NameFromKey(prefix, key string) (string, error) {
	name, ok := kvdb.TrimPrefix(key, prefix)
	if !ok || name == "" {
		return "", fmt.Errorf("%q under %q: %w", key, prefix, ErrKeyOutsidePrefix)
	}
	return name, nil
}

// DecodeJSON returns a decoder of JSON values with encoding/json. For a
// pointer type V, each value gets a new V.
func DecodeJSON[V any]() func(key string, value []byte) (V, error) {
	return func(_ string, value []byte) (V, error) {
		var v V
		err := json.Unmarshal(value, &v)
		return v, err
	}
}

// DecodeProto returns a decoder of proto messages stored with s (kvdb.JSON
// if nil). V is the pointer type of a generated message, such as
// *model.Interface; each value gets a new message.
func DecodeProto[V proto.Message](s kvdb.Serializer) func(key string, value []byte) (V, error) {
	if s == nil {
		s = kvdb.JSON
	}
	var zero V
	typ := zero.ProtoReflect().Type()
	return func(_ string, value []byte) (V, error) {
		m := typ.New().Interface().(V)
		err := s.Unmarshal(value, m)
		return m, err
	}
}

// defaultDecode picks DecodeProto for proto messages and DecodeJSON for
// anything else.
func defaultDecode[V any]() func(key string, value []byte) (V, error) {
	var zero V
	pm, ok := any(zero).(proto.Message)
	if !ok {
		return DecodeJSON[V]()
	}
	typ := pm.ProtoReflect().Type()
	return func(_ string, value []byte) (V, error) {
		m := typ.New().Interface()
		err := kvdb.JSON.Unmarshal(value, m)
		return m.(V), err
	}
}
