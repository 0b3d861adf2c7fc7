package mux

import (
	"context"
	"errors"
	"fmt"
	"io"
	"maps"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/IBM/sarama"

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

	ctx     context.Context // lifecycle; Close cancels it
	cancel  context.CancelFunc
	wg      sync.WaitGroup // the connect loop and closers of partition consumers
	started atomic.Bool
	ready   chan struct{} // closed on the first connection

	conn atomic.Pointer[connection] // nil until connected

	mu        sync.RWMutex // guards the fields below
	closed    bool
	lastErr   error                    // cause of the last failed attempt or health check
	reported  bool                     // the state was announced once
	topicSubs map[string]*watchers     // watched by topic; an entry has at least one subscriber
	partSubs  map[*subscriber]struct{} // watched by partition
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

// WithStateFunc sets a function called with nil when the brokers become
// reachable and with the cause when they stop being reachable (and once at
// the first failed attempt). Calls come from one goroutine, one at a time;
// f must not call Close.
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

// Err returns nil while the brokers are reachable, and otherwise why they
// are not. It serves the result of the last check and never waits.
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
		return m.lastErr
	}
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
	wait := reconnectBackoffMin
	for {
		c, err := m.connect()
		if err == nil {
			if !m.attach(c) {
				return
			}
			break
		}
		m.report(err)
		m.log.Debugf("next attempt in %s", wait)
		if !m.sleep(wait) {
			return
		}
		wait = min(2*wait, m.cfg.ReconnectBackoffMax)
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

func (m *Multiplexer) sleep(d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-m.ctx.Done():
		return false
	}
}

// report records the state of the brokers and announces changes.
func (m *Multiplexer) report(err error) {
	m.mu.Lock()
	changed := !m.reported || (m.lastErr == nil) != (err == nil)
	m.reported = true
	m.lastErr = err
	m.mu.Unlock()
	if !changed {
		return
	}
	if err != nil {
		m.log.Errorf("brokers unreachable: %v", err)
	} else {
		m.log.Infof("brokers reachable")
	}
	m.onState(err)
}

// connect opens the client and everything that shares it.
func (m *Multiplexer) connect() (*connection, error) {
	cl, err := client.Connect(m.cfg.Config)
	if err != nil {
		return nil, err
	}
	c := &connection{client: cl}
	if c.sync, err = client.NewSyncProducer(cl); err == nil {
		if c.async, err = client.NewProducer(cl); err == nil {
			c.group, err = client.NewGroupConsumer(cl, m.groupID, m.claim, func(err error) {
				m.log.Warn(err)
			})
		}
	}
	if err != nil {
		c.close()
		return nil, err
	}
	return c, nil
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
	pending := slices.Collect(maps.Keys(m.partSubs))
	m.mu.Unlock()
	for _, s := range pending {
		if err := m.startPartition(c, s); err != nil {
			m.log.Errorf("subscription %s: %v", s, err)
		}
	}
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
	// waits for them below.
	for _, s := range subs {
		s.cancel()
	}
	var errs []error
	for _, s := range subs {
		if pc := s.detach(); pc != nil {
			errs = append(errs, pc.Close())
		}
	}
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
	m.mu.Unlock()
	if c == nil {
		return nil // started by attach
	}
	if err := m.startPartition(c, s); err != nil {
		m.unsubscribe(s)
		return err
	}
	return nil
}

// startPartition opens the partition consumer of s, without holding the
// lock: it talks to the brokers.
func (m *Multiplexer) startPartition(c *connection, s *subscriber) error {
	pc, err := client.NewPartitionConsumer(c.client, s.topics[0], s.partition, s.offset,
		func(_ context.Context, msg *client.ConsumerMessage) {
			if s.ctx.Err() == nil {
				s.handle(s.ctx, msg)
			}
		})
	if err != nil {
		return err
	}
	m.mu.Lock()
	_, live := m.partSubs[s]
	if live && !m.closed {
		s.pc = pc
		pc = nil
	}
	m.mu.Unlock()
	if pc != nil { // unsubscribed or closed meanwhile
		_ = pc.Close()
	}
	return nil
}

// unsubscribe removes s. A partition consumer is closed in the background:
// Unsubscribe may run in its handler, which the close waits for.
func (m *Multiplexer) unsubscribe(s *subscriber) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.closed {
		return // Close stops everything
	}
	if s.manual {
		delete(m.partSubs, s)
		if pc := s.pc; pc != nil {
			s.pc = nil
			m.wg.Add(1)
			go func() {
				defer m.wg.Done()
				if err := pc.Close(); err != nil {
					m.log.Warnf("subscription %s: %v", s, err)
				}
			}()
		}
		return
	}
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
	pc        *client.PartitionConsumer // guarded by m.mu
}

func (s *subscriber) String() string {
	if s.manual {
		return fmt.Sprintf("%s of topic %q partition %d from offset %d", s.conn.name, s.topics[0], s.partition, s.offset)
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

func (s *subscriber) detach() *client.PartitionConsumer {
	s.m.mu.Lock()
	defer s.m.mu.Unlock()
	pc := s.pc
	s.pc = nil
	return pc
}
