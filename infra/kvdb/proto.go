package kvdb

import (
	"context"
	"fmt"

	"google.golang.org/protobuf/proto"
)

// ProtoBroker reads and writes proto messages under a key prefix.
type ProtoBroker interface {
	// Put stores m under key.
	Put(ctx context.Context, key string, m proto.Message, opts ...PutOption) error
	// Get decodes the value of key into m. A missing key gives found=false,
	// a nil error and m unchanged.
	Get(ctx context.Context, key string, m proto.Message) (found bool, rev int64, err error)
	// List returns every key under prefix with its encoded value; decode
	// each with ProtoKeyValue.Unmarshal.
	List(ctx context.Context, prefix string) (kvs []ProtoKeyValue, rev int64, err error)
	// Delete removes key, or every key under it with WithPrefix, and
	// reports whether anything existed.
	Delete(ctx context.Context, key string, opts ...DeleteOption) (existed bool, err error)
}

// ProtoKeyValue is one entry of ProtoBroker.List. Its value is decoded on
// demand, so listing many keys costs nothing for those not read.
type ProtoKeyValue struct {
	KeyValue
	s Serializer
}

// Unmarshal decodes the value into m.
func (kv ProtoKeyValue) Unmarshal(m proto.Message) error {
	if err := kv.s.Unmarshal(kv.Value, m); err != nil {
		return fmt.Errorf("%s: %w", kv.Key, err)
	}
	return nil
}

// ProtoWrapper is a ProtoBroker on top of a BytesBroker. Create it with
// NewProtoWrapper.
type ProtoWrapper struct {
	b BytesBroker
	s Serializer
}

var _ ProtoBroker = (*ProtoWrapper)(nil)

// NewProtoWrapper returns a ProtoBroker storing messages in b through s. If s
// is nil, JSON is used.
func NewProtoWrapper(b BytesBroker, s Serializer) *ProtoWrapper {
	if s == nil {
		s = JSON
	}
	return &ProtoWrapper{b: b, s: s}
}

// Bytes returns the underlying broker, for reading raw values.
func (w *ProtoWrapper) Bytes() BytesBroker { return w.b }

// Serializer returns the serializer of w.
func (w *ProtoWrapper) Serializer() Serializer { return w.s }

// Put encodes m and stores it under key.
func (w *ProtoWrapper) Put(ctx context.Context, key string, m proto.Message, opts ...PutOption) error {
	data, err := w.s.Marshal(m)
	if err != nil {
		return fmt.Errorf("kvdb: put %q: %w", key, err)
	}
	return w.b.Put(ctx, key, data, opts...)
}

// Get decodes the value of key into m.
func (w *ProtoWrapper) Get(ctx context.Context, key string, m proto.Message) (bool, int64, error) {
	if m == nil {
		return false, 0, fmt.Errorf("kvdb: get %q: %w", key, ErrNilMessage)
	}
	data, found, rev, err := w.b.Get(ctx, key)
	if err != nil || !found {
		return found, rev, err
	}
	if err := w.s.Unmarshal(data, m); err != nil {
		return true, rev, fmt.Errorf("kvdb: get %q: %w", key, err)
	}
	return true, rev, nil
}

// List returns every key under prefix, sorted by key, with the revision of
// the read.
func (w *ProtoWrapper) List(ctx context.Context, prefix string) ([]ProtoKeyValue, int64, error) {
	kvs, rev, err := w.b.List(ctx, prefix)
	if err != nil {
		return nil, rev, err
	}
	out := make([]ProtoKeyValue, len(kvs))
	for i, kv := range kvs {
		out[i] = ProtoKeyValue{KeyValue: kv, s: w.s}
	}
	return out, rev, nil
}

// Delete removes key, or every key under it with WithPrefix.
func (w *ProtoWrapper) Delete(ctx context.Context, key string, opts ...DeleteOption) (bool, error) {
	return w.b.Delete(ctx, key, opts...)
}

// PutTxn adds a put of m under key to txn.
func (w *ProtoWrapper) PutTxn(txn Txn, key string, m proto.Message) error {
	data, err := w.s.Marshal(m)
	if err != nil {
		return fmt.Errorf("kvdb: put %q: %w", key, err)
	}
	txn.Put(key, data)
	return nil
}
