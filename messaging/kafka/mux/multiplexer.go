package mux

import (
	"context"
	"errors"
	"fmt"
	"io"
	"maps"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/IBM/sarama"

	"github.com/plinth-go/plinth/internal/backoff"
	"github.com/plinth-go/plinth/logging"
	"github.com/plinth-go/plinth/messaging/kafka/client"
)

// Errors of the multiplexer, to compare with errors.Is.
var (
	// ErrNotConnected is wrapped by the errors of publishers while the
	// multiplexer has not reached the brokers yet; the error also wraps the
	// cause of the last failed attempt.
	ErrNotConnected = errors.New("kafka: not connected to the brokers")
	// ErrClosed is wrapped by the errors of publishers and watchers once the
	// multiplexer is closed.
	ErrClosed = client.ErrClosed
	// ErrDisabled is wrapped by the errors of publishers and watchers of a
	// multiplexer made by Disabled.
	ErrDisabled = errors.New("kafka: disabled")
)

// DefaultGroupID is the consumer group of a Config without group_id.
const DefaultGroupID = "plinth"

// Multiplexer shares one connection to the Kafka brokers among many
// publishers and subscribers: one sarama client, one producer for
// synchronous publishers, one for asynchronous ones, and one member of the
// consumer group Config.GroupID for every topic watched by topic. Plugins
// get named connections from it (NewBytesConnection, NewProtoConnection).
//
// A Multiplexer connects in the background after Start and keeps trying
// until the brokers answer; meanwhile publishers return an error wrapping
// ErrNotConnected, and subscriptions wait. Once connected, the sarama client
// reconnects by itself and a health check reports the state of the brokers.
//
// Every subscriber of a topic gets every message of the topic; subscriptions
// can be added and removed at any time. A Multiplexer is safe for concurrent
// use.
type Multiplexer struct {
	cfg      Config
	groupID  string
	log      logging.Logger
	onState  func(error)
	disabled error // non-nil: made by Disabled

	ctx        context.Context // lifecycle; Close cancels it
	cancel     context.CancelFunc
	wg         sync.WaitGroup // the connect loop
	partitions sync.WaitGroup // the owners of partition subscriptions (runPartition)
	started    atomic.Bool
	ready      chan struct{} // closed on the first connection
	groupLog   *errorLog     // errors of the consumer group member

	conn atomic.Pointer[connection] // nil until connected

	mu             sync.RWMutex // guards the fields below
	closed         bool
	lastErr        error                    // cause of the last failed attempt or health check
	reported       bool                     // the state of the brokers was reported once
	reachableSince time.Time                // when the brokers last became reachable; zero while they are not
	topicSubs      map[string]*watchers     // watched by topic; an entry has at least one subscriber
	partSubs       map[*subscriber]struct{} // watched by partition
	closeErrs      []error                  // of partition consumers closed by Close
	nextSeq        uint64                   // numbers the subscribers, so that the state names one deterministically

	// announceMu serializes the calls of onState, so that they come one at
	// a time and in the order of the changes; it guards announced and
	// announcedKey and is taken before mu.
	announceMu   sync.Mutex
	announced    bool
	announcedKey string // what the last announced state is about: "", "brokers" or a subscription
}

// watchers holds the subscribers of one topic watched through the group.
// The partition goroutines of the group find it once per claim (see claim)
// and then load subs once per message, without a lock or a map lookup;
// subscribe and unsubscribe replace the slice, holding m.mu, and never
// modify one in place.
type watchers struct {
	subs atomic.Pointer[[]*subscriber] // nil once the last one left
}

func (w *watchers) load() []*subscriber {
	if p := w.subs.Load(); p != nil {
		return *p
	}
	return nil
}

// connection is what the multiplexer holds once connected.
type connection struct {
	client sarama.Client
	sync   *client.SyncProducer // a sarama SyncProducer: no hop between Put and its result
	async  *client.Producer
	group  *client.GroupConsumer
}

// Option customizes a Multiplexer in code.
type Option func(*Multiplexer)

// WithLogger sets the logger. If not set, nothing is logged.
func WithLogger(l logging.Logger) Option {
	return func(m *Multiplexer) { m.log = l }
}

// WithStateFunc sets a function called with nil when the multiplexer
// works, and with the cause when it does not: when the brokers stop being
// reachable (and once at the first failed attempt), and while they are
// reachable, when a partition subscription cannot be read (see
// Multiplexer.Err). It is called again when the cause moves to something
// else (from the brokers to a subscription, say), not for every new error
// of the same cause. Calls come one at a time, in the order of the
// changes; f must not call Close.
func WithStateFunc(f func(err error)) Option {
	return func(m *Multiplexer) { m.onState = f }
}

// New returns a multiplexer for cfg. It checks cfg but does not connect:
// Start does, in the background.
func New(cfg Config, opts ...Option) (*Multiplexer, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	m := newMultiplexer(cfg.withDefaults(), opts)
	m.groupID = cmpOr(cfg.GroupID, DefaultGroupID)
	return m, nil
}

// Disabled returns a multiplexer that never connects: its publishers and
// watchers return errors wrapping ErrDisabled and reason. The Kafka plugin
// uses it when no config file exists, so that plugins using Kafka still
// start.
func Disabled(reason string, opts ...Option) *Multiplexer {
	m := newMultiplexer(Config{}.withDefaults(), opts)
	m.disabled = fmt.Errorf("%w: %s", ErrDisabled, reason)
	return m
}

func newMultiplexer(cfg Config, opts []Option) *Multiplexer {
	m := &Multiplexer{
		cfg:       cfg,
		ready:     make(chan struct{}),
		topicSubs: map[string]*watchers{},
		partSubs:  map[*subscriber]struct{}{},
	}
	for _, opt := range opts {
		opt(m)
	}
	if m.log == nil {
		m.log = logging.NewRegistry(logging.WithOutput(io.Discard)).Get("kafka")
	}
	if m.onState == nil {
		m.onState = func(error) {}
	}
	m.groupLog = newErrorLog(m.log, "consumer group")
	m.ctx, m.cancel = context.WithCancel(context.Background())
	return m
}

func cmpOr(s, def string) string {
	if s == "" {
		return def
	}
	return s
}

// Start connects to the brokers in the background and returns at once. It
// does nothing after the first call, after Close, or on a disabled
// multiplexer.
func (m *Multiplexer) Start() {
	if m.disabled != nil || !m.started.CompareAndSwap(false, true) {
		return
	}
	m.mu.RLock()
	defer m.mu.RUnlock()
	if m.closed {
		return
	}
	m.wg.Add(1)
	go m.run()
}

// Ready returns a channel closed when the multiplexer first reached the
// brokers.
func (m *Multiplexer) Ready() <-chan struct{} { return m.ready }

// Err returns nil while the multiplexer works, and otherwise why not: the
// brokers are unreachable, or a partition subscription cannot be read
// although they are (it cannot start, or sarama keeps failing to fetch it;
// see WatchPartition). It serves the result of the last checks and never
// waits.
func (m *Multiplexer) Err() error {
	if m.disabled != nil {
		return m.disabled
	}
	m.mu.RLock()
	defer m.mu.RUnlock()
	switch {
	case m.closed:
		return ErrClosed
	case m.conn.Load() == nil:
		return m.notConnectedLocked()
	default:
		_, err := m.stateLocked()
		return err
	}
}

// stateLocked returns what the state is about and the error of the state:
// the brokers' first, then the failing partition subscription made first.
func (m *Multiplexer) stateLocked() (key string, err error) {
	if m.lastErr != nil {
		return "brokers", m.lastErr
	}
	var failing *subscriber
	for s := range m.partSubs {
		if s.err != nil && (failing == nil || s.seq < failing.seq) {
			failing = s
		}
	}
	if failing == nil {
		return "", nil
	}
	return failing.String(), fmt.Errorf("kafka: watch %s: %w", failing, failing.err)
}

// announce calls onState when the state changed since the last call.
func (m *Multiplexer) announce() {
	m.announceMu.Lock()
	defer m.announceMu.Unlock()
	m.mu.RLock()
	key, err := m.stateLocked()
	reported := m.reported
	m.mu.RUnlock()
	if !reported || (m.announced && key == m.announcedKey) {
		return
	}
	m.announced, m.announcedKey = true, key
	m.onState(err)
}

// GroupID returns the consumer group of the topics watched by topic.
func (m *Multiplexer) GroupID() string { return m.groupID }

// Assignment returns the partitions, by topic, that this member of the
// consumer group reads now; nil while it reads none.
func (m *Multiplexer) Assignment() map[string][]int32 {
	if c := m.conn.Load(); c != nil {
		return c.group.Claims()
	}
	return nil
}

func (m *Multiplexer) notConnectedLocked() error {
	if m.lastErr == nil {
		return fmt.Errorf("%w %s yet", ErrNotConnected, strings.Join(m.cfg.Brokers(), ","))
	}
	return fmt.Errorf("%w: %w", ErrNotConnected, m.lastErr)
}

// run connects, then checks the connection until Close.
func (m *Multiplexer) run() {
	defer m.wg.Done()
	bo := backoff.Backoff{Min: reconnectBackoffMin, Max: m.cfg.ReconnectBackoffMax}
	for {
		c, err := m.connect()
		if err == nil {
			if !m.attach(c) {
				return
			}
			break
		}
		m.report(err)
		wait := bo.Next()
		m.log.Debugf("next attempt in %s", wait)
		if !backoff.Sleep(m.ctx.Done(), wait) {
			return
		}
	}
	m.log.Infof("connected to %s", strings.Join(m.cfg.Brokers(), ","))
	m.report(nil)
	t := time.NewTicker(m.cfg.HealthCheckInterval)
	defer t.Stop()
	for {
		select {
		case <-m.ctx.Done():
			return
		case <-t.C:
		}
		c := m.conn.Load()
		// No topic is named, so the request lists the existing topics
		// and never creates one, whatever the broker's auto-creation.
		err := c.client.RefreshMetadata()
		if m.ctx.Err() != nil {
			return
		}
		m.report(err)
	}
}

// report records the state of the brokers, logs its changes and
// announces those of the state of the multiplexer.
func (m *Multiplexer) report(err error) {
	m.mu.Lock()
	changed := !m.reported || (m.lastErr == nil) != (err == nil)
	m.reported = true
	m.lastErr = err
	if err != nil {
		m.reachableSince = time.Time{}
	} else if changed {
		m.reachableSince = time.Now()
	}
	m.mu.Unlock()
	if changed {
		if err != nil {
			m.log.Errorf("brokers unreachable: %v", err)
		} else {
			m.log.Infof("brokers reachable")
		}
	}
	m.announce()
}

// connect opens the client and everything that shares it.
func (m *Multiplexer) connect() (*connection, error) {
	cl, err := client.Connect(m.cfg.Config)
	if err != nil {
		return nil, err
	}
	c := &connection{client: cl}
	if c.sync, err = client.NewSyncProducer(cl, client.WithRenewFunc(m.renewed("sync publishers"))); err == nil {
		if c.async, err = client.NewProducer(cl, client.WithRenewFunc(m.renewed("async publishers"))); err == nil {
			c.group, err = client.NewGroupConsumer(cl, m.groupID, m.claim, m.groupLog.add)
		}
	}
	if err != nil {
		c.close()
		return nil, err
	}
	return c, nil
}

// renewed returns the function that logs the renewals of the producer of
// what (see client.Producer).
func (m *Multiplexer) renewed(what string) func(error) {
	return func(err error) {
		if err != nil {
			m.log.Warnf("%s: sarama's circuit breaker fails messages although the brokers answer, and a new producer could not be made: %v", what, err)
			return
		}
		m.log.Infof("%s: sarama's circuit breaker failed messages although the brokers answer: publishing through a new producer", what)
	}
}

// close releases c in order: consumers, producers, client.
func (c *connection) close() error {
	var errs []error
	if c.group != nil {
		errs = append(errs, c.group.Close())
	}
	if c.async != nil {
		errs = append(errs, c.async.Close())
	}
	if c.sync != nil {
		errs = append(errs, c.sync.Close())
	}
	if err := c.client.Close(); err != nil && !errors.Is(err, sarama.ErrClosedClient) {
		errs = append(errs, err)
	}
	return errors.Join(errs...)
}

// attach makes c the connection of the multiplexer and starts the
// subscriptions made before; it returns false (and closes c) after Close.
func (m *Multiplexer) attach(c *connection) bool {
	m.mu.Lock()
	if m.closed {
		m.mu.Unlock()
		_ = c.close()
		return false
	}
	m.conn.Store(c)
	close(m.ready)
	c.group.SetTopics(m.topicsLocked())
	// Each partition subscription starts on a goroutine of its own, which
	// retries until it starts: one that cannot start (its topic does not
	// exist yet, its offset is not there yet) must neither hold the others
	// up nor be given up.
	m.partitions.Add(len(m.partSubs))
	for s := range m.partSubs {
		go m.runPartition(c, s, nil)
	}
	m.mu.Unlock()
	return true
}

func (m *Multiplexer) topicsLocked() []string {
	return slices.Collect(maps.Keys(m.topicSubs))
}

// claim returns the handler of a partition of topic that the group member
// claimed. It looks the subscribers of the topic up once per claim instead
// of once per message; the handler still sees each subscriber come and go,
// through watchers.subs. Once the last subscriber of the topic has left,
// the session ends soon (SetTopics dropped the topic); until it does, the
// messages of the partition reach no subscriber and are not committed.
func (m *Multiplexer) claim(topic string, _ int32) client.GroupHandler {
	m.mu.RLock()
	w := m.topicSubs[topic]
	m.mu.RUnlock()
	if w == nil {
		return func(context.Context, *client.ConsumerMessage) bool { return false }
	}
	return func(_ context.Context, msg *client.ConsumerMessage) bool { return m.dispatch(w.load(), msg) }
}

// dispatch hands a message of the consumer group to subs, one after the
// other. It asks to commit the offset only when a subscriber handled the
// message and the multiplexer is not closing, so that a message
// interrupted by Close is read again after a restart.
func (m *Multiplexer) dispatch(subs []*subscriber, msg *client.ConsumerMessage) bool {
	handled := false
	for _, s := range subs {
		if s.ctx.Err() == nil {
			s.handle(s.ctx, msg)
			handled = true
		}
	}
	return handled && m.ctx.Err() == nil
}

// Close stops the subscriptions, then the consumers, then the producers
// (waiting until every queued message is acknowledged or failed), then the
// client, and waits for every goroutine of the multiplexer. It is
// idempotent.
func (m *Multiplexer) Close() error {
	m.mu.Lock()
	if m.closed {
		m.mu.Unlock()
		return nil
	}
	m.closed = true
	m.cancel()
	var subs []*subscriber
	for _, w := range m.topicSubs {
		subs = append(subs, w.load()...)
	}
	for s := range m.partSubs {
		subs = append(subs, s)
	}
	m.mu.Unlock()

	// Handlers waiting on their context return now, so that no consumer
	// waits for them below. The owner of each partition subscription then
	// closes its consumer, before the client closes.
	for _, s := range subs {
		s.cancel()
	}
	m.partitions.Wait()
	m.mu.Lock()
	errs := m.closeErrs
	m.closeErrs = nil
	m.mu.Unlock()
	if c := m.conn.Load(); c != nil {
		errs = append(errs, c.close())
	}
	m.wg.Wait()
	return errors.Join(errs...)
}

// subscribe registers s; it returns an error after Close.
func (m *Multiplexer) subscribe(s *subscriber) error {
	if m.disabled != nil {
		return m.disabled
	}
	m.mu.Lock()
	if m.closed {
		m.mu.Unlock()
		return ErrClosed
	}
	m.nextSeq++
	s.seq = m.nextSeq
	c := m.conn.Load()
	if !s.manual {
		changed := false
		for _, t := range s.topics {
			w := m.topicSubs[t]
			if w == nil {
				w = &watchers{}
				m.topicSubs[t] = w
				changed = true
			}
			subs := append(slices.Clip(w.load()), s)
			w.subs.Store(&subs)
		}
		if changed && c != nil {
			c.group.SetTopics(m.topicsLocked())
		}
		m.mu.Unlock()
		return nil
	}
	m.partSubs[s] = struct{}{}
	if c == nil {
		m.mu.Unlock()
		return nil // started by attach
	}
	// Counted before the lock is released, so that a Close meanwhile waits
	// for this start and for the consumer it opens.
	m.partitions.Add(1)
	m.mu.Unlock()
	// Connected: the caller learns at once why the partition cannot be
	// read, without a retry.
	pc, err := m.startPartition(c, s, s.offset)
	if err != nil {
		m.partitions.Done()
		m.unsubscribe(s)
		return err
	}
	go m.runPartition(c, s, pc)
	return nil
}

// Bounds of partition subscriptions.
const (
	// partitionErrorGrace is how long sarama may keep reporting errors for
	// a partition while the brokers are reachable before the subscription
	// counts as failing (see Err), and how long without an error it then
	// takes to count as working again. Once the brokers are back from an
	// outage, sarama retries a partition within its 2 s retry backoff, so
	// the errors of the outage end well within it.
	partitionErrorGrace = 10 * time.Second
)

// runPartition owns the partition consumer of s from the connection c on,
// until s ends (Unsubscribe or Close), and then closes it. It starts the
// consumer when pc is nil, retrying with a backoff from 100ms up to
// ReconnectBackoffMax until it starts; restarts it after the last message
// handled when sarama gives the partition up; logs the errors sarama
// reports for the partition with a backoff; and keeps s.err, the state of
// the subscription (see Err), up to date.
func (m *Multiplexer) runPartition(c *connection, s *subscriber, pc *client.PartitionConsumer) {
	defer m.partitions.Done()
	defer s.errLog.flush()
	offset := s.offset // where the next start reads from
	restarting := pc != nil
	clamped := false // offset was just moved into the stored range
	started := time.Now()
	bo := backoff.Backoff{Min: reconnectBackoffMin, Max: m.cfg.ReconnectBackoffMax}
	// grace runs after an error sarama reported for the partition; while
	// it runs the error counts, and when it fires the subscription works
	// again (no error for partitionErrorGrace).
	grace := time.NewTimer(partitionErrorGrace)
	grace.Stop()
	defer grace.Stop()
	for {
		if pc == nil {
			var err error
			pc, err = m.startPartition(c, s, offset)
			if err != nil {
				if restarting && !clamped && errors.Is(err, sarama.ErrOffsetOutOfRange) {
					if o, ok := m.readableOffset(c, s, offset); ok {
						offset, clamped = o, true
						continue
					}
				}
				wait := bo.Next()
				m.setFailing(s, fmt.Errorf("cannot start (next attempt in %s): %w", wait, err))
				s.errLog.add(fmt.Errorf("cannot start, next attempt in %s: %w", wait, err))
				if !backoff.Sleep(s.ctx.Done(), wait) {
					return
				}
				clamped = false
				continue
			}
			if restarting {
				m.log.Infof("subscription %s: reading again at offset %d", s, offset)
			}
			restarting, clamped, started = true, false, time.Now()
			bo.Reset()
			m.setFailing(s, nil)
		}
		select {
		case <-s.ctx.Done():
			if err := pc.Close(); err != nil {
				if m.ctx.Err() != nil {
					m.mu.Lock()
					m.closeErrs = append(m.closeErrs, fmt.Errorf("kafka: %s: watch %s: %w", s.conn.name, s, err))
					m.mu.Unlock()
				} else {
					m.log.Warnf("subscription %s: %v", s, err)
				}
			}
			return
		case <-pc.Done():
			// sarama gave the partition up by itself: read again after
			// the last message handled.
			err := pc.Err()
			if next := pc.Next(); next >= 0 {
				offset = next
			}
			_ = pc.Close()
			pc = nil
			m.log.Warnf("subscription %s: sarama stopped reading the partition: %v; reading again at offset %d", s, err, offset)
		case <-s.fetchErr:
			s.mu.Lock()
			err, at := s.lastFetchErr, s.lastFetchAt
			s.mu.Unlock()
			m.mu.RLock()
			since := m.reachableSince
			m.mu.RUnlock()
			if at.Before(started) {
				continue // of a consumer closed since
			}
			grace.Reset(partitionErrorGrace)
			if !since.IsZero() && at.Sub(since) >= partitionErrorGrace {
				m.setFailing(s, fmt.Errorf("the brokers are reachable but fetching keeps failing: %w", err))
			}
		case <-grace.C:
			m.setFailing(s, nil)
		}
	}
}

// startPartition opens the partition consumer of s at offset. It talks to
// the brokers: the caller holds no lock.
func (m *Multiplexer) startPartition(c *connection, s *subscriber, offset int64) (*client.PartitionConsumer, error) {
	return client.NewPartitionConsumer(c.client, s.topics[0], s.partition, offset,
		func(_ context.Context, msg *client.ConsumerMessage) {
			if s.ctx.Err() == nil {
				s.handle(s.ctx, msg)
			}
		},
		func(err error) {
			s.errLog.add(err)
			s.mu.Lock()
			s.lastFetchErr, s.lastFetchAt = err, time.Now()
			s.mu.Unlock()
			select {
			case s.fetchErr <- struct{}{}:
			default:
			}
		})
}

// readableOffset returns where to read the partition of s again when
// offset, after the last message handled, is out of the range the brokers
// store: the oldest offset when the messages from offset on were deleted
// (by retention) before they were read, the end of the partition when the
// brokers lost messages (the offsets from the end on will hold new ones).
// Either is logged as an error. It returns false when the range cannot be
// read or offset is in it.
func (m *Multiplexer) readableOffset(c *connection, s *subscriber, offset int64) (int64, bool) {
	topic, partition := s.topics[0], s.partition
	oldest, err := c.client.GetOffset(topic, partition, sarama.OffsetOldest)
	if err != nil {
		return 0, false
	}
	newest, err := c.client.GetOffset(topic, partition, sarama.OffsetNewest)
	if err != nil {
		return 0, false
	}
	switch {
	case offset < oldest:
		m.log.Errorf("subscription %s: the messages at offsets %d to %d were deleted before they were read; reading at %d", s, offset, oldest-1, oldest)
		return oldest, true
	case offset > newest:
		m.log.Errorf("subscription %s: the partition ends at offset %d, before %d where the subscription stopped: the brokers lost messages; reading at %d", s, newest, offset, newest)
		return newest, true
	default:
		return 0, false
	}
}

// setFailing records why s cannot be read (nil: it can) and announces a
// change of the state.
func (m *Multiplexer) setFailing(s *subscriber, err error) {
	m.mu.Lock()
	changed := (s.err == nil) != (err == nil)
	s.err = err
	_, live := m.partSubs[s]
	m.mu.Unlock()
	if !live {
		return
	}
	if changed && err == nil {
		m.log.Infof("subscription %s: reading", s)
	}
	m.announce()
}

// unsubscribe removes s. The owner of a partition subscription closes its
// consumer once s.ctx is done, in the background: Unsubscribe may run in
// its handler, which the close waits for.
func (m *Multiplexer) unsubscribe(s *subscriber) {
	m.mu.Lock()
	if m.closed {
		m.mu.Unlock()
		return // Close stops everything
	}
	if s.manual {
		delete(m.partSubs, s)
		m.mu.Unlock()
		m.announce() // s may have been the failing subscription
		return
	}
	defer m.mu.Unlock()
	changed := false
	for _, t := range s.topics {
		w := m.topicSubs[t]
		if w == nil {
			continue
		}
		old := w.load()
		i := slices.Index(old, s)
		if i < 0 {
			continue
		}
		if len(old) == 1 {
			w.subs.Store(nil)
			delete(m.topicSubs, t)
			changed = true
			continue
		}
		subs := slices.Delete(slices.Clone(old), i, i+1)
		w.subs.Store(&subs)
	}
	if c := m.conn.Load(); changed && c != nil {
		c.group.SetTopics(m.topicsLocked())
	}
}

// subscriber is one handler registered through a connection.
type subscriber struct {
	m      *Multiplexer
	conn   *connCore
	handle func(context.Context, *client.ConsumerMessage)
	ctx    context.Context // done on Unsubscribe and Close
	cancel context.CancelFunc
	once   sync.Once

	topics    []string
	manual    bool
	partition int32
	offset    int64
	seq       uint64 // order of subscription, set by subscribe

	// Of a partition subscription.
	err      error         // why it cannot be read, nil if it can; guarded by m.mu
	errLog   *errorLog     // errors of its consumer
	fetchErr chan struct{} // cap 1: sarama reported an error for the partition

	mu           sync.Mutex // guards the fields below
	lastFetchErr error
	lastFetchAt  time.Time
}

func (s *subscriber) String() string {
	if s.manual {
		from := "offset " + strconv.FormatInt(s.offset, 10)
		switch s.offset {
		case client.Oldest:
			from = "the oldest offset"
		case client.Newest:
			from = "the newest offset"
		}
		return fmt.Sprintf("%s of topic %q partition %d from %s", s.conn.name, s.topics[0], s.partition, from)
	}
	return fmt.Sprintf("%s of topics %q", s.conn.name, s.topics)
}

// Unsubscribe implements messaging.Subscription.
func (s *subscriber) Unsubscribe() {
	s.once.Do(func() {
		s.cancel()
		s.m.unsubscribe(s)
		s.conn.forget(s)
	})
}
