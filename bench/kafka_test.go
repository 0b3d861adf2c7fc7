package bench

import (
	"bufio"
	"context"
	"encoding/binary"
	"fmt"
	"io"
	"os"
	"os/exec"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/IBM/sarama"
	"github.com/twmb/franz-go/pkg/kfake"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/plinth-go/plinth/messaging"
	"github.com/plinth-go/plinth/messaging/kafka/client"
	"github.com/plinth-go/plinth/messaging/kafka/mux"
)

// Kafka comparisons run against one broker, franz-go's kfake (a
// wire-protocol fake), in a process of its own reached over loopback TCP:
// its CPU and its garbage (every message of the run) stay out of the
// measured process, so cpu-ns/op is the client's alone. Every sample gets
// topics of one partition made for it, and warms its client up before the
// timer starts: the first message of a producer fetches the metadata and
// opens the connection, a consumer has joined its group.
//
// The sides are Plinth's multiplexer ("ours"), raw sarama (its backend) and
// franz-go as a reference, with the settings below. Ours and sarama are
// checked equal by sameSettings; franz-go's are set to match where it has
// the setting (its defaults differ where noted).
//
//	producer             ours, sarama v1.61.1                franz-go kgo v1.22.3
//	acks                 all (WaitForAll)                    all (default)
//	compression          none                                none (default snappy, then none)
//	idempotent           no                                  no (default yes)
//	requests in flight   5 per broker (Net.MaxOpenRequests)  5 (default 1)
//	linger               0: sent as soon as possible         0 (default 10ms)
//	batch triggers       none (Flush.Messages, Flush.Bytes)  none
//	largest batch        1,000,000 bytes                     1,000,012 bytes (default)
//	buffering            channels of 256 per stage           at most 50,000 records (default)
//	partitioner          hash of the key                     sticky hash of the key (one partition here)
//
//	consumer             ours, sarama                        franz-go
//	fetch                at least 1 byte, up to 1 MiB per partition, wait at most 500ms
//	                                                         same (default wait 5s)
//	buffering            channels of 256 per stage           one fetch per broker
//	group                range balancer, session 10s,        same (default cooperative-sticky,
//	                     heartbeat 3s, commit every 1s       session 45s, commit every 5s)
//
// Sizes: 100 B is a typical small event, 1 KB a larger record.
var kafkaSizes = []int{100, 1024}

// kafkaBrokerEnv makes a test binary run TestKafkaBenchBroker as the
// broker of the Kafka benchmarks.
const kafkaBrokerEnv = "PLINTH_BENCH_KAFKA_BROKER"

// TestKafkaBenchBroker is not a test: it is the broker process the Kafka
// benchmarks start (kafkaBroker). It runs until its stdin ends, which
// happens when the benchmark process exits, however it exits.
func TestKafkaBenchBroker(t *testing.T) {
	if os.Getenv(kafkaBrokerEnv) == "" {
		t.Skip("the broker process of the Kafka benchmarks, started by them")
	}
	c, err := kfake.NewCluster(kfake.NumBrokers(1), kfake.DefaultNumPartitions(1))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	fmt.Printf("ready %s\n", strings.Join(c.ListenAddrs(), ","))
	_, _ = io.Copy(io.Discard, os.Stdin)
}

var kafkaProc struct {
	once  sync.Once
	addrs []string
	admin sarama.ClusterAdmin
	stdin io.WriteCloser // held open for the life of the process
	err   error
}

// kafkaBroker starts the broker process on first use and returns its
// addresses. It lives as long as the benchmark process.
func kafkaBroker(b *testing.B) []string {
	b.Helper()
	kafkaProc.once.Do(func() { kafkaProc.err = startKafkaBroker() })
	if kafkaProc.err != nil {
		b.Fatal(kafkaProc.err)
	}
	return kafkaProc.addrs
}

func startKafkaBroker() error {
	self, err := os.Executable()
	if err != nil {
		return err
	}
	cmd := exec.Command(self, "-test.run=^TestKafkaBenchBroker$", "-test.bench=^$")
	cmd.Env = append(os.Environ(), kafkaBrokerEnv+"=1")
	cmd.Stderr = os.Stderr
	if kafkaProc.stdin, err = cmd.StdinPipe(); err != nil {
		return err
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		return err
	}
	if err := cmd.Start(); err != nil {
		return err
	}
	out := bufio.NewReader(stdout)
	line, err := out.ReadString('\n')
	if !strings.HasPrefix(line, "ready ") {
		_ = cmd.Process.Kill()
		return fmt.Errorf("kafka broker process: want a ready line, got %q (%v)", line, err)
	}
	go func() { _, _ = io.Copy(io.Discard, out) }()
	kafkaProc.addrs = strings.Split(strings.TrimSpace(strings.TrimPrefix(line, "ready ")), ",")
	kafkaProc.admin, err = sarama.NewClusterAdmin(kafkaProc.addrs, saramaConfig(0))
	return err
}

var kafkaTopicSeq atomic.Int64

// newKafkaTopic creates a topic of one partition for one run of a benchmark
// function and deletes it when the run ends.
func newKafkaTopic(b *testing.B, kind string) string {
	b.Helper()
	topic := fmt.Sprintf("bench-%s-%d", kind, kafkaTopicSeq.Add(1))
	if err := kafkaProc.admin.CreateTopic(topic, &sarama.TopicDetail{NumPartitions: 1, ReplicationFactor: 1}, false); err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() {
		if err := kafkaProc.admin.DeleteTopic(topic); err != nil {
			b.Error(err)
		}
	})
	return topic
}

// kafkaClientConfig spells out the settings of the multiplexer that matter
// to a comparison; saramaConfig says the same for the peer, and
// sameSettings checks that they agree.
func kafkaClientConfig(addrs []string, group string, linger time.Duration) client.Config {
	return client.Config{Addrs: addrs, GroupID: group, Version: "2.8.0", RequiredAcks: client.AcksAll,
		Compression: "none", Idempotent: false, Partitioner: client.PartitionerHash,
		InitialOffset: client.OffsetOldest, Linger: linger}
}

// newKafkaMux returns a connected multiplexer, closed when the run ends.
func newKafkaMux(b *testing.B, addrs []string, group string, linger time.Duration) *mux.Multiplexer {
	b.Helper()
	sameSettings(b, kafkaClientConfig(addrs, group, linger), saramaConfig(linger))
	m, err := mux.New(mux.Config{Config: kafkaClientConfig(addrs, group, linger)})
	if err != nil {
		b.Fatal(err)
	}
	m.Start()
	<-m.Ready()
	b.Cleanup(func() {
		if err := m.Close(); err != nil {
			b.Error(err)
		}
	})
	return m
}

func saramaConfig(linger time.Duration) *sarama.Config {
	c := sarama.NewConfig()
	c.Version = sarama.V2_8_0_0
	c.Producer.RequiredAcks = sarama.WaitForAll
	c.Producer.Compression = sarama.CompressionNone
	c.Producer.Idempotent = false
	c.Producer.Partitioner = sarama.NewHashPartitioner
	c.Producer.Flush.Frequency = linger
	c.Producer.Return.Successes = true
	c.Producer.Return.Errors = true
	c.Consumer.Offsets.Initial = sarama.OffsetOldest
	c.Consumer.Return.Errors = true
	return c
}

// sameSettings fails b unless the multiplexer would produce and consume
// with the settings of the sarama peer: a ratio is only meaningful then.
func sameSettings(b *testing.B, cfg client.Config, peer *sarama.Config) {
	b.Helper()
	ours, err := cfg.Sarama()
	if err != nil {
		b.Fatal(err)
	}
	type settings struct {
		Version         sarama.KafkaVersion
		Acks            sarama.RequiredAcks
		Compression     sarama.CompressionCodec
		Level           int
		Idempotent      bool
		MaxOpenRequests int
		MaxMessageBytes int
		Flush           any
		Retries         int
		RetryBackoff    time.Duration
		Buffer          int
		Fetch           any
		MaxWait         time.Duration
		Initial         int64
		AutoCommit      any
		Session         time.Duration
		Heartbeat       time.Duration
		Strategies      string
		Isolation       sarama.IsolationLevel
	}
	of := func(c *sarama.Config) settings {
		var strategies []string
		for _, s := range c.Consumer.Group.Rebalance.GroupStrategies {
			strategies = append(strategies, s.Name())
		}
		return settings{c.Version, c.Producer.RequiredAcks, c.Producer.Compression, c.Producer.CompressionLevel,
			c.Producer.Idempotent, c.Net.MaxOpenRequests, c.Producer.MaxMessageBytes, c.Producer.Flush,
			c.Producer.Retry.Max, c.Producer.Retry.Backoff, c.ChannelBufferSize,
			c.Consumer.Fetch, c.Consumer.MaxWaitTime, c.Consumer.Offsets.Initial, c.Consumer.Offsets.AutoCommit,
			c.Consumer.Group.Session.Timeout, c.Consumer.Group.Heartbeat.Interval, strings.Join(strategies, ","),
			c.Consumer.IsolationLevel}
	}
	if o, p := of(ours), of(peer); o != p {
		b.Fatalf("settings differ:\nours   %+v\nsarama %+v", o, p)
	}
	// The multiplexer wraps the hash partitioner to honour partitions chosen
	// per publisher; for other messages it must choose as sarama's does.
	op, pp := ours.Producer.Partitioner("t"), peer.Producer.Partitioner("t")
	for _, key := range []string{"key", "a", "b", "another key"} {
		msg := &sarama.ProducerMessage{Topic: "t", Key: sarama.StringEncoder(key)}
		o, err1 := op.Partition(msg, 7)
		p, err2 := pp.Partition(msg, 7)
		if o != p || err1 != nil || err2 != nil {
			b.Fatalf("partition of key %q: ours %d (%v), sarama %d (%v)", key, o, err1, p, err2)
		}
	}
}

// newFranz returns a franz-go client with the producer settings of the
// table above, closed when the run ends.
func newFranz(b *testing.B, addrs []string, linger time.Duration, opts ...kgo.Opt) *kgo.Client {
	b.Helper()
	opts = append([]kgo.Opt{kgo.SeedBrokers(addrs...), kgo.RequiredAcks(kgo.AllISRAcks()),
		kgo.ProducerBatchCompression(kgo.NoCompression()), kgo.DisableIdempotentWrite(),
		kgo.MaxProduceRequestsInflightPerBroker(5), kgo.ProducerLinger(linger)}, opts...)
	cl, err := kgo.NewClient(opts...)
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(cl.Close)
	return cl
}

// newSaramaAsync returns a sarama AsyncProducer whose successes and errors
// go to onResult, closed (after its last result) when the run ends.
func newSaramaAsync(b *testing.B, addrs []string, linger time.Duration, onResult func(*sarama.ProducerMessage, error)) sarama.AsyncProducer {
	b.Helper()
	p, err := sarama.NewAsyncProducer(addrs, saramaConfig(linger))
	if err != nil {
		b.Fatal(err)
	}
	var wg sync.WaitGroup
	wg.Go(func() {
		for m := range p.Successes() {
			onResult(m, nil)
		}
	})
	wg.Go(func() {
		for e := range p.Errors() {
			onResult(e.Msg, e.Err)
		}
	})
	b.Cleanup(func() {
		p.AsyncClose()
		wg.Wait()
	})
	return p
}

// kafkaAcks counts acknowledgements (and failures, which fail b) and
// waits for a number of them. Every side acknowledges through one, so that
// each pays the same for it.
type kafkaAcks struct {
	b      *testing.B
	mu     sync.Mutex
	n      int64
	target int64
	done   chan struct{}
}

func (a *kafkaAcks) ack(err error) {
	if err != nil {
		a.b.Error(err)
	}
	a.mu.Lock()
	a.n++
	if a.n == a.target {
		close(a.done)
	}
	a.mu.Unlock()
}

// wait returns once n results arrived in all.
func (a *kafkaAcks) wait(n int64) {
	a.mu.Lock()
	if a.n >= n {
		a.mu.Unlock()
		return
	}
	a.target, a.done = n, make(chan struct{})
	done := a.done
	a.mu.Unlock()
	<-done
}

// BenchmarkKafkaSyncPublish publishes one message at a time and waits for
// its acknowledgement: the latency of one round trip plus client overhead.
// The timer covers, per operation, building the message and sending it
// until the broker acknowledged it, on every side.
func BenchmarkKafkaSyncPublish(b *testing.B) {
	addrs := kafkaBroker(b)
	ctx := context.Background()
	for _, size := range kafkaSizes {
		value := make([]byte, size)
		b.Run(fmt.Sprintf("size=%d", size), func(b *testing.B) {
			interleave(b,
				side{"ours", func(b *testing.B) {
					topic := newKafkaTopic(b, "sync")
					pub, err := newKafkaMux(b, addrs, "bench", 0).NewBytesConnection("bench").NewSyncPublisher(topic)
					if err != nil {
						b.Fatal(err)
					}
					timeEachSend(b, size, func() {
						if err := pub.Put(ctx, "key", value); err != nil {
							b.Fatal(err)
						}
					})
				}},
				side{"sarama", func(b *testing.B) {
					topic := newKafkaTopic(b, "sync")
					p, err := sarama.NewSyncProducer(addrs, saramaConfig(0))
					if err != nil {
						b.Fatal(err)
					}
					b.Cleanup(func() { _ = p.Close() })
					timeEachSend(b, size, func() {
						msg := &sarama.ProducerMessage{Topic: topic, Key: sarama.StringEncoder("key"), Value: sarama.ByteEncoder(value)}
						if _, _, err := p.SendMessage(msg); err != nil {
							b.Fatal(err)
						}
					})
				}},
				side{"franz-go", func(b *testing.B) {
					topic := newKafkaTopic(b, "sync")
					cl := newFranz(b, addrs, 0)
					timeEachSend(b, size, func() {
						if err := cl.ProduceSync(ctx, &kgo.Record{Topic: topic, Key: []byte("key"), Value: value}).FirstErr(); err != nil {
							b.Fatal(err)
						}
					})
				}},
			)
		})
	}
}

// timeEachSend sends once untimed (the warm-up), then times send per operation.
func timeEachSend(b *testing.B, size int, send func()) {
	send()
	b.ReportAllocs()
	b.SetBytes(int64(size))
	cpu := startCPU()
	for b.Loop() {
		send()
	}
	cpu.report(b)
}

// BenchmarkKafkaAsyncPublish queues b.N messages without waiting and then
// waits until the last is acknowledged: throughput with batching. The timer
// covers every message from the call that queues it to its
// acknowledgement, on every side; the producer is closed after the timer
// stopped.
func BenchmarkKafkaAsyncPublish(b *testing.B) {
	addrs := kafkaBroker(b)
	ctx := context.Background()
	for _, size := range kafkaSizes {
		value := make([]byte, size)
		b.Run(fmt.Sprintf("size=%d", size), func(b *testing.B) {
			interleave(b,
				side{"ours", func(b *testing.B) {
					topic := newKafkaTopic(b, "async")
					a := &kafkaAcks{b: b}
					pub, err := newKafkaMux(b, addrs, "bench", 0).NewBytesConnection("bench").NewAsyncPublisher(topic,
						func(messaging.BytesMessage) { a.ack(nil) },
						func(_ messaging.BytesMessage, err error) { a.ack(err) })
					if err != nil {
						b.Fatal(err)
					}
					timeUntilAcked(b, size, a, func() {
						if err := pub.Put(ctx, "key", value); err != nil {
							b.Fatal(err)
						}
					})
				}},
				side{"sarama", func(b *testing.B) {
					topic := newKafkaTopic(b, "async")
					a := &kafkaAcks{b: b}
					p := newSaramaAsync(b, addrs, 0, func(_ *sarama.ProducerMessage, err error) { a.ack(err) })
					timeUntilAcked(b, size, a, func() {
						p.Input() <- &sarama.ProducerMessage{Topic: topic, Key: sarama.StringEncoder("key"), Value: sarama.ByteEncoder(value)}
					})
				}},
				side{"franz-go", func(b *testing.B) {
					topic := newKafkaTopic(b, "async")
					a := &kafkaAcks{b: b}
					cl := newFranz(b, addrs, 0)
					done := func(_ *kgo.Record, err error) { a.ack(err) }
					timeUntilAcked(b, size, a, func() {
						cl.Produce(ctx, &kgo.Record{Topic: topic, Key: []byte("key"), Value: value}, done)
					})
				}},
			)
		})
	}
}

// timeUntilAcked sends a warm-up message and waits for it untimed, then
// times sending b.N messages and waiting for their acknowledgements. It
// loops over b.N rather than b.Loop, whose end would stop the timer before
// the wait.
func timeUntilAcked(b *testing.B, size int, a *kafkaAcks, send func()) {
	send()
	a.wait(1)
	b.ReportAllocs()
	b.SetBytes(int64(size))
	b.ResetTimer()
	cpu := startCPU()
	for range b.N {
		send()
	}
	a.wait(1 + int64(b.N))
	b.StopTimer()
	cpu.report(b)
}

// kafkaConsumeTopics holds, per message size, a topic that every consume
// sample reads from its start with a group of its own; it grows to the
// largest b.N asked for, so that samples do not each write their messages
// again.
var kafkaConsumeTopics struct {
	mu     sync.Mutex
	bySize map[int]*kafkaFilledTopic
}

type kafkaFilledTopic struct {
	name string
	n    int
}

// kafkaTopicWith returns a topic holding at least n messages of size bytes.
func kafkaTopicWith(b *testing.B, addrs []string, size, n int) string {
	b.Helper()
	kafkaConsumeTopics.mu.Lock()
	defer kafkaConsumeTopics.mu.Unlock()
	if kafkaConsumeTopics.bySize == nil {
		kafkaConsumeTopics.bySize = map[int]*kafkaFilledTopic{}
	}
	t := kafkaConsumeTopics.bySize[size]
	if t == nil {
		t = &kafkaFilledTopic{name: fmt.Sprintf("bench-consume-%d", size)}
		if err := kafkaProc.admin.CreateTopic(t.name, &sarama.TopicDetail{NumPartitions: 1, ReplicationFactor: 1}, false); err != nil {
			b.Fatal(err)
		}
		kafkaConsumeTopics.bySize[size] = t
	}
	if t.n >= n {
		return t.name
	}
	cl, err := kgo.NewClient(kgo.SeedBrokers(addrs...), kgo.ProducerBatchCompression(kgo.NoCompression()),
		kgo.DisableIdempotentWrite(), kgo.MaxProduceRequestsInflightPerBroker(5), kgo.ProducerLinger(0))
	if err != nil {
		b.Fatal(err)
	}
	defer cl.Close()
	value := make([]byte, size)
	ctx := context.Background()
	for ; t.n < n; t.n++ {
		cl.Produce(ctx, &kgo.Record{Topic: t.name, Value: value}, func(_ *kgo.Record, err error) {
			if err != nil {
				b.Error(err)
			}
		})
	}
	if err := cl.Flush(ctx); err != nil {
		b.Fatal(err)
	}
	return t.name
}

var kafkaGroupSeq atomic.Int64

func newKafkaGroup() string { return fmt.Sprintf("bench-%d", kafkaGroupSeq.Add(1)) }

// kafkaConsumed counts what a consumer handled. The first message is the
// warm-up: it proves that the member joined its group and reads the
// partition, and holds the consumer there until the timer starts.
type kafkaConsumed struct {
	n       atomic.Int64
	last    int64
	joined  chan struct{}
	start   chan struct{}
	release sync.Once
	done    chan struct{}
}

// newKafkaConsumed expects a warm-up and then n timed messages.
func newKafkaConsumed(n int) *kafkaConsumed {
	return &kafkaConsumed{last: 1 + int64(n), joined: make(chan struct{}), start: make(chan struct{}), done: make(chan struct{})}
}

// begin lets the consumer go on from the warm-up.
func (c *kafkaConsumed) begin() { c.release.Do(func() { close(c.start) }) }

func (c *kafkaConsumed) handle() {
	switch c.n.Add(1) {
	case 1:
		close(c.joined)
		<-c.start
	case c.last:
		close(c.done)
	}
}

// time waits until the consumer joined, then times b.N messages.
func (c *kafkaConsumed) time(b *testing.B, size int) {
	// Registered last, so run first: a consumer held at the warm-up would
	// keep its Close waiting.
	b.Cleanup(c.begin)
	select {
	case <-c.joined:
	case <-time.After(time.Minute):
		b.Fatal("the consumer did not join its group within a minute")
	}
	b.ReportAllocs()
	b.SetBytes(int64(size))
	b.ResetTimer()
	cpu := startCPU()
	c.begin()
	<-c.done
	b.StopTimer()
	cpu.report(b)
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "msgs/s")
}

// BenchmarkKafkaConsume reads a partition as a member of a consumer group:
// steady-state throughput, one operation per message. Each sample joins a
// new group before the timer starts, and is held at the first message; the
// timer covers the next b.N messages handed to a handler that counts them,
// which marks each for the auto-commit (as ours does). The consumer is
// closed after the timer stopped. When the timer starts, each side may have
// fetched up to 1 MiB ahead, as it would while running.
func BenchmarkKafkaConsume(b *testing.B) {
	addrs := kafkaBroker(b)
	for _, size := range kafkaSizes {
		b.Run(fmt.Sprintf("size=%d", size), func(b *testing.B) {
			interleave(b,
				side{"ours", func(b *testing.B) {
					topic := kafkaTopicWith(b, addrs, size, 1+b.N)
					c := newKafkaConsumed(b.N)
					m := newKafkaMux(b, addrs, newKafkaGroup(), 0)
					if _, err := m.NewBytesConnection("bench").Watch(func(context.Context, messaging.BytesMessage) { c.handle() }, topic); err != nil {
						b.Fatal(err)
					}
					c.time(b, size)
				}},
				side{"sarama", func(b *testing.B) {
					topic := kafkaTopicWith(b, addrs, size, 1+b.N)
					c := newKafkaConsumed(b.N)
					g, err := sarama.NewConsumerGroup(addrs, newKafkaGroup(), saramaConfig(0))
					if err != nil {
						b.Fatal(err)
					}
					ctx, cancel := context.WithCancel(context.Background())
					var wg sync.WaitGroup
					wg.Go(func() {
						for ctx.Err() == nil {
							if err := g.Consume(ctx, []string{topic}, saramaHandler(c.handle)); err != nil {
								b.Error(err)
								return
							}
						}
					})
					wg.Go(func() {
						for err := range g.Errors() {
							b.Error(err)
						}
					})
					b.Cleanup(func() {
						cancel()
						if err := g.Close(); err != nil {
							b.Error(err)
						}
						wg.Wait()
					})
					c.time(b, size)
				}},
				side{"franz-go", func(b *testing.B) {
					topic := kafkaTopicWith(b, addrs, size, 1+b.N)
					cl := newFranz(b, addrs, 0, kgo.ConsumerGroup(newKafkaGroup()), kgo.ConsumeTopics(topic),
						kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()), kgo.FetchMaxWait(500*time.Millisecond),
						kgo.FetchMaxPartitionBytes(1<<20), kgo.Balancers(kgo.RangeBalancer()),
						kgo.SessionTimeout(10*time.Second), kgo.HeartbeatInterval(3*time.Second),
						kgo.AutoCommitInterval(time.Second))
					c := newKafkaConsumed(b.N)
					// kgo hands fetched records to the caller instead of
					// calling a handler: this goroutine polls and hands
					// each record to the same counting handler.
					ctx, cancel := context.WithCancel(context.Background())
					var wg sync.WaitGroup
					wg.Go(func() {
						for c.n.Load() < c.last {
							fs := cl.PollRecords(ctx, int(c.last-c.n.Load()))
							if err := fs.Err0(); err != nil {
								if ctx.Err() == nil {
									b.Error(err)
								}
								return
							}
							fs.EachRecord(func(*kgo.Record) { c.handle() })
						}
					})
					b.Cleanup(func() {
						cancel()
						wg.Wait()
					})
					c.time(b, size)
				}},
			)
		})
	}
}

// saramaHandler is the usual sarama group handler: it hands each message
// to handle and marks it, and returns when the session ends.
type saramaHandler func()

func (saramaHandler) Setup(sarama.ConsumerGroupSession) error   { return nil }
func (saramaHandler) Cleanup(sarama.ConsumerGroupSession) error { return nil }
func (h saramaHandler) ConsumeClaim(s sarama.ConsumerGroupSession, claim sarama.ConsumerGroupClaim) error {
	for {
		select {
		case m, ok := <-claim.Messages():
			if !ok {
				return nil
			}
			h()
			s.MarkMessage(m, "")
		case <-s.Context().Done():
			return nil
		}
	}
}

// pacedRate is the rate of BenchmarkKafkaPacedPublish, and pacedLingers
// the lingers it compares.
const pacedRate = 10000

var pacedLingers = []time.Duration{0, 5 * time.Millisecond}

// BenchmarkKafkaPacedPublish publishes 100 B messages asynchronously at
// pacedRate messages per second, as an agent with steady traffic does,
// with each linger: it measures the CPU the client spends per message
// (cpu-ns/op, over the sends and until the last acknowledgement) and the
// time from the send of a message to its acknowledgement (p50-ack-us,
// p99-ack-us). ns/op is the pace, not a cost. Go's timers wake about once
// a millisecond, so messages leave in bursts of about ten every millisecond
// (spinning to pace them finer would burn the CPU being measured).
func BenchmarkKafkaPacedPublish(b *testing.B) {
	addrs := kafkaBroker(b)
	ctx := context.Background()
	const size = 100
	for _, linger := range pacedLingers {
		b.Run(fmt.Sprintf("rate=%d/linger=%s", pacedRate, linger), func(b *testing.B) {
			interleave(b,
				side{"ours", func(b *testing.B) {
					topic := newKafkaTopic(b, "paced")
					l := newKafkaLatencies(b)
					pub, err := newKafkaMux(b, addrs, "bench", linger).NewBytesConnection("bench").NewAsyncPublisher(topic,
						func(m messaging.BytesMessage) { l.ack(m.GetValue(), nil) },
						func(m messaging.BytesMessage, err error) { l.ack(m.GetValue(), err) })
					if err != nil {
						b.Fatal(err)
					}
					l.time(b, size, func(v []byte) {
						if err := pub.Put(ctx, "key", v); err != nil {
							b.Fatal(err)
						}
					})
				}},
				side{"sarama", func(b *testing.B) {
					topic := newKafkaTopic(b, "paced")
					l := newKafkaLatencies(b)
					p := newSaramaAsync(b, addrs, linger, func(m *sarama.ProducerMessage, err error) {
						l.ack(m.Value.(sarama.ByteEncoder), err)
					})
					l.time(b, size, func(v []byte) {
						p.Input() <- &sarama.ProducerMessage{Topic: topic, Key: sarama.StringEncoder("key"), Value: sarama.ByteEncoder(v)}
					})
				}},
			)
		})
	}
}

// kafkaLatencies records, per acknowledged message, the time since its send,
// which the message carries in its first 8 bytes.
type kafkaLatencies struct {
	kafkaAcks
	base  time.Time
	allMu sync.Mutex // guards all
	all   []time.Duration
}

func newKafkaLatencies(b *testing.B) *kafkaLatencies {
	return &kafkaLatencies{kafkaAcks: kafkaAcks{b: b}, base: time.Now()}
}

func (l *kafkaLatencies) stamp(v []byte) {
	binary.LittleEndian.PutUint64(v, uint64(time.Since(l.base)))
}

func (l *kafkaLatencies) ack(v []byte, err error) {
	d := time.Since(l.base) - time.Duration(binary.LittleEndian.Uint64(v))
	l.allMu.Lock()
	l.all = append(l.all, d)
	l.allMu.Unlock()
	l.kafkaAcks.ack(err)
}

// time sends a warm-up message and waits for it, then sends one message
// per operation at pacedRate, waits for every acknowledgement and reports
// the CPU and latency metrics.
func (l *kafkaLatencies) time(b *testing.B, size int, send func([]byte)) {
	warm := make([]byte, size)
	l.stamp(warm)
	send(warm)
	l.wait(1)
	b.ReportAllocs()
	cpu := startCPU()
	interval := time.Second / pacedRate
	var start time.Time
	var sent int64
	for b.Loop() {
		if sent == 0 {
			start = time.Now()
		}
		if d := time.Until(start.Add(time.Duration(sent) * interval)); d > 0 {
			time.Sleep(d)
		}
		sent++
		v := make([]byte, size)
		l.stamp(v)
		send(v)
	}
	l.wait(1 + sent)
	cpu.report(b)
	l.allMu.Lock()
	all := slices.Clone(l.all[1:])
	l.allMu.Unlock()
	slices.Sort(all)
	b.ReportMetric(float64(all[len(all)/2].Microseconds()), "p50-ack-us")
	b.ReportMetric(float64(all[len(all)*99/100].Microseconds()), "p99-ack-us")
}
