package mux_test

import (
	"context"
	"fmt"
	"net"
	"slices"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/plinth-go/plinth/internal/freeport"
	"github.com/plinth-go/plinth/messaging"
	"github.com/plinth-go/plinth/messaging/kafka/client"
	"github.com/plinth-go/plinth/messaging/kafka/mux"
)

// waitLimit bounds every wait of a test for an event; it is a safety net
// for a broken build, never a guess at how long something takes.
const waitLimit = 60 * time.Second

func testContext(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), waitLimit)
	t.Cleanup(cancel)
	return ctx
}

// newMux starts a multiplexer on addrs, closed when the test ends.
func newMux(t *testing.T, addrs []string, group string, opts ...mux.Option) *mux.Multiplexer {
	t.Helper()
	cfg := mux.Config{
		Config:              client.Config{Addrs: addrs, GroupID: group},
		HealthCheckInterval: 100 * time.Millisecond,
		ReconnectBackoffMax: 200 * time.Millisecond,
	}
	m, err := mux.New(cfg, opts...)
	if err != nil {
		t.Fatalf("mux.New: %v", err)
	}
	m.Start()
	t.Cleanup(func() {
		if err := m.Close(); err != nil {
			t.Errorf("Close: %v", err)
		}
	})
	return m
}

// connected starts a multiplexer and waits until it reached the brokers.
func connected(t *testing.T, addrs []string, group string, opts ...mux.Option) *mux.Multiplexer {
	t.Helper()
	m := newMux(t, addrs, group, opts...)
	select {
	case <-m.Ready():
	case <-testContext(t).Done():
		t.Fatalf("not connected: %v", m.Err())
	}
	return m
}

// received is one message seen by a handler, copied out of it.
type received struct {
	Topic     string
	Partition int32
	Offset    int64
	Key       string
	Value     string
	Headers   []messaging.Header
}

func (r received) String() string {
	return fmt.Sprintf("%s/%d@%d %s=%s", r.Topic, r.Partition, r.Offset, r.Key, r.Value)
}

func copyOf(m messaging.BytesMessage) received {
	return received{Topic: m.GetTopic(), Partition: m.GetPartition(), Offset: m.GetOffset(),
		Key: m.GetKey(), Value: string(m.GetValue()), Headers: m.GetHeaders()}
}

// sink collects what a handler receives.
type sink struct {
	ch chan received
}

func newSink() *sink { return &sink{ch: make(chan received, 10000)} }

func (s *sink) handler() messaging.BytesHandler {
	return func(ctx context.Context, m messaging.BytesMessage) {
		select {
		case s.ch <- copyOf(m):
		case <-ctx.Done():
		}
	}
}

// take waits for n messages.
func (s *sink) take(t *testing.T, n int) []received {
	t.Helper()
	ctx := testContext(t)
	out := make([]received, 0, n)
	for len(out) < n {
		select {
		case r := <-s.ch:
			out = append(out, r)
		case <-ctx.Done():
			t.Fatalf("received %d messages, want %d: %v", len(out), n, out)
		}
	}
	return out
}

// values returns the sorted values of rs.
func values(rs []received) []string {
	vs := make([]string, len(rs))
	for i, r := range rs {
		vs[i] = r.Value
	}
	slices.Sort(vs)
	return vs
}

func numbered(prefix string, n int) []string {
	vs := make([]string, n)
	for i := range vs {
		vs[i] = fmt.Sprintf("%s-%03d", prefix, i)
	}
	slices.Sort(vs)
	return vs
}

// freeAddr returns a loopback address nothing listens on.
func freeAddr(t *testing.T) (string, int) {
	t.Helper()
	port := freeport.Port(t)
	return net.JoinHostPort("127.0.0.1", strconv.Itoa(port)), port
}

// states records what a multiplexer reports through WithStateFunc.
type states struct {
	mu  sync.Mutex
	all []error
	ch  chan error
}

func newStates() *states { return &states{ch: make(chan error, 100)} }

func (s *states) option() mux.Option {
	return mux.WithStateFunc(func(err error) {
		s.mu.Lock()
		s.all = append(s.all, err)
		s.mu.Unlock()
		s.ch <- err
	})
}

// next waits for the next report.
func (s *states) next(t *testing.T) error {
	t.Helper()
	select {
	case err := <-s.ch:
		return err
	case <-testContext(t).Done():
		t.Fatal("no state reported")
		return nil
	}
}
