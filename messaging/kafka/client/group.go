package client

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/IBM/sarama"

	"github.com/plinth-go/plinth/internal/backoff"
)

// GroupHandler handles one message of a consumer group. ctx is done when
// the group session ends (rebalance or Close). The offset of the message is
// committed only when GroupHandler returns true, so returning false leaves
// the message to be read again by the next owner of the partition.
type GroupHandler func(ctx context.Context, msg *ConsumerMessage) (commit bool)

// ClaimHandler returns the GroupHandler of the messages of one partition
// in one session. The consumer calls it once per claimed partition when the
// session starts reading it, on the goroutine that then calls the returned
// handler for each message of the partition; so a handler that routes
// messages by topic looks its route up once per claim, not per message.
// It must not return nil.
type ClaimHandler func(topic string, partition int32) GroupHandler

// EveryClaim returns a ClaimHandler that hands every message to h.
func EveryClaim(h GroupHandler) ClaimHandler {
	return func(string, int32) GroupHandler { return h }
}

// GroupConsumer reads topics as a member of a consumer group. Partitions are
// shared among the members of the group; each handler call for a partition
// happens in order, and different partitions are handled concurrently.
//
// # Delivery
//
// The offset of a message is marked once its handler returned true, and the
// marks are committed every second (sarama's auto-commit, which Config.Sarama
// leaves on) and when the session ends. A member that restarts resumes at
// the last committed offset, so delivery is at least once across restarts.
//
// Within the life of one GroupConsumer, delivery is exactly once per
// partition it keeps reading: the consumer remembers, per partition, the
// offset after the last message its handler asked to commit. When a session
// ends (a broker died, the connection broke, the topics changed) and the
// commit of the last marks failed, the next session would resume from an
// older committed offset and hand the same messages again. Instead, when the
// member gets the partition back it resumes at the remembered offset, and
// commits it, provided the brokers still hold that offset (the log end is at
// or after it). Messages are therefore handed twice only when
//
//   - the process restarts (or the GroupConsumer is made again): it resumes
//     at the last committed offset, up to a second behind what the handler
//     completed after a crash, more if the brokers were unreachable then;
//   - a partition moves to another member, which resumes at the last
//     committed offset;
//   - the end offset of the partition cannot be read when the member rejoins,
//     or lies before the remembered offset because the brokers lost
//     messages: the member then resumes at the committed offset too;
//   - SetTopics dropped the topic, which the consumer then forgets, and set
//     it again;
//   - the brokers stored one message twice (see Config.Idempotent).
//
// An administrator who moves the committed offset of a partition backwards
// while this consumer runs does not make it read the partition again below
// the offset it remembers; remove the topic with SetTopics, or restart the
// consumer, to honour such a reset.
//
// The topics can change at any time with SetTopics; the member then rejoins
// the group. A GroupConsumer is safe for concurrent use.
type GroupConsumer struct {
	client  sarama.Client
	group   sarama.ConsumerGroup
	handler ClaimHandler
	onError func(error)

	ctx    context.Context // the lifecycle of the consumer; Close cancels it
	cancel context.CancelFunc
	wg     sync.WaitGroup

	mu            sync.Mutex // guards the fields below
	topics        []string
	cancelSession context.CancelFunc // ends the running Consume call
	claims        map[string][]int32
	resume        map[topicPartition]*resumePoint // kept across sessions; see Delivery
	changed       chan struct{}                   // cap 1: the topics changed
	closeOnce     sync.Once
}

type topicPartition struct {
	topic     string
	partition int32
}

// resumePoint holds the offset after the last message of a partition whose
// handler asked to commit, in this process; 0 when none. Written by the
// claim of one session, read by the Setup of the next: sarama finishes the
// claims before the next Setup, and the atomic keeps that safe without
// relying on how it does.
type resumePoint struct{ next atomic.Int64 }

// Backoff of the retries of a failed join: doubled per failure up to the
// maximum, so an unreachable broker costs little CPU.
const (
	groupRetryMin = 100 * time.Millisecond
	groupRetryMax = 5 * time.Second
)

// NewGroupConsumer joins group groupID on c as soon as it has topics, and
// hands the messages of each claimed partition to the handler h returns for
// it (EveryClaim makes one handler serve all). onError receives the errors
// of the group (nil ignores them). The client stays open when the consumer
// closes, but it must not be shared with another group.
func NewGroupConsumer(c sarama.Client, groupID string, h ClaimHandler, onError func(error)) (*GroupConsumer, error) {
	if h == nil {
		panic("kafka: NewGroupConsumer with a nil handler")
	}
	if groupID == "" {
		return nil, errors.New("kafka: consumer group id is empty")
	}
	g, err := sarama.NewConsumerGroupFromClient(groupID, c)
	if err != nil {
		return nil, fmt.Errorf("kafka: consumer group %q: %w", groupID, err)
	}
	if onError == nil {
		onError = func(error) {}
	}
	gc := &GroupConsumer{client: c, group: g, handler: h, onError: onError,
		resume: map[topicPartition]*resumePoint{}, changed: make(chan struct{}, 1)}
	gc.ctx, gc.cancel = context.WithCancel(context.Background())
	gc.wg.Add(2)
	go gc.run()
	go gc.readErrors()
	return gc, nil
}

// SetTopics replaces the topics the member reads. An empty list leaves the
// group until topics are set again. The consumer forgets where it stopped in
// the topics it no longer reads: read again later, they resume at the
// committed offset.
func (g *GroupConsumer) SetTopics(topics []string) {
	topics = slices.Clone(topics)
	slices.Sort(topics)
	topics = slices.Compact(topics)
	g.mu.Lock()
	defer g.mu.Unlock()
	if slices.Equal(topics, g.topics) {
		return
	}
	g.topics = topics
	for tp := range g.resume {
		if !slices.Contains(topics, tp.topic) {
			delete(g.resume, tp)
		}
	}
	if g.cancelSession != nil {
		g.cancelSession()
	}
	select {
	case g.changed <- struct{}{}:
	default:
	}
}

// Claims returns the partitions this member reads, by topic, in the current
// session; nil between sessions.
func (g *GroupConsumer) Claims() map[string][]int32 {
	g.mu.Lock()
	defer g.mu.Unlock()
	return maps.Clone(g.claims)
}

func (g *GroupConsumer) run() {
	defer g.wg.Done()
	retry := backoff.Backoff{Min: groupRetryMin, Max: groupRetryMax}
	for {
		g.mu.Lock()
		topics := g.topics
		ctx, cancel := context.WithCancel(g.ctx)
		g.cancelSession = cancel
		g.mu.Unlock()

		var err error
		if len(topics) > 0 {
			err = g.group.Consume(ctx, topics, sessionHandler{g})
		} else {
			<-ctx.Done() // no topics: wait for some or for Close
		}
		cancel()
		if g.ctx.Err() != nil {
			return
		}
		if err == nil {
			retry.Reset()
			continue
		}
		if errors.Is(err, sarama.ErrClosedConsumerGroup) {
			return
		}
		g.onError(fmt.Errorf("kafka: consume %v: %w", topics, err))
		select {
		case <-time.After(retry.Next()):
		case <-g.changed:
		case <-g.ctx.Done():
			return
		}
	}
}

func (g *GroupConsumer) readErrors() {
	defer g.wg.Done()
	for err := range g.group.Errors() {
		g.onError(fmt.Errorf("kafka: consumer group: %w", err))
	}
}

// Close leaves the group, commits the offsets of the handled messages and
// waits for the handlers to return. It does not interrupt a handler: make
// handlers return when their ctx is done. It is idempotent.
func (g *GroupConsumer) Close() error {
	var err error
	g.closeOnce.Do(func() {
		g.cancel()
		err = g.group.Close()
		g.wg.Wait()
	})
	if err != nil {
		return fmt.Errorf("kafka: close consumer group: %w", err)
	}
	return nil
}

type sessionHandler struct{ g *GroupConsumer }

// Setup resumes each claimed partition where this process stopped reading
// it, when that is after the committed offset: sarama starts each claim at
// the offset marked in its session, and a mark never moves backwards, so a
// partition whose commit went through (here or by another member) is not
// affected. It relies on the eager rebalance protocol (the default), which
// calls Setup with every claim of the session.
func (h sessionHandler) Setup(s sarama.ConsumerGroupSession) error {
	g := h.g
	claims := s.Claims()
	type pending struct {
		tp    topicPartition
		point *resumePoint
	}
	var resume []pending
	g.mu.Lock()
	g.claims = claims
	for topic, partitions := range claims {
		for _, p := range partitions {
			tp := topicPartition{topic, p}
			point := g.resume[tp]
			if point == nil {
				point = &resumePoint{}
				g.resume[tp] = point
			}
			if point.next.Load() > 0 {
				resume = append(resume, pending{tp, point})
			}
		}
	}
	g.mu.Unlock()
	// Outside the lock: the end offsets come from the brokers.
	for _, r := range resume {
		next := r.point.next.Load()
		end, err := g.client.GetOffset(r.tp.topic, r.tp.partition, sarama.OffsetNewest)
		switch {
		case err != nil:
			g.onError(fmt.Errorf("kafka: consumer group: partition %d of topic %q: read the end offset to resume at %d: %w (resuming at the committed offset)",
				r.tp.partition, r.tp.topic, next, err))
		case end < next:
			// The brokers lost messages this process handled: the offsets
			// after end will hold new messages, which must not be skipped.
			g.onError(fmt.Errorf("kafka: consumer group: partition %d of topic %q ends at offset %d, before %d where this member stopped: the brokers lost messages; resuming at the committed offset",
				r.tp.partition, r.tp.topic, end, next))
			r.point.next.Store(0)
		default:
			s.MarkOffset(r.tp.topic, r.tp.partition, next, "")
		}
	}
	return nil
}

func (h sessionHandler) Cleanup(sarama.ConsumerGroupSession) error {
	h.g.mu.Lock()
	h.g.claims = nil
	h.g.mu.Unlock()
	return nil
}

// ConsumeClaim returns as soon as the session ends, even while messages are
// pending, so that a rebalance is never held up by a full channel.
func (h sessionHandler) ConsumeClaim(s sarama.ConsumerGroupSession, claim sarama.ConsumerGroupClaim) error {
	ctx := s.Context()
	h.g.mu.Lock()
	point := h.g.resume[topicPartition{claim.Topic(), claim.Partition()}]
	h.g.mu.Unlock()
	if point == nil { // forgotten by SetTopics: this session is ending
		point = &resumePoint{}
	}
	handle := h.g.handler(claim.Topic(), claim.Partition())
	for {
		select {
		case m, ok := <-claim.Messages():
			if !ok {
				return nil
			}
			if handle(ctx, (*ConsumerMessage)(m)) {
				s.MarkMessage(m, "")
				point.next.Store(m.Offset + 1)
			}
		case <-ctx.Done():
			return nil
		}
	}
}
