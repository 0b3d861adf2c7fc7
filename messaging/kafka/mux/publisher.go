package mux

import (
	"context"
	"fmt"

	"google.golang.org/protobuf/proto"

	"github.com/plinth-go/plinth/messaging"
	"github.com/plinth-go/plinth/messaging/kafka/client"
)

var (
	_ messaging.BytesPublisher = (*SyncPublisher[[]byte])(nil)
	_ messaging.ProtoPublisher = (*SyncPublisher[proto.Message])(nil)
	_ messaging.BytesPublisher = (*AsyncPublisher[[]byte])(nil)
	_ messaging.ProtoPublisher = (*AsyncPublisher[proto.Message])(nil)
)

// publisher is what both kinds of publishers share.
type publisher[V any] struct {
	conn      *connCore
	topic     string
	manual    bool
	partition int32
	encode    func(V) ([]byte, error)
}

// message fills msg, a zero message, with value under key, encoded. It sets
// the fields one by one: assigning a whole ProducerMessage would write all
// of it again, sarama's message included.
func (p *publisher[V]) message(msg *client.ProducerMessage, key string, value V, opts []messaging.PutOption) error {
	data, err := p.encode(value)
	if err != nil {
		return fmt.Errorf("kafka: %s: encode message for topic %q: %w", p.conn.name, p.topic, err)
	}
	msg.Topic, msg.Key, msg.Value, msg.Manual, msg.Partition = p.topic, key, data, p.manual, p.partition
	if len(opts) > 0 {
		msg.Headers = messaging.NewPutOptions(opts...).Headers
	}
	return nil
}

// connection returns the producers, or why there are none.
func (p *publisher[V]) connection() (*connection, error) {
	m := p.conn.m
	if m.disabled != nil {
		return nil, fmt.Errorf("kafka: %s: publish to topic %q: %w", p.conn.name, p.topic, m.disabled)
	}
	if c := m.conn.Load(); c != nil {
		return c, nil
	}
	return nil, fmt.Errorf("kafka: %s: publish to topic %q: %w", p.conn.name, p.topic, m.Err())
}

// SyncPublisher publishes messages to one topic and waits for the brokers.
// SyncPublisher[[]byte] is a messaging.BytesPublisher and
// SyncPublisher[proto.Message] a messaging.ProtoPublisher. It is safe for
// concurrent use; concurrent Puts are sent together.
type SyncPublisher[V any] struct{ publisher[V] }

func newSyncPublisher[V any](c *connCore, topic string, manual bool, partition int32, encode func(V) ([]byte, error)) (*SyncPublisher[V], error) {
	if err := c.checkPublisher(topic, partition); err != nil {
		return nil, err
	}
	return &SyncPublisher[V]{publisher[V]{conn: c, topic: topic, manual: manual, partition: partition, encode: encode}}, nil
}

// Put publishes value under key and returns once the brokers stored it (as
// required-acks says) or refused it. Before the multiplexer reached the
// brokers it returns an error wrapping ErrNotConnected at once. When ctx has
// ended, Put returns an error wrapping ctx.Err() without publishing. A
// message already sent is not called back: Put then waits for its result
// even if ctx ends, within sarama's retries and network timeouts (see
// client.SyncProducer.Send). value must not be modified until Put returns.
func (p *SyncPublisher[V]) Put(ctx context.Context, key string, value V, opts ...messaging.PutOption) error {
	c, err := p.connection()
	if err != nil {
		return err
	}
	// On the stack: Send copies what sarama needs into one allocation.
	var msg client.ProducerMessage
	if err := p.message(&msg, key, value, opts); err != nil {
		return err
	}
	return c.sync.Send(ctx, &msg)
}

// AsyncPublisher publishes messages to one topic without waiting: Put queues
// the message and a callback reports the result. AsyncPublisher[[]byte] is
// a messaging.BytesPublisher and AsyncPublisher[proto.Message] a
// messaging.ProtoPublisher. It is safe for concurrent use.
//
// Callbacks run on a goroutine of the multiplexer, one at a time for
// successes and one at a time for errors; they should return quickly, since
// the next results wait for them. They need not be read by anyone: nothing
// blocks when they do nothing.
type AsyncPublisher[V any] struct {
	publisher[V]
	onSuccess func(*client.ProducerMessage)
	onError   func(*client.ProducerMessage, error)
}

func newAsyncPublisher[V any](c *connCore, topic string, manual bool, partition int32, encode func(V) ([]byte, error),
	onSuccess func(messaging.BytesMessage), onError func(messaging.BytesMessage, error)) (*AsyncPublisher[V], error) {
	if err := c.checkPublisher(topic, partition); err != nil {
		return nil, err
	}
	p := &AsyncPublisher[V]{publisher: publisher[V]{conn: c, topic: topic, manual: manual, partition: partition, encode: encode}}
	if onSuccess != nil {
		p.onSuccess = func(m *client.ProducerMessage) { onSuccess(m) }
	}
	if onError != nil {
		p.onError = func(m *client.ProducerMessage, err error) { onError(m, err) }
	}
	return p, nil
}

// Put queues value under key and returns. Exactly one callback is called
// for every Put that returned nil, also when the multiplexer closes with the
// message in flight. Put blocks while the queue is full (backpressure) until
// ctx ends. Before the multiplexer reached the brokers, or when ctx ends, it
// returns an error and calls no callback. value must not be modified after
// Put.
func (p *AsyncPublisher[V]) Put(ctx context.Context, key string, value V, opts ...messaging.PutOption) error {
	c, err := p.connection()
	if err != nil {
		return err
	}
	// On the heap: it carries the callbacks and is handed to them.
	msg := new(client.ProducerMessage)
	if err := p.message(msg, key, value, opts); err != nil {
		return err
	}
	return c.async.SendAsync(ctx, msg, p.onSuccess, p.onError)
}
