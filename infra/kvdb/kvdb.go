package kvdb

import (
	"context"
	"errors"
	"time"
)

// Errors returned by implementations of the API. Compare with errors.Is.
var (
	// ErrDisabled is returned by every operation of a store that is not
	// configured (for example the etcd plugin without endpoints).
	ErrDisabled = errors.New("kvdb: store disabled")
	// ErrClosed is returned by operations on a store after it was closed.
	ErrClosed = errors.New("kvdb: store closed")
	// ErrNilMessage is returned by serializers given a nil proto message.
	ErrNilMessage = errors.New("kvdb: nil proto message")
)

// Store is what plugins inject to reach a key-value store. The etcd plugin
// implements it.
type Store interface {
	// NewBroker returns a broker whose keys are relative to prefix.
	NewBroker(prefix string) BytesBroker
	// NewWatcher returns a watcher whose keys are relative to prefix.
	NewWatcher(prefix string) Watcher
	// Disabled reports whether the store is not configured; its brokers and
	// watchers then return ErrDisabled.
	Disabled() bool
	// OnConnect registers fn to run every time the store (re)connects, and
	// every time it replaces a lost session (see WithSession): each is a
	// moment when keys put earlier may be gone (a store wiped or restored,
	// a lease expired or revoked) and state should be compared and put
	// again. Callbacks run one at a time, in the order of registration,
	// and must return promptly.
	OnConnect(fn func())
}

// KeyValue is one entry of a list or a resync snapshot.
type KeyValue struct {
	// Key is relative to the prefix of the broker or watcher.
	Key string
	// Value is the stored value. Callers may keep it; it is not reused.
	Value []byte
	// Rev is the revision of the key's last change (its mod revision).
	Rev int64
	// Lease is the store's id of the lease the key is bound to, 0 for a
	// key without one (put without WithTTL or WithSession).
	Lease int64
	// Session reports whether the key is bound to the store's current
	// session: a key put WithSession under a session that has since been
	// lost is not, and lives only until its old lease expires.
	Session bool
}

// Reader reads values.
type Reader interface {
	// Get returns the value of key and the revision of its last change.
	// A missing key gives found=false and a nil error.
	Get(ctx context.Context, key string) (value []byte, found bool, rev int64, err error)
	// List returns every key under prefix ("" for all) with its value,
	// sorted by key, and the revision of the store at the time of the read.
	// The result is one consistent snapshot.
	List(ctx context.Context, prefix string) (kvs []KeyValue, rev int64, err error)
	// ListKeys is List without the values.
	ListKeys(ctx context.Context, prefix string) (keys []string, rev int64, err error)
}

// Writer changes values.
type Writer interface {
	// Put stores value under key. See WithTTL and WithSession for keys that
	// expire.
	Put(ctx context.Context, key string, value []byte, opts ...PutOption) error
	// Delete removes key, or every key under it with WithPrefix, and
	// reports whether anything existed.
	Delete(ctx context.Context, key string, opts ...DeleteOption) (existed bool, err error)
	// Txn starts a transaction: conditions, then puts and deletes applied
	// atomically by Txn.Commit.
	Txn() Txn
}

// BytesBroker reads and writes byte values under a key prefix.
type BytesBroker interface {
	Reader
	Writer
}

// Txn is an atomic group of puts and deletes, applied only if every
// condition holds. A Txn is used by one goroutine and committed once.
type Txn interface {
	// If adds conditions; all must hold for the operations to apply.
	If(conds ...Cond) Txn
	// Put adds a put of value under key.
	Put(key string, value []byte) Txn
	// Delete adds a delete of key (not a prefix).
	Delete(key string) Txn
	// Commit applies the operations if every condition holds and reports
	// whether they did. A transaction without conditions always applies.
	Commit(ctx context.Context) (applied bool, err error)
}

// Cond is a transaction condition on the mod revision of one key.
type Cond struct {
	// Key is relative to the broker's prefix.
	Key string
	// ModRev is the revision the key's last change must have; 0 means the
	// key must not exist.
	ModRev int64
}

// IfModRev is the condition that key was last changed at rev, as returned
// by Get: the key has not changed since it was read.
func IfModRev(key string, rev int64) Cond { return Cond{Key: key, ModRev: rev} }

// IfMissing is the condition that key does not exist.
func IfMissing(key string) Cond { return Cond{Key: key} }

// PutOption changes how Put stores a value.
type PutOption interface{ applyPut(*PutOptions) }

// PutOptions is the result of applying PutOptions; implementations of the
// API read it through ApplyPutOptions.
type PutOptions struct {
	// TTL is the time after which the key expires; 0 means never.
	TTL time.Duration
	// Session ties the key to the session of the client.
	Session bool
}

type putOptionFunc func(*PutOptions)

func (f putOptionFunc) applyPut(o *PutOptions) { f(o) }

// WithTTL makes the key expire ttl after the put, unless it is put again.
// Stores count TTLs in whole seconds: the etcd plugin deletes the key no
// sooner than ttl and no later than one second after it, and shares one lease
// among the puts with the same TTL made within that second. A ttl of zero or
// less is ignored.
func WithTTL(ttl time.Duration) PutOption {
	return putOptionFunc(func(o *PutOptions) { o.TTL = ttl })
}

// WithSession ties the key to the life of the client: it stays while the
// agent runs and is connected, and is deleted by the store a session TTL
// after the agent stops or loses the store. Status keys use it. It wins over
// WithTTL.
func WithSession() PutOption {
	return putOptionFunc(func(o *PutOptions) { o.Session = true })
}

// ApplyPutOptions returns the settings of opts, later options winning.
func ApplyPutOptions(opts []PutOption) PutOptions {
	var o PutOptions
	for _, opt := range opts {
		opt.applyPut(&o)
	}
	return o
}

// DeleteOption changes what Delete removes.
type DeleteOption interface{ applyDelete(*DeleteOptions) }

// DeleteOptions is the result of applying DeleteOptions.
type DeleteOptions struct {
	// Prefix deletes every key starting with the given key.
	Prefix bool
}

type deleteOptionFunc func(*DeleteOptions)

func (f deleteOptionFunc) applyDelete(o *DeleteOptions) { f(o) }

// WithPrefix makes Delete remove every key that starts with the given key.
// Delete("", WithPrefix()) removes everything under the broker's prefix.
func WithPrefix() DeleteOption {
	return deleteOptionFunc(func(o *DeleteOptions) { o.Prefix = true })
}

// ApplyDeleteOptions returns the settings of opts.
func ApplyDeleteOptions(opts []DeleteOption) DeleteOptions {
	var o DeleteOptions
	for _, opt := range opts {
		opt.applyDelete(&o)
	}
	return o
}
