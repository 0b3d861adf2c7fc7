package client

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"

	"github.com/IBM/sarama"
)

// Offsets understood by NewPartitionConsumer besides real offsets.
const (
	// Oldest is the oldest offset still stored in a partition.
	Oldest = sarama.OffsetOldest
	// Newest is the offset of the next message published to a partition.
	Newest = sarama.OffsetNewest
)

// PartitionHandler handles one message read from a chosen partition. ctx is
// done when the consumer closes.
type PartitionHandler func(ctx context.Context, msg *ConsumerMessage)

// PartitionConsumer reads one partition of a topic from a chosen offset,
// outside of any consumer group: nothing is committed. The handler is called
// for one message at a time, in order.
//
// # Errors
//
// sarama reports the errors of a partition (a broker that went away, a
// failed fetch) on a channel of limited size, and stops fetching for good
// once that channel is full and nobody reads it. A PartitionConsumer reads
// it on a goroutine of its own for its whole life, counts the errors and
// hands each to the onError function given to [NewPartitionConsumer], so a
// partition keeps being read across any number of broker outages. sarama
// keeps retrying such errors by itself. The only error after which it stops
// reading is an offset outside the range the brokers store (the messages
// were deleted, or the brokers lost them): [PartitionConsumer.Done] is then
// closed and [PartitionConsumer.Err] says why, and the owner decides where
// to read again.
type PartitionConsumer struct {
	consumer sarama.Consumer
	pc       sarama.PartitionConsumer
	handler  PartitionHandler
	onError  func(error)
	topic    string
	part     int32

	ctx    context.Context // lifecycle of the consumer; Close cancels it
	cancel context.CancelFunc
	done   chan struct{} // closed when both goroutines returned
	once   sync.Once

	errorsDone chan struct{} // closed when sarama closed its error channel
	errCount   atomic.Int64
	next       atomic.Int64 // offset after the last message handled; -1 before the first
	closing    atomic.Bool  // Close started: the end is not the consumer's own
	lastErr    error        // written by readErrors before errorsDone closes
}

// NewPartitionConsumer starts reading partition of topic at offset (a real
// offset, Oldest or Newest) on c and calls h for every message. onError
// receives every error sarama reports for the partition while it retries
// (nil ignores them); it runs on a goroutine of the consumer and should
// return quickly. An offset outside the stored range is an error. The
// client stays open when the consumer closes.
func NewPartitionConsumer(c sarama.Client, topic string, partition int32, offset int64, h PartitionHandler, onError func(error)) (*PartitionConsumer, error) {
	if h == nil {
		panic("kafka: NewPartitionConsumer with a nil handler")
	}
	// A consumer of its own: sarama refuses two readers of one partition
	// in one consumer, and subscribers may read one partition twice.
	consumer, err := sarama.NewConsumerFromClient(c)
	if err != nil {
		return nil, fmt.Errorf("kafka: consume topic %q partition %d: %w", topic, partition, err)
	}
	pc, err := consumer.ConsumePartition(topic, partition, offset)
	if err != nil {
		_ = consumer.Close()
		return nil, fmt.Errorf("kafka: consume topic %q partition %d at offset %d: %w", topic, partition, offset, err)
	}
	if onError == nil {
		onError = func(error) {}
	}
	p := &PartitionConsumer{consumer: consumer, pc: pc, handler: h, onError: onError, topic: topic, part: partition,
		done: make(chan struct{}), errorsDone: make(chan struct{})}
	p.next.Store(-1)
	p.ctx, p.cancel = context.WithCancel(context.Background())
	go p.readErrors()
	go p.run()
	return p, nil
}

func (p *PartitionConsumer) run() {
	defer close(p.done)
	// The error channel closes after the message channel; done must not
	// close before lastErr is final.
	defer func() { <-p.errorsDone }()
	for {
		select {
		case m, ok := <-p.pc.Messages():
			if !ok {
				return
			}
			p.handler(p.ctx, (*ConsumerMessage)(m))
			p.next.Store(m.Offset + 1)
		case <-p.ctx.Done():
			return
		}
	}
}

// readErrors drains sarama's error channel until sarama closes it, which it
// does once the partition consumer stopped: an unread error would block
// sarama's fetching for good once the channel is full.
func (p *PartitionConsumer) readErrors() {
	defer close(p.errorsDone)
	for e := range p.pc.Errors() {
		p.errCount.Add(1)
		err := error(e)
		if e != nil && e.Err != nil {
			err = e.Err
		}
		p.lastErr = err
		p.onError(fmt.Errorf("kafka: consume topic %q partition %d: %w", p.topic, p.part, err))
	}
}

// ErrorCount returns how many errors sarama reported for the partition so
// far, each of which was handed to onError.
func (p *PartitionConsumer) ErrorCount() int64 { return p.errCount.Load() }

// Next returns the offset after the last message the handler returned from,
// or -1 before the first.
func (p *PartitionConsumer) Next() int64 { return p.next.Load() }

// Done returns a channel closed once the consumer stopped reading: after
// Close, or when sarama gave the partition up by itself (see Err).
func (p *PartitionConsumer) Done() <-chan struct{} { return p.done }

// Err returns, once Done is closed, why sarama stopped reading the
// partition by itself (such as sarama.ErrOffsetOutOfRange); nil while the
// consumer reads and after Close.
func (p *PartitionConsumer) Err() error {
	select {
	case <-p.done:
	default:
		return nil
	}
	if p.closing.Load() {
		return nil
	}
	if p.lastErr == nil {
		return errors.New("kafka: partition consumer stopped")
	}
	return p.lastErr
}

// Close stops reading and waits for the handler to return. Errors sarama
// reported while the consumer ran went to onError, not to Close. It is
// idempotent.
func (p *PartitionConsumer) Close() error {
	var err error
	p.once.Do(func() {
		p.closing.Store(true)
		p.cancel()
		// Not pc.Close: it would take from the error channel what
		// readErrors must see, and return it as an error of the close.
		p.pc.AsyncClose()
		<-p.done
		err = p.consumer.Close()
	})
	if err != nil {
		return fmt.Errorf("kafka: close partition consumer: %w", err)
	}
	return nil
}
