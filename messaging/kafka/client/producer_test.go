package client_test

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/IBM/sarama"
	"github.com/twmb/franz-go/pkg/kfake"

	"github.com/plinth-go/plinth/messaging"
	"github.com/plinth-go/plinth/messaging/kafka/client"
)

// newSyncProducer connects to a fresh one-broker cluster with topic and
// returns a sync producer on it; cleanup closes both in order.
func newSyncProducer(t *testing.T, partitions int32, topic string) *client.SyncProducer {
	t.Helper()
	cluster, err := kfake.NewCluster(kfake.NumBrokers(1), kfake.SeedTopics(partitions, topic))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(cluster.Close)
	c, err := client.Connect(client.Config{Addrs: cluster.ListenAddrs()})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = c.Close() })
	p, err := client.NewSyncProducer(c)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = p.Close() })
	return p
}

func TestSyncProducerReportsWhereTheMessageIsStored(t *testing.T) {
	p := newSyncProducer(t, 3, "where")
	ctx := context.Background()
	for i := range int64(3) {
		m := &client.ProducerMessage{Topic: "where", Manual: true, Partition: 2, Value: []byte("v"),
			Headers: []messaging.Header{{Key: "h", Value: []byte("x")}}}
		if err := p.Send(ctx, m); err != nil {
			t.Fatalf("Send: %v", err)
		}
		if m.GetPartition() != 2 || m.GetOffset() != i {
			t.Errorf("Send #%d stored at %d@%d, want 2@%d", i, m.GetPartition(), m.GetOffset(), i)
		}
	}
}

func TestSyncProducerSendsNothingWhenTheContextEnded(t *testing.T) {
	p := newSyncProducer(t, 1, "ended")
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	err := p.Send(ctx, &client.ProducerMessage{Topic: "ended", Value: []byte("dropped")})
	if !errors.Is(err, context.Canceled) {
		t.Errorf("Send with a cancelled context = %v, want context.Canceled", err)
	}
	m := &client.ProducerMessage{Topic: "ended", Value: []byte("stored")}
	if err := p.Send(context.Background(), m); err != nil {
		t.Fatal(err)
	}
	if m.GetOffset() != 0 {
		t.Errorf("first stored message at offset %d, want 0: the cancelled send was published", m.GetOffset())
	}
}

func TestSyncProducerSendFailsFromAMissingPartition(t *testing.T) {
	p := newSyncProducer(t, 1, "one")
	err := p.Send(context.Background(), &client.ProducerMessage{Topic: "one", Manual: true, Partition: 5, Value: []byte("v")})
	if !errors.Is(err, sarama.ErrInvalidPartition) {
		t.Errorf("Send to partition 5 of 1 = %v, want sarama.ErrInvalidPartition", err)
	}
}

func TestSyncProducerCloseWaitsForSendsInFlight(t *testing.T) {
	p := newSyncProducer(t, 3, "closing")
	ctx := context.Background()
	const senders = 8
	var wg sync.WaitGroup
	errs := make(chan error, senders*1000)
	started := make(chan struct{}, senders)
	for i := range senders {
		wg.Go(func() {
			started <- struct{}{}
			for j := 0; ; j++ {
				err := p.Send(ctx, &client.ProducerMessage{Topic: "closing", Key: fmt.Sprint(i, j), Value: []byte("v")})
				if err != nil {
					errs <- err
					return
				}
			}
		})
	}
	for range senders {
		<-started
	}
	if err := p.Close(); err != nil {
		t.Errorf("Close: %v", err)
	}
	wg.Wait()
	close(errs)
	// Every sender stopped on ErrClosed: none was refused by sarama for
	// racing with its shutdown, and none panicked on a closed producer.
	for err := range errs {
		if !errors.Is(err, client.ErrClosed) {
			t.Errorf("Send during Close = %v, want client.ErrClosed", err)
		}
	}
	if err := p.Close(); err != nil {
		t.Errorf("second Close: %v", err)
	}
}

// newProducer connects to a fresh one-broker cluster with topic and
// returns an async producer on it; cleanup closes both in order.
func newProducer(t *testing.T, partitions int32, topic string) *client.Producer {
	t.Helper()
	cluster, err := kfake.NewCluster(kfake.NumBrokers(1), kfake.SeedTopics(partitions, topic))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(cluster.Close)
	c, err := client.Connect(client.Config{Addrs: cluster.ListenAddrs()})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = c.Close() })
	p, err := client.NewProducer(c)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = p.Close() })
	return p
}

func TestProducerCloseWhileSendingCallsBackEveryQueuedMessageOnce(t *testing.T) {
	p := newProducer(t, 3, "closing")
	ctx := context.Background()
	const senders = 8
	// Each sender counts the results of its queued messages, one counter
	// per message.
	results := make([][]*atomic.Int32, senders)
	errs := make(chan error, senders)
	sending := make(chan struct{}, senders)
	var wg sync.WaitGroup
	for i := range senders {
		wg.Go(func() {
			for j := 0; ; j++ {
				n := new(atomic.Int32)
				count := func(*client.ProducerMessage) { n.Add(1) }
				m := &client.ProducerMessage{Topic: "closing", Key: fmt.Sprint(i, j), Value: []byte("v")}
				err := p.SendAsync(ctx, m, count, func(m *client.ProducerMessage, _ error) { count(m) })
				if err != nil {
					errs <- err
					return
				}
				results[i] = append(results[i], n)
				if j == 0 {
					sending <- struct{}{}
				}
			}
		})
	}
	for range senders {
		<-sending
	}
	if err := p.Close(); err != nil {
		t.Errorf("Close: %v", err)
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if !errors.Is(err, client.ErrClosed) {
			t.Errorf("SendAsync during Close = %v, want client.ErrClosed", err)
		}
	}
	// Close returned after the last callback.
	queued := 0
	for i, rs := range results {
		for j, n := range rs {
			if got := n.Load(); got != 1 {
				t.Errorf("message %d of sender %d got %d callbacks, want 1", j, i, got)
			}
		}
		queued += len(rs)
	}
	t.Logf("%d messages queued before Close", queued)
}

func TestSendAsyncWithAnEndedContextQueuesNothing(t *testing.T) {
	p := newProducer(t, 1, "ended")
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	called := func(*client.ProducerMessage) { t.Error("a callback ran for a message that was not queued") }
	// The queue has room: SendAsync must still refuse, every time.
	for range 100 {
		err := p.SendAsync(ctx, &client.ProducerMessage{Topic: "ended", Value: []byte("dropped")}, called,
			func(m *client.ProducerMessage, _ error) { called(m) })
		if !errors.Is(err, context.Canceled) {
			t.Fatalf("SendAsync with a cancelled context = %v, want context.Canceled", err)
		}
	}
	m := &client.ProducerMessage{Topic: "ended", Value: []byte("stored")}
	if err := p.SendSync(context.Background(), m); err != nil {
		t.Fatal(err)
	}
	if m.GetOffset() != 0 {
		t.Errorf("first stored message at offset %d, want 0: a refused send was published", m.GetOffset())
	}
}

// The producers hand sarama the key by pointer (no allocation); the hash
// partitioner must see the same bytes as with sarama's own encoder.
func TestKeyedMessagesGoWhereSaramaPutsThem(t *testing.T) {
	const partitions = 5
	sp := newSyncProducer(t, partitions, "keyed")
	ap := newProducer(t, partitions, "keyed")
	hash := sarama.NewHashPartitioner("keyed")
	ctx := context.Background()
	for i := range 20 {
		key := fmt.Sprintf("key-%d", i)
		want, err := hash.Partition(&sarama.ProducerMessage{Key: sarama.StringEncoder(key)}, partitions)
		if err != nil {
			t.Fatal(err)
		}
		m := &client.ProducerMessage{Topic: "keyed", Key: key, Value: []byte("v")}
		if err := sp.Send(ctx, m); err != nil {
			t.Fatal(err)
		}
		a := &client.ProducerMessage{Topic: "keyed", Key: key, Value: []byte("v")}
		if err := ap.SendSync(ctx, a); err != nil {
			t.Fatal(err)
		}
		if m.GetPartition() != want || a.GetPartition() != want {
			t.Errorf("key %q went to partition %d (sync) and %d (async), sarama's hash says %d", key, m.GetPartition(), a.GetPartition(), want)
		}
	}
}

// A sync producer on a client; Send waits until the broker stored the
// message.
func ExampleSyncProducer_Send() {
	brokers, _ := kfake.NewCluster(kfake.SeedTopics(1, "events"))
	defer brokers.Close()

	c, err := client.Connect(client.Config{Addrs: brokers.ListenAddrs()})
	if err != nil {
		fmt.Println(err)
		return
	}
	defer c.Close() // last: after the producer
	p, err := client.NewSyncProducer(c)
	if err != nil {
		fmt.Println(err)
		return
	}
	defer p.Close()

	msg := &client.ProducerMessage{Topic: "events", Key: "k", Value: []byte("v")}
	if err := p.Send(context.Background(), msg); err != nil {
		fmt.Println(err)
		return
	}
	fmt.Printf("stored at %s/%d@%d\n", msg.GetTopic(), msg.GetPartition(), msg.GetOffset())

	cancelled, cancel := context.WithCancel(context.Background())
	cancel()
	err = p.Send(cancelled, &client.ProducerMessage{Topic: "events", Value: []byte("late")})
	fmt.Println(errors.Is(err, context.Canceled))
	// Output:
	// stored at events/0@0
	// true
}
