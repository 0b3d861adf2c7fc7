package client

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"slices"
	"sync"
	"time"

	"github.com/IBM/sarama"
)

// GroupHandler handles one message of a consumer group. ctx is done when
// the group session ends (rebalance or Close). The offset of the message is
// committed only when GroupHandler returns true, so returning false leaves
// the message to be read again by the next owner of the partition.
type GroupHandler func(ctx context.Context, msg *ConsumerMessage) (commit bool)

// GroupConsumer reads topics as a member of a consumer group. Partitions are
// shared among the members of the group; each handler call for a partition
// happens in order, and different partitions are handled concurrently.
// Offsets are committed after the handler returns: a member that restarts
// resumes after the last message its handler completed.
//
// The topics can change at any time with SetTopics; the member then rejoins
// the group. A GroupConsumer is safe for concurrent use.
type GroupConsumer struct {
	group   sarama.ConsumerGroup
	handler GroupHandler
	onError func(error)

	ctx    context.Context // the lifecycle of the consumer; Close cancels it
	cancel context.CancelFunc
	wg     sync.WaitGroup

	mu            sync.Mutex // guards the fields below
	topics        []string
	cancelSession context.CancelFunc // ends the running Consume call
	claims        map[string][]int32
	changed       chan struct{} // cap 1: the topics changed
	closeOnce     sync.Once
}

// Backoff of the retries of a failed join: doubled per failure up to the
// maximum, so an unreachable broker costs little CPU.
const (
	groupRetryMin = 100 * time.Millisecond
	groupRetryMax = 5 * time.Second
)

// NewGroupConsumer joins group groupID on c as soon as it has topics. onError
// receives the errors of the group (nil ignores them). The client stays open
// when the consumer closes, but it must not be shared with another group.
func NewGroupConsumer(c sarama.Client, groupID string, h GroupHandler, onError func(error)) (*GroupConsumer, error) {
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
	gc := &GroupConsumer{group: g, handler: h, onError: onError, changed: make(chan struct{}, 1)}
	gc.ctx, gc.cancel = context.WithCancel(context.Background())
	gc.wg.Add(2)
	go gc.run()
	go gc.readErrors()
	return gc, nil
}

// SetTopics replaces the topics the member reads. An empty list leaves the
// group until topics are set again.
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
	retry := groupRetryMin
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
			retry = groupRetryMin
			continue
		}
		if errors.Is(err, sarama.ErrClosedConsumerGroup) {
			return
		}
		g.onError(fmt.Errorf("kafka: consume %v: %w", topics, err))
		select {
		case <-time.After(retry):
		case <-g.changed:
		case <-g.ctx.Done():
			return
		}
		retry = min(2*retry, groupRetryMax)
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

func (h sessionHandler) Setup(s sarama.ConsumerGroupSession) error {
	h.g.mu.Lock()
	h.g.claims = s.Claims()
	h.g.mu.Unlock()
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
	for {
		select {
		case m, ok := <-claim.Messages():
			if !ok {
				return nil
			}
			if h.g.handler(ctx, (*ConsumerMessage)(m)) {
				s.MarkMessage(m, "")
			}
		case <-ctx.Done():
			return nil
		}
	}
}
