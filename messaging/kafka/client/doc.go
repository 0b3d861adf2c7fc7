// Package client wraps the sarama Kafka client in producers and consumers
// that are hard to misuse: a [Producer] that reads its own results, so
// nothing deadlocks when nobody reads them; a [SyncProducer] that waits for
// each message at the cost of sarama alone; a [GroupConsumer] that commits
// offsets only after the handler returned, resumes where its handler
// stopped when a commit was lost, and follows topic changes; and a
// [PartitionConsumer] for one partition from a chosen offset, which reads
// sarama's errors for its whole life so that no number of broker outages
// stops it. The producers replace their sarama producer when its circuit
// breaker keeps failing messages after the brokers are back (see Renewal in
// [Producer]).
//
// # Usage
//
// [Config] holds the settings a user writes in kafka.conf; [Connect] opens
// the sarama client that the producers and consumers share:
//
//	c, err := client.Connect(client.Config{Addrs: []string{"127.0.0.1:9092"}})
//	p, err := client.NewSyncProducer(c)
//	err = p.Send(ctx, &client.ProducerMessage{Topic: "t", Key: "k", Value: v})
//
// Most programs use package messaging/kafka/mux instead, which shares one
// client among many publishers and subscribers and reconnects by itself.
//
// # Lifecycle
//
// Close consumers, then producers, then the client. Every Close waits for the
// goroutines it owns; none outlives it.
//
// # Concurrency
//
// Producers and consumers are safe for concurrent use. Handlers and
// callbacks run on goroutines of the package and should return quickly; a
// slow handler slows its partition and never causes a message to be dropped.
package client
