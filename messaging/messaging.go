package messaging

import (
	"context"
	"time"

	"google.golang.org/protobuf/proto"
)

// Header is a key-value pair carried by a message next to its value. Keys
// need not be unique.
type Header struct {
	Key   string
	Value []byte
}

// Message describes a message that was published or received. The getters
// return zero values for what the broker did not set: a message that is
// still being published has no partition and offset yet.
type Message interface {
	// GetTopic returns the topic of the message.
	GetTopic() string
	// GetPartition returns the partition the message was stored in.
	GetPartition() int32
	// GetOffset returns the offset of the message in its partition.
	GetOffset() int64
	// GetKey returns the key of the message, "" when it has none.
	GetKey() string
	// GetHeaders returns the headers of the message. Callers must not
	// modify the returned slice.
	GetHeaders() []Header
	// GetTimestamp returns the time the message was created, or the zero
	// time when the broker did not record one.
	GetTimestamp() time.Time
}

// BytesMessage is a message whose value is raw bytes.
type BytesMessage interface {
	Message
	// GetValue returns the value. Callers must not modify it, and must copy
	// it to keep it after the handler returns.
	GetValue() []byte
}

// ProtoMessage is a message whose value is a protobuf message.
type ProtoMessage interface {
	Message
	// GetValue decodes the value into msg.
	GetValue(msg proto.Message) error
}

// BytesPublisher publishes raw bytes to one topic.
type BytesPublisher interface {
	// Put publishes value under key. What returning nil means depends on
	// the publisher: a synchronous one returns once the broker stored the
	// message, an asynchronous one once the message is queued. ctx bounds
	// the wait, and an ended ctx gives an error wrapping ctx.Err().
	Put(ctx context.Context, key string, value []byte, opts ...PutOption) error
}

// ProtoPublisher publishes protobuf messages to one topic.
type ProtoPublisher interface {
	// Put publishes value under key, as BytesPublisher.Put does.
	Put(ctx context.Context, key string, value proto.Message, opts ...PutOption) error
}

// PutOptions are the settings of one Put. Implementations read them with
// [NewPutOptions].
type PutOptions struct {
	// Headers are sent with the message.
	Headers []Header
}

// PutOption changes the settings of one Put.
type PutOption func(*PutOptions)

// WithHeaders sends the given headers with the message. Callers must not
// modify them until Put returns.
func WithHeaders(headers ...Header) PutOption {
	return func(o *PutOptions) { o.Headers = append(o.Headers, headers...) }
}

// NewPutOptions applies opts to zero PutOptions.
func NewPutOptions(opts ...PutOption) PutOptions {
	var o PutOptions
	for _, opt := range opts {
		opt(&o)
	}
	return o
}

// BytesHandler receives the messages of a subscription. ctx is done when the
// subscription stops.
type BytesHandler func(ctx context.Context, msg BytesMessage)

// ProtoHandler receives the messages of a subscription, as BytesHandler does.
type ProtoHandler func(ctx context.Context, msg ProtoMessage)

// Subscription is the handle of a registered handler.
type Subscription interface {
	// Unsubscribe stops the delivery of messages to the handler and cancels
	// the context of a call in progress. It does not wait for that call to
	// return, so it may be called from the handler. It is idempotent.
	Unsubscribe()
}

// BytesWatcher subscribes handlers of raw messages.
type BytesWatcher interface {
	// Watch calls h for every message published to any of topics.
	Watch(h BytesHandler, topics ...string) (Subscription, error)
	// WatchPartition calls h for every message of one partition of topic,
	// starting at offset.
	WatchPartition(h BytesHandler, topic string, partition int32, offset int64) (Subscription, error)
}

// ProtoWatcher subscribes handlers of protobuf messages.
type ProtoWatcher interface {
	// Watch calls h for every message published to any of topics.
	Watch(h ProtoHandler, topics ...string) (Subscription, error)
	// WatchPartition calls h for every message of one partition of topic,
	// starting at offset.
	WatchPartition(h ProtoHandler, topic string, partition int32, offset int64) (Subscription, error)
}
