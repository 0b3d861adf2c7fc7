package kafka

import (
	"google.golang.org/protobuf/proto"

	"github.com/plinth-go/plinth/messaging"
	"github.com/plinth-go/plinth/messaging/kafka/mux"
)

// The cn-infra names of the Kafka plugin's publishers and watchers. Each
// opens a connection named connName (or name) for protobuf messages, in the
// binary wire format, and forwards to it; connections need not have distinct
// names. For JSON, or for bytes, use NewProtoConnection with mux.WithJSON or
// NewBytesConnection. Like them, they must be called after Init.

// NewSyncPublisher is the cn-infra name of
// NewProtoConnection(connName).NewSyncPublisher(topic).
func (p *Plugin) NewSyncPublisher(connName, topic string) (*mux.SyncPublisher[proto.Message], error) {
	return p.NewProtoConnection(connName).NewSyncPublisher(topic)
}

// NewSyncPublisherToPartition is the cn-infra name of
// NewProtoConnection(connName).NewSyncPublisherToPartition(topic, partition).
func (p *Plugin) NewSyncPublisherToPartition(connName, topic string, partition int32) (*mux.SyncPublisher[proto.Message], error) {
	return p.NewProtoConnection(connName).NewSyncPublisherToPartition(topic, partition)
}

// NewAsyncPublisher is the cn-infra name of
// NewProtoConnection(connName).NewAsyncPublisher(topic, onSuccess, onError).
// Either callback may be nil.
func (p *Plugin) NewAsyncPublisher(connName, topic string, onSuccess func(messaging.BytesMessage), onError func(messaging.BytesMessage, error)) (*mux.AsyncPublisher[proto.Message], error) {
	return p.NewProtoConnection(connName).NewAsyncPublisher(topic, onSuccess, onError)
}

// NewAsyncPublisherToPartition is the cn-infra name of
// NewProtoConnection(connName).NewAsyncPublisherToPartition(topic, partition,
// onSuccess, onError). Either callback may be nil.
func (p *Plugin) NewAsyncPublisherToPartition(connName, topic string, partition int32, onSuccess func(messaging.BytesMessage), onError func(messaging.BytesMessage, error)) (*mux.AsyncPublisher[proto.Message], error) {
	return p.NewProtoConnection(connName).NewAsyncPublisherToPartition(topic, partition, onSuccess, onError)
}

// NewWatcher is the cn-infra name of NewProtoConnection(name): its Watch and
// WatchPartition subscribe handlers of protobuf messages.
func (p *Plugin) NewWatcher(name string) *mux.Connection {
	return p.NewProtoConnection(name)
}

// NewPartitionWatcher is the cn-infra name of NewProtoConnection(name), for
// its WatchPartition.
func (p *Plugin) NewPartitionWatcher(name string) *mux.Connection {
	return p.NewProtoConnection(name)
}
