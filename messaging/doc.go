// Package messaging defines the publish and subscribe API that plugins use
// to exchange messages, independent of the broker that carries them.
//
// A publisher puts values under a key on one topic: [BytesPublisher] for raw
// bytes, [ProtoPublisher] for protobuf messages. A subscriber registers a
// handler for one or more topics and gets a [Subscription] back; the handler
// receives every message as a [BytesMessage] or a [ProtoMessage], which
// carry the key, the value, the topic, the partition, the offset, the headers
// and the timestamp.
//
// Package messaging/kafka/mux implements this API on Kafka, and package
// messaging/kafka makes it available to the plugins of an agent.
//
// # Delivery
//
// An implementation documents its guarantees. The Kafka multiplexer calls
// handlers in order per topic partition, gives every subscriber of a topic
// every message, and never drops a message after a timer: a slow handler
// slows the consumption of its partition (backpressure). The context given
// to a handler is done when its subscription stops; a handler that waits
// for something else should wait for that context too, as [ToBytesChan] and
// [ToProtoChan] do.
//
// # Concurrency
//
// Every interface of this package is meant to be safe for concurrent use,
// except the messages, which belong to the handler that receives them.
package messaging
