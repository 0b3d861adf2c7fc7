// Package mux shares one connection to Kafka brokers among the plugins of
// an agent: the [Multiplexer] holds one client, one producer for
// synchronous publishers, one for asynchronous ones and one member of a
// consumer group, and hands out named connections.
//
// # Usage
//
// A [BytesConnection] publishes and watches raw values, a [ProtoConnection]
// protobuf messages (binary by default, JSON with [WithJSON]):
//
//	m, err := mux.New(mux.Config{Config: client.Config{Addrs: addrs, GroupID: "agent1"}})
//	m.Start()
//	defer m.Close()
//
//	conn := m.NewProtoConnection("my-plugin")
//	pub, err := conn.NewSyncPublisher("events")
//	err = pub.Put(ctx, "key", event)
//
//	sub, err := conn.Watch(func(ctx context.Context, msg messaging.ProtoMessage) {
//		var e pb.Event
//		if err := msg.GetValue(&e); err == nil { ... }
//	}, "events")
//	defer sub.Unsubscribe()
//
// [SyncPublisher] waits for the brokers; [AsyncPublisher] queues and
// reports through callbacks. Both implement messaging.BytesPublisher (for
// []byte) or messaging.ProtoPublisher (for proto.Message). Publishers made
// ...ToPartition write to one partition; the others use the configured
// partitioner (hash of the key by default).
//
// # Lifecycle
//
// [New] checks the config; [Multiplexer.Start] connects in the background
// and retries with a capped backoff until the brokers answer, so an agent
// starts while Kafka is down. Meanwhile publishers return an error wrapping
// [ErrNotConnected], subscriptions wait, and [Multiplexer.Err] says why.
// Once connected, a periodic check that creates no topic reports the state
// of the brokers through [WithStateFunc]. [Multiplexer.Close] stops the
// subscriptions, the consumers, the producers (every queued message is
// acknowledged or failed first) and the client, in that order, and leaves
// no goroutine behind.
//
// # Delivery
//
// Topics watched with Watch are read by the consumer group
// Config.GroupID: the partitions are shared among the multiplexers of the
// group, and every subscriber of a topic in this multiplexer gets every
// message this member reads. Subscribers are called one after the other,
// in order per partition; different partitions are handled concurrently, so
// one handler may run concurrently for two partitions. The offset of a
// message is committed after every subscriber returned. A restarted member
// resumes at the last committed offset, so delivery is at least once across
// restarts; while the multiplexer lives, each message of the partitions it
// keeps is handed to its subscribers once, even when a broker crash made
// the last commits fail (see client.GroupConsumer for the exact cases where
// a message is handed again). Subscriptions can be added and removed at any
// time; the member then rejoins the group with the new topics.
//
// Nothing is dropped after a timer: a slow subscriber slows its partition
// (backpressure). Its context is done on Unsubscribe and Close, which is
// how a blocked handler knows to give up; messages it gave up on during
// Close are not committed.
//
// WatchPartition reads one partition from a chosen offset for one
// subscriber, outside the group, and commits nothing. A partition
// subscription made before the first connection is retried until it can
// start, and [Multiplexer.Err] reports it while it cannot; see
// [BytesConnection.WatchPartition].
//
// # Errors and state
//
// [Multiplexer.Err], and the function given to [WithStateFunc], report the
// brokers first, then a partition subscription that cannot be read. The
// errors sarama reports while it retries (a partition during an outage, the
// consumer group member) are logged at warning level with a backoff: the
// first at once, then at most one line per interval, from 1s doubling up
// to 1m while they go on (again from 1s after a minute without errors),
// each line counting those it stands for.
//
// Publishing resumes within about 2 s of the brokers' return: the
// producers replace their sarama producer when its circuit breaker, which
// sarama keeps open for 10 s after three failed partition lookups, fails
// messages although the brokers answer (see client.Producer).
//
// # Concurrency
//
// Everything in this package is safe for concurrent use.
package mux
