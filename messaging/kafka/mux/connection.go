package mux

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"

	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/proto"

	"github.com/plinth-go/plinth/messaging"
	"github.com/plinth-go/plinth/messaging/kafka/client"
)

// connCore is what both kinds of connections share: a name for logs and
// the subscriptions to stop on Close.
type connCore struct {
	m    *Multiplexer
	name string

	mu   sync.Mutex // guards subs
	subs map[*subscriber]struct{}
}

func newConnCore(m *Multiplexer, name string) *connCore {
	return &connCore{m: m, name: name, subs: map[*subscriber]struct{}{}}
}

// Name returns the name given to the connection.
func (c *connCore) Name() string { return c.name }

// Close stops every subscription made through the connection. Publishers
// keep working. It is idempotent.
func (c *connCore) Close() error {
	c.mu.Lock()
	subs := make([]*subscriber, 0, len(c.subs))
	for s := range c.subs {
		subs = append(subs, s)
	}
	c.mu.Unlock()
	for _, s := range subs {
		s.Unsubscribe()
	}
	return nil
}

func (c *connCore) forget(s *subscriber) {
	c.mu.Lock()
	delete(c.subs, s)
	c.mu.Unlock()
}

func (c *connCore) watch(handle func(context.Context, *client.ConsumerMessage), topics []string) (messaging.Subscription, error) {
	if len(topics) == 0 || slices.Contains(topics, "") {
		return nil, fmt.Errorf("kafka: %s: watch needs non-empty topic names, got %q", c.name, topics)
	}
	return c.add(&subscriber{handle: handle, topics: slices.Clone(topics)})
}

func (c *connCore) watchPartition(handle func(context.Context, *client.ConsumerMessage), topic string, partition int32, offset int64) (messaging.Subscription, error) {
	if topic == "" || partition < 0 {
		return nil, fmt.Errorf("kafka: %s: watch needs a topic and a partition >= 0, got %q partition %d", c.name, topic, partition)
	}
	return c.add(&subscriber{handle: handle, topics: []string{topic}, manual: true, partition: partition, offset: offset})
}

func (c *connCore) add(s *subscriber) (messaging.Subscription, error) {
	s.m, s.conn = c.m, c
	s.ctx, s.cancel = context.WithCancel(c.m.ctx)
	if s.manual {
		s.errLog = newErrorLog(c.m.log, "subscription "+s.String())
		s.fetchErr = make(chan struct{}, 1)
	}
	c.mu.Lock()
	c.subs[s] = struct{}{}
	c.mu.Unlock()
	if err := c.m.subscribe(s); err != nil {
		s.cancel()
		c.forget(s)
		return nil, fmt.Errorf("kafka: %s: watch %s: %w", c.name, s, err)
	}
	return s, nil
}

func (c *connCore) checkPublisher(topic string, partition int32) error {
	if topic == "" {
		return fmt.Errorf("kafka: %s: publisher needs a topic", c.name)
	}
	if partition < 0 {
		return fmt.Errorf("kafka: %s: partition %d is negative", c.name, partition)
	}
	return nil
}

// BytesConnection publishes and watches raw messages. Get one from
// Multiplexer.NewBytesConnection.
type BytesConnection struct{ *connCore }

var _ messaging.BytesWatcher = (*BytesConnection)(nil)

// NewBytesConnection returns a connection for raw messages. name appears in
// errors and logs; connections need not have distinct names.
func (m *Multiplexer) NewBytesConnection(name string) *BytesConnection {
	return &BytesConnection{newConnCore(m, name)}
}

// NewSyncPublisher returns a publisher to topic whose Put waits for the
// brokers; the configured partitioner chooses the partition.
func (c *BytesConnection) NewSyncPublisher(topic string) (*SyncPublisher[[]byte], error) {
	return newSyncPublisher(c.connCore, topic, false, 0, encodeBytes)
}

// NewSyncPublisherToPartition is NewSyncPublisher writing to one partition.
func (c *BytesConnection) NewSyncPublisherToPartition(topic string, partition int32) (*SyncPublisher[[]byte], error) {
	return newSyncPublisher(c.connCore, topic, true, partition, encodeBytes)
}

// NewAsyncPublisher returns a publisher to topic whose Put queues the
// message; onSuccess or onError (either may be nil) is called later.
func (c *BytesConnection) NewAsyncPublisher(topic string, onSuccess func(messaging.BytesMessage), onError func(messaging.BytesMessage, error)) (*AsyncPublisher[[]byte], error) {
	return newAsyncPublisher(c.connCore, topic, false, 0, encodeBytes, onSuccess, onError)
}

// NewAsyncPublisherToPartition is NewAsyncPublisher writing to one partition.
func (c *BytesConnection) NewAsyncPublisherToPartition(topic string, partition int32, onSuccess func(messaging.BytesMessage), onError func(messaging.BytesMessage, error)) (*AsyncPublisher[[]byte], error) {
	return newAsyncPublisher(c.connCore, topic, true, partition, encodeBytes, onSuccess, onError)
}

// Watch calls h for every message published to any of topics, as a member of
// the consumer group of the multiplexer: the offset of a message is
// committed once every subscriber of its topic handled it, and a message is
// handed once while the multiplexer lives (see Delivery in the package
// documentation). Watching before the multiplexer connected is fine:
// messages flow once it has.
func (c *BytesConnection) Watch(h messaging.BytesHandler, topics ...string) (messaging.Subscription, error) {
	if h == nil {
		panic("kafka: Watch with a nil handler")
	}
	return c.watch(func(ctx context.Context, m *client.ConsumerMessage) { h(ctx, m) }, topics)
}

// WatchPartition calls h for every message of partition of topic from
// offset on (a real offset, client.Oldest or client.Newest), outside the
// consumer group: nothing is committed.
//
// When the multiplexer is connected, a partition that cannot be read (its
// topic does not exist, offset is outside the stored range) is an error.
// Made before the multiplexer connected, WatchPartition returns nil; the
// subscription starts once connected and, when it cannot, retries with a
// backoff from 100ms up to ReconnectBackoffMax until it starts or is
// unsubscribed. Meanwhile Multiplexer.Err (the Kafka plugin's status)
// reports it from the first failed attempt on, and the failures are logged.
//
// Once reading, the subscription survives broker outages of any length:
// sarama retries by itself, and the errors it reports are logged with a
// backoff. If they go on for 10 s while the brokers answer, Err reports the
// subscription until 10 s pass without one. If sarama gives the partition
// up (the next offset is no longer stored), the subscription reads again
// after the last message handled: at the oldest stored offset when the
// messages between were deleted, at the end of the partition when the
// brokers lost messages, and logs that as an error.
func (c *BytesConnection) WatchPartition(h messaging.BytesHandler, topic string, partition int32, offset int64) (messaging.Subscription, error) {
	if h == nil {
		panic("kafka: WatchPartition with a nil handler")
	}
	return c.watchPartition(func(ctx context.Context, m *client.ConsumerMessage) { h(ctx, m) }, topic, partition, offset)
}

// ProtoConnection publishes and watches protobuf messages, in the binary
// wire format unless made WithJSON. Get one from
// Multiplexer.NewProtoConnection.
type ProtoConnection struct {
	*connCore
	json bool
}

var _ messaging.ProtoWatcher = (*ProtoConnection)(nil)

// ProtoOption customizes a ProtoConnection.
type ProtoOption func(*ProtoConnection)

// WithJSON encodes and decodes values as protobuf JSON instead of binary.
func WithJSON() ProtoOption { return func(c *ProtoConnection) { c.json = true } }

// NewProtoConnection returns a connection for protobuf messages, encoded in
// binary by default. name appears in errors and logs.
func (m *Multiplexer) NewProtoConnection(name string, opts ...ProtoOption) *ProtoConnection {
	c := &ProtoConnection{connCore: newConnCore(m, name)}
	for _, opt := range opts {
		opt(c)
	}
	return c
}

func (c *ProtoConnection) encode(v proto.Message) ([]byte, error) {
	if v == nil {
		return nil, errors.New("nil proto message")
	}
	if c.json {
		return protojson.Marshal(v)
	}
	return proto.Marshal(v)
}

// NewSyncPublisher returns a publisher to topic whose Put waits for the
// brokers; the configured partitioner chooses the partition.
func (c *ProtoConnection) NewSyncPublisher(topic string) (*SyncPublisher[proto.Message], error) {
	return newSyncPublisher(c.connCore, topic, false, 0, c.encode)
}

// NewSyncPublisherToPartition is NewSyncPublisher writing to one partition.
func (c *ProtoConnection) NewSyncPublisherToPartition(topic string, partition int32) (*SyncPublisher[proto.Message], error) {
	return newSyncPublisher(c.connCore, topic, true, partition, c.encode)
}

// NewAsyncPublisher returns a publisher to topic whose Put queues the
// message; onSuccess or onError (either may be nil) is called later with the
// encoded message.
func (c *ProtoConnection) NewAsyncPublisher(topic string, onSuccess func(messaging.BytesMessage), onError func(messaging.BytesMessage, error)) (*AsyncPublisher[proto.Message], error) {
	return newAsyncPublisher(c.connCore, topic, false, 0, c.encode, onSuccess, onError)
}

// NewAsyncPublisherToPartition is NewAsyncPublisher writing to one partition.
func (c *ProtoConnection) NewAsyncPublisherToPartition(topic string, partition int32, onSuccess func(messaging.BytesMessage), onError func(messaging.BytesMessage, error)) (*AsyncPublisher[proto.Message], error) {
	return newAsyncPublisher(c.connCore, topic, true, partition, c.encode, onSuccess, onError)
}

// Watch is BytesConnection.Watch for protobuf messages.
func (c *ProtoConnection) Watch(h messaging.ProtoHandler, topics ...string) (messaging.Subscription, error) {
	if h == nil {
		panic("kafka: Watch with a nil handler")
	}
	return c.watch(c.wrap(h), topics)
}

// WatchPartition is BytesConnection.WatchPartition for protobuf messages.
func (c *ProtoConnection) WatchPartition(h messaging.ProtoHandler, topic string, partition int32, offset int64) (messaging.Subscription, error) {
	if h == nil {
		panic("kafka: WatchPartition with a nil handler")
	}
	return c.watchPartition(c.wrap(h), topic, partition, offset)
}

func (c *ProtoConnection) wrap(h messaging.ProtoHandler) func(context.Context, *client.ConsumerMessage) {
	return func(ctx context.Context, m *client.ConsumerMessage) {
		h(ctx, &protoMessage{ConsumerMessage: m, json: c.json})
	}
}

// protoMessage decodes the value of a consumed message on demand.
type protoMessage struct {
	*client.ConsumerMessage
	json bool
}

var _ messaging.ProtoMessage = (*protoMessage)(nil)

func (m *protoMessage) GetValue(v proto.Message) error {
	var err error
	if m.json {
		err = protojson.Unmarshal(m.Value, v)
	} else {
		err = proto.Unmarshal(m.Value, v)
	}
	if err != nil {
		return fmt.Errorf("kafka: decode message %d of topic %q partition %d as %T: %w", m.Offset, m.Topic, m.Partition, v, err)
	}
	return nil
}

func encodeBytes(v []byte) ([]byte, error) { return v, nil }
