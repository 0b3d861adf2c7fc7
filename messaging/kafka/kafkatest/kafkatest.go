package kafkatest

import (
	"testing"

	"github.com/twmb/franz-go/pkg/kfake"
)

// Brokers is the number of brokers Start runs.
const Brokers = 3

// Start runs a cluster of [Brokers] brokers on free loopback ports, with
// topic auto-creation (3 partitions per new topic) and the given topics
// created with partitions partitions each. The cluster is closed when the
// test ends.
func Start(t testing.TB, partitions int32, topics ...string) *kfake.Cluster {
	t.Helper()
	opts := []kfake.Opt{
		kfake.NumBrokers(Brokers),
		kfake.AllowAutoTopicCreation(),
		kfake.DefaultNumPartitions(3),
	}
	if len(topics) > 0 {
		opts = append(opts, kfake.SeedTopics(partitions, topics...))
	}
	c, err := kfake.NewCluster(opts...)
	if err != nil {
		t.Fatalf("kafkatest: start brokers: %v", err)
	}
	t.Cleanup(c.Close)
	return c
}

// StartOn is Start on the given loopback ports, one broker per port, with no
// seeded topic.
func StartOn(t testing.TB, ports ...int) *kfake.Cluster {
	t.Helper()
	c, err := kfake.NewCluster(kfake.Ports(ports...), kfake.AllowAutoTopicCreation(), kfake.DefaultNumPartitions(3))
	if err != nil {
		t.Fatalf("kafkatest: start brokers on %v: %v", ports, err)
	}
	t.Cleanup(c.Close)
	return c
}
