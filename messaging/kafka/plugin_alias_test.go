package kafka_test

import (
	"testing"
	"time"

	"google.golang.org/protobuf/types/known/wrapperspb"

	"github.com/plinth-go/plinth/agent"
	"github.com/plinth-go/plinth/agent/agenttest"
	"github.com/plinth-go/plinth/messaging"
	"github.com/plinth-go/plinth/messaging/kafka"
	"github.com/plinth-go/plinth/messaging/kafka/client"
	"github.com/plinth-go/plinth/messaging/kafka/kafkatest"
	"github.com/plinth-go/plinth/messaging/kafka/mux"
)

// TestCnInfraPublishersAndWatchersReachTheBrokers runs the plugin methods
// kept under their cn-infra names against in-process brokers: what each
// publisher puts, to the partition it names, reaches the watchers.
func TestCnInfraPublishersAndWatchersReachTheBrokers(t *testing.T) {
	const topic = "ported"
	cluster := kafkatest.Start(t, 2, topic)
	p := kafka.NewPlugin(kafka.UseConf(mux.Config{
		Config:              client.Config{Addrs: cluster.ListenAddrs(), GroupID: "alias-test"}, // new groups read from the oldest offset
		HealthCheckInterval: 100 * time.Millisecond,
		ReconnectBackoffMax: 200 * time.Millisecond,
	}))
	agenttest.Start(t, agent.AllPlugins(p))
	ctx := testContext(t)
	select {
	case <-p.Multiplexer().Ready():
	case <-ctx.Done():
		t.Fatal("the brokers never answered")
	}

	all := make(chan messaging.ProtoMessage, 8)
	sub, err := p.NewWatcher("watcher").Watch(messaging.ToProtoChan(all), topic)
	if err != nil {
		t.Fatal(err)
	}
	defer sub.Unsubscribe()
	partition1 := make(chan messaging.ProtoMessage, 8)
	psub, err := p.NewPartitionWatcher("partition-watcher").WatchPartition(messaging.ToProtoChan(partition1), topic, 1, client.Oldest)
	if err != nil {
		t.Fatal(err)
	}
	defer psub.Unsubscribe()

	acked := make(chan string, 2)
	onSuccess := func(m messaging.BytesMessage) { acked <- m.GetKey() }
	onError := func(m messaging.BytesMessage, err error) { t.Errorf("async publish of %q: %v", m.GetKey(), err) }
	syncPub, err := p.NewSyncPublisher("publisher", topic)
	if err != nil {
		t.Fatal(err)
	}
	syncPub1, err := p.NewSyncPublisherToPartition("publisher", topic, 1)
	if err != nil {
		t.Fatal(err)
	}
	asyncPub, err := p.NewAsyncPublisher("publisher", topic, onSuccess, onError)
	if err != nil {
		t.Fatal(err)
	}
	asyncPub1, err := p.NewAsyncPublisherToPartition("publisher", topic, 1, onSuccess, onError)
	if err != nil {
		t.Fatal(err)
	}
	for key, put := range map[string]func() error{
		"sync":    func() error { return syncPub.Put(ctx, "sync", wrapperspb.String("sync")) },
		"sync-1":  func() error { return syncPub1.Put(ctx, "sync-1", wrapperspb.String("sync-1")) },
		"async":   func() error { return asyncPub.Put(ctx, "async", wrapperspb.String("async")) },
		"async-1": func() error { return asyncPub1.Put(ctx, "async-1", wrapperspb.String("async-1")) },
	} {
		if err := put(); err != nil {
			t.Fatalf("Put(%q): %v", key, err)
		}
	}
	for range 2 {
		select {
		case <-acked:
		case <-ctx.Done():
			t.Fatal("an asynchronous publisher never confirmed its message")
		}
	}

	// receive returns the partition of each message of ch until every key
	// of want arrived.
	receive := func(ch <-chan messaging.ProtoMessage, want ...string) map[string]int32 {
		t.Helper()
		got := map[string]int32{}
		for !hasKeys(got, want) {
			select {
			case msg := <-ch:
				var v wrapperspb.StringValue
				if err := msg.GetValue(&v); err != nil || v.GetValue() != msg.GetKey() {
					t.Errorf("message %q: value %q, %v", msg.GetKey(), v.GetValue(), err)
				}
				got[msg.GetKey()] = msg.GetPartition()
			case <-ctx.Done():
				t.Fatalf("received %v, want %q", got, want)
			}
		}
		return got
	}
	got := receive(all, "sync", "sync-1", "async", "async-1")
	for _, key := range []string{"sync-1", "async-1"} {
		if got[key] != 1 {
			t.Errorf("message %q in partition %d, want 1", key, got[key])
		}
	}
	for key, partition := range receive(partition1, "sync-1", "async-1") {
		if partition != 1 {
			t.Errorf("the watcher of partition 1 received %q from partition %d", key, partition)
		}
	}
}

func hasKeys(m map[string]int32, keys []string) bool {
	for _, k := range keys {
		if _, ok := m[k]; !ok {
			return false
		}
	}
	return true
}
