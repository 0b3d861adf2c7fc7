package bench

import (
	"context"
	"fmt"
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

// Kafka comparisons run against one in-process wire-protocol broker
// (kfake) over loopback TCP, shared by every client in the run. Every
// client waits for all in-sync replicas (acks=all), does not compress, is
// not idempotent, does not linger and partitions by key hash, so that the
// multiplexer is compared with raw sarama, its backend, under the same
// settings (sameProducerSettings checks it) and with the same messages;
// franz-go is a reference. Sizes: 100 B is a typical small event, 1 KB a larger record.
var kafkaSizes = []int{100, 1024}

var (
	brokerOnce  sync.Once
	brokerAddrs []string
)

// kafkaBroker starts the shared broker on first use. It lives as long as
// the benchmark process.
func kafkaBroker(b *testing.B) []string {
	brokerOnce.Do(func() {
		c, err := kfake.NewCluster(kfake.NumBrokers(1), kfake.AllowAutoTopicCreation(), kfake.DefaultNumPartitions(1))
		if err != nil {
			b.Fatal(err)
		}
		brokerAddrs = c.ListenAddrs()
	})
	return brokerAddrs
}

var topicSeq atomic.Int64

// freshTopic names a topic no other benchmark writes to.
func freshTopic(kind string) string {
	return fmt.Sprintf("bench-%s-%d", kind, topicSeq.Add(1))
}

// kafkaClientConfig spells out the producer settings of the multiplexer
// that matter to a comparison; saramaConfig says the same for the peer, and
// sameProducerSettings checks that they agree.
func kafkaClientConfig(addrs []string) client.Config {
	return client.Config{Addrs: addrs, GroupID: "bench", Version: "2.8.0", RequiredAcks: client.AcksAll,
		Compression: "none", Idempotent: false, Partitioner: client.PartitionerHash}
}

func newKafkaMux(b *testing.B, addrs []string) *mux.Multiplexer {
	sameProducerSettings(b, addrs)
	m, err := mux.New(mux.Config{Config: kafkaClientConfig(addrs)})
	if err != nil {
		b.Fatal(err)
	}
	m.Start()
	<-m.Ready()
	b.Cleanup(func() { _ = m.Close() })
	return m
}

func saramaConfig() *sarama.Config {
	c := sarama.NewConfig()
	c.Version = sarama.V2_8_0_0
	c.Producer.RequiredAcks = sarama.WaitForAll
	c.Producer.Compression = sarama.CompressionNone
	c.Producer.Idempotent = false
	c.Producer.Partitioner = sarama.NewHashPartitioner
	c.Producer.Return.Successes = true
	c.Producer.Return.Errors = true
	return c
}

// sameProducerSettings fails b unless the multiplexer would produce with
// the settings of the sarama peer: a ratio is only meaningful then.
func sameProducerSettings(b *testing.B, addrs []string) {
	cfg := kafkaClientConfig(addrs)
	ours, err := cfg.Sarama()
	if err != nil {
		b.Fatal(err)
	}
	peer := saramaConfig()
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
	}
	of := func(c *sarama.Config) settings {
		return settings{c.Version, c.Producer.RequiredAcks, c.Producer.Compression, c.Producer.CompressionLevel,
			c.Producer.Idempotent, c.Net.MaxOpenRequests, c.Producer.MaxMessageBytes, c.Producer.Flush,
			c.Producer.Retry.Max, c.Producer.Retry.Backoff, c.ChannelBufferSize}
	}
	if o, p := of(ours), of(peer); o != p {
		b.Fatalf("producer settings differ:\nours   %+v\nsarama %+v", o, p)
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

func newFranz(b *testing.B, addrs []string, opts ...kgo.Opt) *kgo.Client {
	opts = append([]kgo.Opt{kgo.SeedBrokers(addrs...), kgo.RequiredAcks(kgo.AllISRAcks()),
		kgo.DisableIdempotentWrite(), kgo.ProducerLinger(0), kgo.AllowAutoTopicCreation()}, opts...)
	cl, err := kgo.NewClient(opts...)
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(cl.Close)
	return cl
}

// BenchmarkKafkaSyncPublish publishes one message at a time and waits for
// its acknowledgement: the latency of one round trip plus client overhead.
func BenchmarkKafkaSyncPublish(b *testing.B) {
	addrs := kafkaBroker(b)
	ctx := context.Background()
	for _, size := range kafkaSizes {
		value := make([]byte, size)
		b.Run(fmt.Sprintf("size=%d/ours", size), func(b *testing.B) {
			m := newKafkaMux(b, addrs)
			pub, err := m.NewBytesConnection("bench").NewSyncPublisher(freshTopic("sync"))
			if err != nil {
				b.Fatal(err)
			}
			b.ReportAllocs()
			b.SetBytes(int64(size))
			for b.Loop() {
				if err := pub.Put(ctx, "key", value); err != nil {
					b.Fatal(err)
				}
			}
		})
		b.Run(fmt.Sprintf("size=%d/sarama", size), func(b *testing.B) {
			p, err := sarama.NewSyncProducer(addrs, saramaConfig())
			if err != nil {
				b.Fatal(err)
			}
			defer p.Close()
			topic := freshTopic("sync")
			b.ReportAllocs()
			b.SetBytes(int64(size))
			for b.Loop() {
				msg := &sarama.ProducerMessage{Topic: topic, Key: sarama.StringEncoder("key"), Value: sarama.ByteEncoder(value)}
				if _, _, err := p.SendMessage(msg); err != nil {
					b.Fatal(err)
				}
			}
		})
		b.Run(fmt.Sprintf("size=%d/franz-go", size), func(b *testing.B) {
			cl := newFranz(b, addrs)
			topic := freshTopic("sync")
			b.ReportAllocs()
			b.SetBytes(int64(size))
			for b.Loop() {
				if err := cl.ProduceSync(ctx, &kgo.Record{Topic: topic, Key: []byte("key"), Value: value}).FirstErr(); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkKafkaAsyncPublish queues b.N messages without waiting and then
// waits for every acknowledgement: throughput with batching.
func BenchmarkKafkaAsyncPublish(b *testing.B) {
	addrs := kafkaBroker(b)
	ctx := context.Background()
	for _, size := range kafkaSizes {
		value := make([]byte, size)
		b.Run(fmt.Sprintf("size=%d/ours", size), func(b *testing.B) {
			m := newKafkaMux(b, addrs)
			var acked atomic.Int64
			all := make(chan struct{}, 1)
			target := int64(0)
			pub, err := m.NewBytesConnection("bench").NewAsyncPublisher(freshTopic("async"),
				func(messaging.BytesMessage) {
					if acked.Add(1) == atomic.LoadInt64(&target) {
						all <- struct{}{}
					}
				},
				func(_ messaging.BytesMessage, err error) { b.Error(err) })
			if err != nil {
				b.Fatal(err)
			}
			b.ReportAllocs()
			b.SetBytes(int64(size))
			sent := int64(0)
			for b.Loop() {
				sent++
				if err := pub.Put(ctx, "key", value); err != nil {
					b.Fatal(err)
				}
			}
			atomic.StoreInt64(&target, sent)
			if acked.Load() < sent {
				<-all
			}
		})
		b.Run(fmt.Sprintf("size=%d/sarama", size), func(b *testing.B) {
			p, err := sarama.NewAsyncProducer(addrs, saramaConfig())
			if err != nil {
				b.Fatal(err)
			}
			var acked atomic.Int64
			var wg sync.WaitGroup
			wg.Add(2)
			go func() {
				defer wg.Done()
				for range p.Successes() {
					acked.Add(1)
				}
			}()
			go func() {
				defer wg.Done()
				for err := range p.Errors() {
					b.Error(err)
				}
			}()
			topic := freshTopic("async")
			b.ReportAllocs()
			b.SetBytes(int64(size))
			for b.Loop() {
				p.Input() <- &sarama.ProducerMessage{Topic: topic, Key: sarama.StringEncoder("key"), Value: sarama.ByteEncoder(value)}
			}
			// Close flushes: every success has been read when it returns.
			p.AsyncClose()
			wg.Wait()
		})
		b.Run(fmt.Sprintf("size=%d/franz-go", size), func(b *testing.B) {
			cl := newFranz(b, addrs)
			topic := freshTopic("async")
			b.ReportAllocs()
			b.SetBytes(int64(size))
			for b.Loop() {
				cl.Produce(ctx, &kgo.Record{Topic: topic, Key: []byte("key"), Value: value}, func(_ *kgo.Record, err error) {
					if err != nil {
						b.Error(err)
					}
				})
			}
			if err := cl.Flush(ctx); err != nil {
				b.Fatal(err)
			}
		})
	}
}

// consumeBatch is how many messages one consume iteration reads.
const consumeBatch = 5000

// filledTopic returns a one-partition topic holding consumeBatch messages of
// size bytes.
func filledTopic(b *testing.B, addrs []string, size int) string {
	topic := freshTopic("consume")
	cl := newFranz(b, addrs)
	value := make([]byte, size)
	ctx := context.Background()
	for range consumeBatch {
		cl.Produce(ctx, &kgo.Record{Topic: topic, Value: value}, nil)
	}
	if err := cl.Flush(ctx); err != nil {
		b.Fatal(err)
	}
	return topic
}

// BenchmarkKafkaConsume reads a partition of consumeBatch messages from the
// start; one operation is the whole batch.
func BenchmarkKafkaConsume(b *testing.B) {
	addrs := kafkaBroker(b)
	for _, size := range kafkaSizes {
		topic := filledTopic(b, addrs, size)
		b.Run(fmt.Sprintf("size=%d/ours", size), func(b *testing.B) {
			m := newKafkaMux(b, addrs)
			conn := m.NewBytesConnection("bench")
			b.ReportAllocs()
			for b.Loop() {
				done := make(chan struct{})
				n := 0
				sub, err := conn.WatchPartition(func(_ context.Context, msg messaging.BytesMessage) {
					if n++; n == consumeBatch {
						close(done)
					}
				}, topic, 0, client.Oldest)
				if err != nil {
					b.Fatal(err)
				}
				<-done
				sub.Unsubscribe()
			}
			b.ReportMetric(float64(consumeBatch*b.N)/b.Elapsed().Seconds(), "msgs/s")
		})
		b.Run(fmt.Sprintf("size=%d/sarama", size), func(b *testing.B) {
			c, err := sarama.NewClient(addrs, saramaConfig())
			if err != nil {
				b.Fatal(err)
			}
			defer c.Close()
			b.ReportAllocs()
			for b.Loop() {
				consumer, err := sarama.NewConsumerFromClient(c)
				if err != nil {
					b.Fatal(err)
				}
				pc, err := consumer.ConsumePartition(topic, 0, sarama.OffsetOldest)
				if err != nil {
					b.Fatal(err)
				}
				for range consumeBatch {
					<-pc.Messages()
				}
				pc.Close()
				consumer.Close()
			}
			b.ReportMetric(float64(consumeBatch*b.N)/b.Elapsed().Seconds(), "msgs/s")
		})
		b.Run(fmt.Sprintf("size=%d/franz-go", size), func(b *testing.B) {
			ctx := context.Background()
			b.ReportAllocs()
			for b.Loop() {
				cl, err := kgo.NewClient(kgo.SeedBrokers(addrs...),
					kgo.ConsumePartitions(map[string]map[int32]kgo.Offset{topic: {0: kgo.NewOffset().AtStart()}}))
				if err != nil {
					b.Fatal(err)
				}
				for n := 0; n < consumeBatch; {
					fs := cl.PollFetches(ctx)
					if err := fs.Err0(); err != nil {
						b.Fatal(err)
					}
					n += fs.NumRecords()
				}
				cl.Close()
			}
			b.ReportMetric(float64(consumeBatch*b.N)/b.Elapsed().Seconds(), "msgs/s")
		})
	}
}
