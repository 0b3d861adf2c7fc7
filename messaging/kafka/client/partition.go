package client

import (
	"context"
	"errors"
	"fmt"
	"sync"

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
type PartitionConsumer struct {
	consumer sarama.Consumer
	pc       sarama.PartitionConsumer
	handler  PartitionHandler

	ctx    context.Context // lifecycle of the consumer; Close cancels it
	cancel context.CancelFunc
	done   chan struct{} // closed when the reading goroutine returns
	once   sync.Once
}

// NewPartitionConsumer starts reading partition of topic at offset (a real
// offset, Oldest or Newest) on c and calls h for every message. An offset
// outside the stored range is an error. The client stays open when the
// consumer closes.
func NewPartitionConsumer(c sarama.Client, topic string, partition int32, offset int64, h PartitionHandler) (*PartitionConsumer, error) {
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
	p := &PartitionConsumer{consumer: consumer, pc: pc, handler: h, done: make(chan struct{})}
	p.ctx, p.cancel = context.WithCancel(context.Background())
	go p.run()
	return p, nil
}

func (p *PartitionConsumer) run() {
	defer close(p.done)
	for {
		select {
		case m, ok := <-p.pc.Messages():
			if !ok {
				return
			}
			p.handler(p.ctx, (*ConsumerMessage)(m))
		case <-p.ctx.Done():
			return
		}
	}
}

// Close stops reading and waits for the handler to return. It is
// idempotent.
func (p *PartitionConsumer) Close() error {
	var err error
	p.once.Do(func() {
		p.cancel()
		<-p.done
		err = errors.Join(p.pc.Close(), p.consumer.Close())
	})
	if err != nil {
		return fmt.Errorf("kafka: close partition consumer: %w", err)
	}
	return nil
}
