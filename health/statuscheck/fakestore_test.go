package statuscheck_test

import (
	"context"
	"errors"
	"sort"
	"strings"
	"sync"

	"github.com/plinth-go/plinth/infra/kvdb"
)

// flakyStore is an in-memory kvdb.Store that fails every operation while
// down, and counts writes per key. Keys put WithSession are marked as
// bound to its one session, which never ends.
type flakyStore struct {
	mu        sync.Mutex
	down      bool
	data      map[string][]byte
	session   map[string]bool
	writes    map[string]int
	lists     int
	onConnect []func()
}

var errDown = errors.New("store down")

func newFlakyStore() *flakyStore {
	return &flakyStore{data: map[string][]byte{}, session: map[string]bool{}, writes: map[string]int{}}
}

func (s *flakyStore) setDown(down bool) {
	s.mu.Lock()
	s.down = down
	cbs := s.onConnect
	s.mu.Unlock()
	if !down {
		for _, fn := range cbs {
			fn()
		}
	}
}

func (s *flakyStore) value(key string) (string, int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return string(s.data[key]), s.writes[key]
}

func (s *flakyStore) NewBroker(prefix string) kvdb.BytesBroker { return &flakyBroker{s, prefix} }
func (s *flakyStore) NewWatcher(string) kvdb.Watcher           { panic("not used") }
func (s *flakyStore) Disabled() bool                           { return false }
func (s *flakyStore) OnConnect(fn func()) {
	s.mu.Lock()
	s.onConnect = append(s.onConnect, fn)
	s.mu.Unlock()
}

type flakyBroker struct {
	s      *flakyStore
	prefix string
}

func (b *flakyBroker) Put(_ context.Context, key string, value []byte, opts ...kvdb.PutOption) error {
	b.s.mu.Lock()
	defer b.s.mu.Unlock()
	if b.s.down {
		return errDown
	}
	b.s.data[b.prefix+key] = append([]byte(nil), value...)
	b.s.session[b.prefix+key] = kvdb.ApplyPutOptions(opts).Session
	b.s.writes[b.prefix+key]++
	return nil
}

func (b *flakyBroker) List(_ context.Context, prefix string) ([]kvdb.KeyValue, int64, error) {
	b.s.mu.Lock()
	defer b.s.mu.Unlock()
	if b.s.down {
		return nil, 0, errDown
	}
	b.s.lists++
	var kvs []kvdb.KeyValue
	for k, v := range b.s.data {
		if rel, ok := strings.CutPrefix(k, b.prefix+prefix); ok {
			kv := kvdb.KeyValue{Key: prefix + rel, Value: v}
			if b.s.session[k] {
				kv.Lease, kv.Session = 1, true
			}
			kvs = append(kvs, kv)
		}
	}
	sort.Slice(kvs, func(i, j int) bool { return kvs[i].Key < kvs[j].Key })
	return kvs, 1, nil
}

func (b *flakyBroker) Get(context.Context, string) ([]byte, bool, int64, error) { panic("not used") }
func (b *flakyBroker) ListKeys(context.Context, string) ([]string, int64, error) {
	panic("not used")
}
func (b *flakyBroker) Delete(context.Context, string, ...kvdb.DeleteOption) (bool, error) {
	panic("not used")
}
func (b *flakyBroker) Txn() kvdb.Txn { panic("not used") }
