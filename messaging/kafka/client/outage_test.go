package client_test

import (
	"context"
	"fmt"
	"net"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/IBM/sarama"
	"github.com/twmb/franz-go/pkg/kfake"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/plinth-go/plinth/messaging/kafka/client"
)

// outageWaitLimit bounds every wait of the outage tests for an event; it is
// a safety net for a broken build, never a guess at how long something
// takes.
const outageWaitLimit = 60 * time.Second

// stoppableBroker is one broker on a fixed loopback port, keeping its data
// in a directory of the test, which the test stops and starts again.
type stoppableBroker struct {
	t       *testing.T
	port    int
	dataDir string
	topics  []string // seeded with one partition each

	mu      sync.Mutex // guards cluster
	cluster *kfake.Cluster
}

func newStoppableBroker(t *testing.T, topics ...string) *stoppableBroker {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := l.Addr().(*net.TCPAddr).Port
	l.Close()
	b := &stoppableBroker{t: t, port: port, dataDir: t.TempDir(), topics: topics}
	b.start()
	t.Cleanup(b.stop) // registered first: runs after the clients closed
	return b
}

func (b *stoppableBroker) addr() string { return fmt.Sprintf("127.0.0.1:%d", b.port) }

func (b *stoppableBroker) start() {
	b.t.Helper()
	c, err := kfake.NewCluster(kfake.Ports(b.port), kfake.DataDir(b.dataDir), kfake.SeedTopics(1, b.topics...))
	if err != nil {
		b.t.Fatalf("start broker on port %d: %v", b.port, err)
	}
	b.mu.Lock()
	b.cluster = c
	b.mu.Unlock()
}

// stop closes the broker, keeping its data; it is idempotent.
func (b *stoppableBroker) stop() {
	b.mu.Lock()
	c := b.cluster
	b.cluster = nil
	b.mu.Unlock()
	if c != nil {
		c.Close()
	}
}

// outageClient returns a sarama client configured by Config.Sarama and
// then changed by tune; it is closed when the test ends.
func outageClient(t *testing.T, addr string, tune func(*sarama.Config)) sarama.Client {
	t.Helper()
	sc, err := (&client.Config{Addrs: []string{addr}, DialTimeout: 5 * time.Second}).Sarama()
	if err != nil {
		t.Fatal(err)
	}
	tune(sc)
	c, err := sarama.NewClient([]string{addr}, sc)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = c.Close() })
	return c
}

// kgoProducer returns a franz-go client, an implementation of the protocol
// independent of sarama, that finds a restarted broker by itself.
func kgoProducer(t *testing.T, addr string) *kgo.Client {
	t.Helper()
	cl, err := kgo.NewClient(kgo.SeedBrokers(addr), kgo.RecordPartitioner(kgo.ManualPartitioner()))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(cl.Close)
	return cl
}

func produce(t *testing.T, cl *kgo.Client, topic string, values ...string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), outageWaitLimit)
	defer cancel()
	for _, v := range values {
		if err := cl.ProduceSync(ctx, &kgo.Record{Topic: topic, Partition: 0, Value: []byte(v)}).FirstErr(); err != nil {
			t.Fatalf("kgo: produce %q: %v", v, err)
		}
	}
}

// sarama reports the errors of a partition on a channel of
// ChannelBufferSize (256 by default) and stops fetching for good once it is
// full and unread; a long outage, or many short ones, made a partition
// consumer stop for ever. Here the buffer holds 4 errors and the broker
// goes away many more times than that: the consumer must read every
// message produced after each return, and Close must not report the errors
// of the outages.
func TestPartitionConsumerKeepsReadingAcrossManyBrokerOutages(t *testing.T) {
	const (
		buffer = 4
		rounds = 4 * buffer // each outage costs the consumer at least one error
	)
	b := newStoppableBroker(t, "outages")
	c := outageClient(t, b.addr(), func(sc *sarama.Config) {
		sc.ChannelBufferSize = buffer
		// Fail and retry quickly, so that every outage costs errors.
		sc.Consumer.Retry.Backoff = 20 * time.Millisecond
		sc.Metadata.Retry.Backoff = 20 * time.Millisecond
	})
	producer := kgoProducer(t, b.addr())

	got := make(chan string, 100)
	var mu sync.Mutex // guards errs and errAdded
	var errs []error
	errAdded := make(chan struct{}, 1)
	pc, err := client.NewPartitionConsumer(c, "outages", 0, client.Oldest,
		func(ctx context.Context, m *client.ConsumerMessage) {
			select {
			case got <- string(m.Value):
			case <-ctx.Done():
			}
		},
		func(err error) {
			mu.Lock()
			errs = append(errs, err)
			mu.Unlock()
			select {
			case errAdded <- struct{}{}:
			default:
			}
		})
	if err != nil {
		t.Fatal(err)
	}
	errorCount := func() int {
		mu.Lock()
		defer mu.Unlock()
		return len(errs)
	}
	expect := func(want ...string) {
		t.Helper()
		timeout := time.After(outageWaitLimit)
		for _, w := range want {
			select {
			case v := <-got:
				if v != w {
					t.Fatalf("consumer read %q, want %q", v, w)
				}
			case <-timeout:
				t.Fatalf("consumer did not read %q after %d errors (%d unread at sarama)", w, errorCount(), pc.ErrorCount())
			}
		}
	}

	for round := range rounds {
		v := fmt.Sprintf("round-%02d", round)
		produce(t, producer, "outages", v)
		expect(v)
		before := errorCount()
		b.stop()
		// The consumer was fetching: the outage costs it an error.
		timeout := time.After(outageWaitLimit)
		for errorCount() == before {
			select {
			case <-errAdded:
			case <-timeout:
				t.Fatalf("round %d: no error reported while the broker is down", round)
			}
		}
		b.start()
	}
	var after []string
	for i := range 20 {
		after = append(after, fmt.Sprintf("after-%02d", i))
	}
	produce(t, producer, "outages", after...)
	expect(after...)

	n := errorCount()
	if n < rounds || int64(n) != pc.ErrorCount() {
		t.Errorf("%d errors handed to onError, ErrorCount %d; want the same number, at least %d", n, pc.ErrorCount(), rounds)
	}
	t.Logf("%d errors over %d outages, with room for %d in sarama's channel; first: %v", n, rounds, buffer, errs[0])
	if err := pc.Close(); err != nil {
		t.Errorf("Close = %v, want nil: the errors of the outages were reported already", err)
	}
	if err := pc.Err(); err != nil {
		t.Errorf("Err after Close = %v, want nil", err)
	}
}

// sarama's producers stop looking a partition up for 10 s after three
// failed lookups (a circuit breaker no setting changes), so publishing
// stayed impossible for up to 10 s after a broker outage of a few seconds
// ended. The producers must publish again as soon as the broker is back,
// well before that breaker would let a message through.
func TestProducersPublishAgainBeforeSaramasBreakerWould(t *testing.T) {
	// Half of the breaker's 10 s: sarama alone never publishes within it,
	// a renewed producer does within milliseconds.
	const bound = 5 * time.Second
	tests := []struct {
		name string
		open func(t *testing.T, c sarama.Client) (send func(ctx context.Context, m *client.ProducerMessage) error, renewals func() int64)
	}{
		{"Producer", func(t *testing.T, c sarama.Client) (func(context.Context, *client.ProducerMessage) error, func() int64) {
			p, err := client.NewProducer(c)
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { _ = p.Close() })
			return p.SendSync, p.Renewals
		}},
		{"SyncProducer", func(t *testing.T, c sarama.Client) (func(context.Context, *client.ProducerMessage) error, func() int64) {
			p, err := client.NewSyncProducer(c)
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { _ = p.Close() })
			return p.Send, p.Renewals
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b := newStoppableBroker(t, "renew")
			c := outageClient(t, b.addr(), func(sc *sarama.Config) {
				// Fail lookups quickly, so that the breaker opens soon.
				sc.Metadata.Retry.Backoff = 10 * time.Millisecond
				sc.Producer.Retry.Backoff = 10 * time.Millisecond
			})
			send, renewals := tt.open(t, c)
			ctx, cancel := context.WithTimeout(context.Background(), outageWaitLimit)
			defer cancel()
			msg := func(i int) *client.ProducerMessage {
				return &client.ProducerMessage{Topic: "renew", Value: fmt.Appendf(nil, "m%d", i)}
			}
			if err := send(ctx, msg(0)); err != nil {
				t.Fatalf("send before the outage: %v", err)
			}

			b.stop()
			var err error
			for i := 1; err == nil || !strings.Contains(err.Error(), "circuit breaker is open"); i++ {
				if ctx.Err() != nil {
					t.Fatalf("sarama's circuit breaker never opened; last error %v", err)
				}
				err = send(ctx, msg(i))
			}
			t.Logf("while the broker is down: %v", err)

			b.start()
			restarted := time.Now()
			for i := 0; ; i++ {
				if err = send(ctx, msg(1000+i)); err == nil {
					break
				}
				if ctx.Err() != nil {
					t.Fatalf("no message published after the restart: %v", err)
				}
				time.Sleep(10 * time.Millisecond)
			}
			took := time.Since(restarted)
			t.Logf("restart -> published again: %v, %d renewals", took, renewals())
			if took >= bound {
				t.Errorf("published again %v after the restart, want within %v", took, bound)
			}
			if renewals() < 1 {
				t.Errorf("Renewals = %d, want at least 1", renewals())
			}
		})
	}
}
