package client

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"

	"github.com/IBM/sarama"
)

// Errors returned by the producers and consumers of this package.
var (
	// ErrClosed is returned by Send after Close started.
	ErrClosed = errors.New("kafka: closed")
)

// ProducerOption customizes a Producer or a SyncProducer.
type ProducerOption func(*producerOptions)

type producerOptions struct {
	onRenew func(error)
}

// WithRenewFunc sets a function told of every renewal of the sarama
// producer (see Renewal in the documentation of Producer): with nil when
// the new producer took over, with the error when it could not be made. It
// runs on a goroutine of the producer and must not close it.
func WithRenewFunc(f func(err error)) ProducerOption {
	return func(o *producerOptions) { o.onRenew = f }
}

func applyProducerOptions(opts []ProducerOption) producerOptions {
	var o producerOptions
	for _, opt := range opts {
		opt(&o)
	}
	return o
}

// Producer publishes messages, waiting for each (SendSync) or reporting
// through callbacks (SendAsync). It runs a sarama AsyncProducer and reads
// its successes and errors itself, so nothing deadlocks when the user does
// not read anything; callbacks run on those reading goroutines.
//
// SendSync suits a producer that mostly sends asynchronously; a producer
// that only waits for each message is a [SyncProducer], which is faster.
//
// # Renewal
//
// sarama's producer stops looking a partition up for 10 s once three
// lookups failed within 10 s, as a broker outage of a few seconds makes
// them fail: every message to the partition then fails at once with
// "circuit breaker is open", also after the brokers are back. When messages
// fail so, the producer checks with a metadata request, about once a
// second, whether the brokers answer about the topic, and once they do it
// replaces its sarama producer by a new one, whose breakers are closed.
// Publishing so resumes within about 2 s of the brokers' return, where
// sarama alone takes up to 10 s. Messages the old producer still holds
// complete as usual (their callbacks run); a message in flight then may be
// stored after one sent later through the new producer. An idempotent
// producer gets a new producer id.
//
// A Producer is safe for concurrent use.
type Producer struct {
	client  sarama.Client
	renewer *renewer
	cur     atomic.Pointer[asyncGeneration] // the sarama producer that takes new messages

	// mu is held shared by every send while it may write to input, and
	// exclusively by Close before it closes the input and by a renewal
	// before it replaces it: no send can then hit a closed channel. closed
	// is set first, so that sends arriving later fail at once, and closing
	// is closed with it, so that sends blocked by backpressure leave: Close
	// never waits for the brokers to take them.
	mu      sync.RWMutex
	input   chan<- *sarama.ProducerMessage // guarded by mu
	closed  atomic.Bool
	closing chan struct{}
	once    sync.Once
	drained sync.WaitGroup // the result readers of every sarama producer
}

// asyncGeneration is one sarama producer of a Producer; a renewal replaces
// it by the next.
type asyncGeneration struct {
	ap sarama.AsyncProducer
}

// NewProducer starts a producer on c. The client must have been configured
// by Config.Sarama (successes and errors returned); it stays open when the
// producer closes.
func NewProducer(c sarama.Client, opts ...ProducerOption) (*Producer, error) {
	o := applyProducerOptions(opts)
	ap, err := sarama.NewAsyncProducerFromClient(c)
	if err != nil {
		return nil, fmt.Errorf("kafka: new producer: %w", err)
	}
	p := &Producer{client: c, input: ap.Input(), closing: make(chan struct{})}
	p.renewer = newRenewer(c, p.renew, o.onRenew) // before the readers, which tell it of failures
	p.cur.Store(p.read(ap))
	return p, nil
}

// read starts reading the results of ap. The caller holds mu, or owns p
// alone, so that the count of drained never rises during Close's wait.
func (p *Producer) read(ap sarama.AsyncProducer) *asyncGeneration {
	g := &asyncGeneration{ap: ap}
	p.drained.Add(2)
	go p.readSuccesses(g)
	go p.readErrors(g)
	return g
}

func (p *Producer) readSuccesses(g *asyncGeneration) {
	defer p.drained.Done()
	for sm := range g.ap.Successes() {
		m := sm.Metadata.(*ProducerMessage)
		m.Partition, m.Offset, m.Timestamp = sm.Partition, sm.Offset, sm.Timestamp
		m.complete(nil)
	}
}

func (p *Producer) readErrors(g *asyncGeneration) {
	defer p.drained.Done()
	for pe := range g.ap.Errors() {
		m := pe.Msg.Metadata.(*ProducerMessage)
		if p.cur.Load() == g { // an old producer's failures are no reason to renew
			p.renewer.failed(m.Topic, pe.Err)
		}
		m.complete(fmt.Errorf("kafka: publish to topic %q: %w", m.Topic, pe.Err))
	}
}

// renew replaces the sarama producer (see Renewal).
func (p *Producer) renew() error {
	// Outside the lock: an idempotent producer asks the brokers for an id.
	ap, err := sarama.NewAsyncProducerFromClient(p.client)
	if err != nil {
		return fmt.Errorf("kafka: renew producer: %w", err)
	}
	p.mu.Lock()
	if p.closed.Load() {
		p.mu.Unlock()
		_ = ap.Close() // reads its own results: it has none
		return ErrClosed
	}
	old := p.cur.Load()
	p.cur.Store(p.read(ap))
	p.input = ap.Input()
	p.mu.Unlock()
	// Its messages complete as usual; its readers end after the last.
	old.ap.AsyncClose()
	return nil
}

// Renewals returns how many times the producer replaced its sarama
// producer (see Renewal).
func (p *Producer) Renewals() int64 { return p.renewer.count.Load() }

func (m *ProducerMessage) complete(err error) {
	switch {
	case m.done != nil:
		m.done <- err // buffered: a sender that gave up does not block us
	case err == nil && m.onSuccess != nil:
		m.onSuccess(m)
	case err != nil && m.onError != nil:
		m.onError(m, err)
	}
}

// SendSync publishes m and waits until the brokers stored it (as
// Config.RequiredAcks says) or refused it. When ctx has ended, SendSync
// returns an error wrapping ctx.Err() without sending; when it ends while
// SendSync waits, SendSync returns such an error and the message may still
// be stored.
func (p *Producer) SendSync(ctx context.Context, m *ProducerMessage) error {
	m.done = make(chan error, 1)
	m.onSuccess, m.onError = nil, nil
	if err := p.enqueue(ctx, m); err != nil {
		return err
	}
	select {
	case err := <-m.done:
		return err
	case <-ctx.Done():
		return fmt.Errorf("kafka: publish to topic %q: %w", m.Topic, ctx.Err())
	}
}

// SendAsync queues m and returns. Exactly one of onSuccess and onError is
// called later with m, also when the producer closes with m in flight;
// either may be nil. Callbacks should return quickly: the next results wait
// for them. When ctx has ended, SendAsync returns an error wrapping
// ctx.Err() and queues nothing. It blocks while the queue is full
// (backpressure) until ctx ends, and then returns such an error without
// calling a callback.
func (p *Producer) SendAsync(ctx context.Context, m *ProducerMessage, onSuccess func(*ProducerMessage), onError func(*ProducerMessage, error)) error {
	m.done = nil
	m.onSuccess, m.onError = onSuccess, onError
	return p.enqueue(ctx, m)
}

// enqueue hands m to sarama. When sarama's dispatcher is waiting for a
// message, as it is unless messages come faster than it forwards them, that
// is one channel send, as with sarama alone; only a send that has to wait
// selects on ctx and Close too. The read lock is what keeps every send off
// the channel sarama closes: two uncontended atomic adds.
func (p *Producer) enqueue(ctx context.Context, m *ProducerMessage) error {
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("kafka: publish to topic %q: %w", m.Topic, err)
	}
	p.mu.RLock()
	defer p.mu.RUnlock()
	if p.closed.Load() {
		return fmt.Errorf("kafka: publish to topic %q: %w", m.Topic, ErrClosed)
	}
	sm := m.toSarama()
	select {
	case p.input <- sm:
		return nil
	default:
	}
	select {
	case p.input <- sm:
		return nil
	case <-ctx.Done():
		return fmt.Errorf("kafka: publish to topic %q: %w", m.Topic, ctx.Err())
	case <-p.closing:
		return fmt.Errorf("kafka: publish to topic %q: %w", m.Topic, ErrClosed)
	}
}

// Close stops accepting messages, waits until every queued message is
// acknowledged or failed (its callback or SendSync then returns), and
// releases the producer. It is idempotent.
func (p *Producer) Close() error {
	p.once.Do(func() {
		p.closed.Store(true)
		close(p.closing)
		p.mu.Lock()
		p.cur.Load().ap.AsyncClose()
		p.mu.Unlock()
		// A renewal in progress sees closed and closes what it made.
		p.renewer.stop()
		// Results keep flowing until sarama has flushed; both channels
		// close after the last one.
		p.drained.Wait()
	})
	return nil
}

// SyncProducer publishes messages and waits for each. It runs a sarama
// SyncProducer, so a send costs what it costs with sarama alone: no
// goroutine of this package lies between the caller and the result.
// Concurrent sends are batched together. Like a [Producer], it replaces its
// sarama producer when sarama's circuit breaker keeps failing messages
// after the brokers are back (see Renewal there); sends wait meanwhile
// until the sends in flight have their results.
//
// A SyncProducer is safe for concurrent use.
type SyncProducer struct {
	client  sarama.Client
	renewer *renewer

	// mu is held shared by every send until its result is known, and
	// exclusively by Close before it closes sp and by a renewal before it
	// replaces sp: sarama panics on a send to a closed producer, and Close
	// must not return before every send in flight has its result. closing
	// lets new sends fail at once meanwhile.
	mu      sync.RWMutex
	sp      sarama.SyncProducer // guarded by mu
	closing chan struct{}
	once    sync.Once
}

// NewSyncProducer starts a synchronous producer on c. The client must have
// been configured by Config.Sarama (successes and errors returned); it
// stays open when the producer closes.
func NewSyncProducer(c sarama.Client, opts ...ProducerOption) (*SyncProducer, error) {
	o := applyProducerOptions(opts)
	sp, err := sarama.NewSyncProducerFromClient(c)
	if err != nil {
		return nil, fmt.Errorf("kafka: new sync producer: %w", err)
	}
	p := &SyncProducer{client: c, sp: sp, closing: make(chan struct{})}
	p.renewer = newRenewer(c, p.renew, o.onRenew)
	return p, nil
}

// renew replaces the sarama producer (see Renewal in Producer).
func (p *SyncProducer) renew() error {
	sp, err := sarama.NewSyncProducerFromClient(p.client)
	if err != nil {
		return fmt.Errorf("kafka: renew sync producer: %w", err)
	}
	p.mu.Lock() // once every send in flight has its result
	if p.isClosing() {
		p.mu.Unlock()
		_ = sp.Close()
		return ErrClosed
	}
	old := p.sp
	p.sp = sp
	p.mu.Unlock()
	_ = old.Close() // nothing in flight: returns at once
	return nil
}

// Renewals returns how many times the producer replaced its sarama
// producer.
func (p *SyncProducer) Renewals() int64 { return p.renewer.count.Load() }

// Send publishes m and waits until the brokers stored it (as
// Config.RequiredAcks says) or refused it, and then sets m.Partition,
// m.Offset and m.Timestamp. When ctx has ended, Send returns an error
// wrapping ctx.Err() without sending. Once sent, a message cannot be
// called back: Send waits for its result even if ctx ends meanwhile, which
// sarama bounds by its retries (3) and network timeouts (Config.DialTimeout
// to connect, 30s to write and to read).
func (p *SyncProducer) Send(ctx context.Context, m *ProducerMessage) error {
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("kafka: publish to topic %q: %w", m.Topic, err)
	}
	// Checked before taking mu too: while Close waits for the sends in
	// flight, a new send fails at once instead of queueing behind them.
	if p.isClosing() {
		return fmt.Errorf("kafka: publish to topic %q: %w", m.Topic, ErrClosed)
	}
	p.mu.RLock()
	defer p.mu.RUnlock()
	if p.isClosing() {
		return fmt.Errorf("kafka: publish to topic %q: %w", m.Topic, ErrClosed)
	}
	sm := newSyncMessage(m)
	if _, _, err := p.sp.SendMessage(sm); err != nil {
		p.renewer.failed(m.Topic, err)
		return fmt.Errorf("kafka: publish to topic %q: %w", m.Topic, err)
	}
	m.Partition, m.Offset, m.Timestamp = sm.Partition, sm.Offset, sm.Timestamp
	return nil
}

func (p *SyncProducer) isClosing() bool {
	select {
	case <-p.closing:
		return true
	default:
		return false
	}
}

// Close stops accepting messages, waits until every send in flight has its
// result, and releases the producer. It is idempotent.
func (p *SyncProducer) Close() error {
	var err error
	p.once.Do(func() {
		close(p.closing)
		// First: a renewal waiting for the lock then sees closing.
		p.renewer.stop()
		p.mu.Lock()
		defer p.mu.Unlock()
		if err = p.sp.Close(); err != nil {
			err = fmt.Errorf("kafka: close sync producer: %w", err)
		}
	})
	return err
}
