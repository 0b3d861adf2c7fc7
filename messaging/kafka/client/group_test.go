package client_test

import (
	"context"
	"fmt"
	"maps"
	"net"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/IBM/sarama"
	"github.com/twmb/franz-go/pkg/kfake"

	"github.com/plinth-go/plinth/internal/testwait"
	"github.com/plinth-go/plinth/messaging/kafka/client"
)

// groupWaitLimit bounds every wait of the group tests for an event; it is
// a safety net for a broken build, never a guess at how long a rebalance
// takes.
const groupWaitLimit = 60 * time.Second

// groupHarness is one broker on a fixed loopback port, which a test may
// stop and start again, and a group consumer on it that records what its
// handler gets.
type groupHarness struct {
	t       *testing.T
	port    int
	dataDir string // empty: a restarted broker starts empty
	cluster *kfake.Cluster

	client sarama.Client
	group  *client.GroupConsumer
	got    chan int64 // offsets handed to the handler
	mu     sync.Mutex // guards errs
	errs   []error
}

// newGroupHarness starts a broker with the one-partition topics "once"
// and "other". With autoCommit false the consumer never commits an
// offset, as when every commit is lost with a broker that died.
func newGroupHarness(t *testing.T, dataDir string, autoCommit bool) *groupHarness {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := l.Addr().(*net.TCPAddr).Port
	l.Close()
	h := &groupHarness{t: t, port: port, dataDir: dataDir, got: make(chan int64, 1000)}
	h.startBroker()
	t.Cleanup(func() { h.cluster.Close() }) // registered first: runs last

	cfg, err := (&client.Config{Addrs: h.cluster.ListenAddrs(), DialTimeout: 5 * time.Second}).Sarama()
	if err != nil {
		t.Fatal(err)
	}
	cfg.Consumer.Offsets.AutoCommit.Enable = autoCommit
	// Notice a dead broker sooner than the defaults do (3s heartbeats).
	cfg.Consumer.Group.Heartbeat.Interval = 200 * time.Millisecond
	cfg.Metadata.Retry.Backoff = 50 * time.Millisecond
	if h.client, err = sarama.NewClient(h.cluster.ListenAddrs(), cfg); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = h.client.Close() })
	h.group = h.newGroup(h.client)
	return h
}

func (h *groupHarness) startBroker() {
	h.t.Helper()
	opts := []kfake.Opt{kfake.Ports(h.port), kfake.SeedTopics(1, "once", "other")}
	if h.dataDir != "" {
		opts = append(opts, kfake.DataDir(h.dataDir))
	}
	c, err := kfake.NewCluster(opts...)
	if err != nil {
		h.t.Fatalf("start broker on port %d: %v", h.port, err)
	}
	h.cluster = c
}

// restartBroker stops the broker and starts it again on the same port.
func (h *groupHarness) restartBroker() {
	h.t.Helper()
	h.cluster.Close()
	h.startBroker()
}

// newGroup joins group "g" on c, reading "once"; it is closed when the
// test ends.
func (h *groupHarness) newGroup(c sarama.Client) *client.GroupConsumer {
	h.t.Helper()
	g, err := client.NewGroupConsumer(c, "g", client.EveryClaim(func(_ context.Context, m *client.ConsumerMessage) bool {
		h.got <- m.Offset
		return true
	}), func(err error) {
		h.mu.Lock()
		h.errs = append(h.errs, err)
		h.mu.Unlock()
	})
	if err != nil {
		h.t.Fatal(err)
	}
	h.t.Cleanup(func() { _ = g.Close() })
	g.SetTopics([]string{"once"})
	return g
}

// publish sends n messages to "once" from a client of its own, which
// need not find a restarted broker again.
func (h *groupHarness) publish(n int) {
	h.t.Helper()
	c, err := client.Connect(client.Config{Addrs: h.cluster.ListenAddrs()})
	if err != nil {
		h.t.Fatal(err)
	}
	defer c.Close()
	p, err := client.NewSyncProducer(c)
	if err != nil {
		h.t.Fatal(err)
	}
	defer p.Close()
	for i := range n {
		if err := p.Send(context.Background(), &client.ProducerMessage{Topic: "once", Value: fmt.Appendf(nil, "m%d", i)}); err != nil {
			h.t.Fatalf("Send: %v", err)
		}
	}
}

// takeUntil returns the offsets handed to the handler up to and including
// last.
func (h *groupHarness) takeUntil(last int64) []int64 {
	h.t.Helper()
	timeout := time.After(groupWaitLimit)
	var offsets []int64
	for {
		select {
		case o := <-h.got:
			offsets = append(offsets, o)
			if o == last {
				return offsets
			}
		case <-timeout:
			h.t.Fatalf("offset %d never handled; got %v", last, offsets)
		}
	}
}

// awaitClaims waits until the consumer reads exactly topics; none means
// between two sessions.
func (h *groupHarness) awaitClaims(g *client.GroupConsumer, topics ...string) {
	h.t.Helper()
	testwait.For(h.t, groupWaitLimit, fmt.Sprintf("claims of topics %v", topics), func() (bool, string) {
		claims := g.Claims()
		got := slices.Sorted(maps.Keys(claims))
		return slices.Equal(got, topics), fmt.Sprintf("claims %v", claims)
	})
}

func (h *groupHarness) errors() []error {
	h.mu.Lock()
	defer h.mu.Unlock()
	return slices.Clone(h.errs)
}

func sequence(from, to int64) []int64 {
	var s []int64
	for o := from; o <= to; o++ {
		s = append(s, o)
	}
	return s
}

// The consumer never commits here (as when every commit is lost with a
// dying broker), so a new session would start again at offset 0: the
// consumer must resume where its handler stopped instead.
func TestGroupConsumerHandsEachMessageOnceWhenItsCommitsAreLost(t *testing.T) {
	tests := []struct {
		name   string
		rejoin func(h *groupHarness)
	}{
		{"session ends because the topics changed", func(h *groupHarness) {
			h.group.SetTopics([]string{"once", "other"})
			h.awaitClaims(h.group, "once", "other")
		}},
		{"session ends because the broker is down", func(h *groupHarness) {
			// A broker back at once finds the session still alive; wait
			// until the consumer gave it up.
			h.cluster.Close()
			h.awaitClaims(h.group)
			h.startBroker()
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := newGroupHarness(t, t.TempDir(), false)
			h.publish(10)
			if got := h.takeUntil(9); !slices.Equal(got, sequence(0, 9)) {
				t.Fatalf("first session handled offsets %v, want 0..9", got)
			}
			tt.rejoin(h)
			h.publish(10)
			if got := h.takeUntil(19); !slices.Equal(got, sequence(10, 19)) {
				t.Errorf("after the new session the handler got offsets %v, want 10..19 once each", got)
			}
		})
	}
}

func TestGroupConsumerForgetsATopicItStopsReading(t *testing.T) {
	h := newGroupHarness(t, "", false)
	h.publish(5)
	h.takeUntil(4)
	h.group.SetTopics([]string{"other"})
	h.awaitClaims(h.group, "other")
	h.group.SetTopics([]string{"once"})
	// Nothing was committed: read again, the topic starts at the oldest
	// offset.
	if got := h.takeUntil(4); !slices.Equal(got, sequence(0, 4)) {
		t.Errorf("topic read again from offsets %v, want 0..4", got)
	}
}

// A broker that lost messages (here: restarted without its data) holds
// new messages at offsets the consumer already passed. The consumer must
// neither skip them nor commit the offset it remembered.
func TestGroupConsumerReadsMessagesAtOffsetsABrokerReused(t *testing.T) {
	h := newGroupHarness(t, "", true)
	h.publish(10)
	h.takeUntil(9)
	h.restartBroker() // empty: "once" has no message, group "g" no offset
	h.publish(3)
	if got := h.takeUntil(2); !slices.Equal(got, sequence(0, 2)) {
		t.Fatalf("after the broker lost its data the handler got offsets %v, want 0..2", got)
	}
	if errs := h.errors(); !slices.ContainsFunc(errs, func(err error) bool { return strings.Contains(err.Error(), "lost messages") }) {
		t.Errorf("errors reported %v, want one saying the brokers lost messages", errs)
	}
	// The consumer commits offset 3 when it closes; a new member of the
	// group resumes there.
	if err := h.group.Close(); err != nil {
		t.Fatal(err)
	}
	c2, err := client.Connect(client.Config{Addrs: h.cluster.ListenAddrs()})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = c2.Close() })
	h.newGroup(c2)
	h.publish(10)
	if got := h.takeUntil(12); !slices.Equal(got, sequence(3, 12)) {
		t.Errorf("the next member of the group got offsets %v, want 3..12", got)
	}
}
