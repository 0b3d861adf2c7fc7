package client

import (
	"fmt"
	"strings"

	"github.com/IBM/sarama"
)

// fallbackPartitioner returns the sarama partitioner for a Config.Partitioner
// name, or nil for "manual".
func fallbackPartitioner(name string) (sarama.PartitionerConstructor, error) {
	switch strings.ToLower(name) {
	case "", PartitionerHash:
		return sarama.NewHashPartitioner, nil
	case PartitionerRandom:
		return sarama.NewRandomPartitioner, nil
	case PartitionerRoundRobin:
		return sarama.NewRoundRobinPartitioner, nil
	case PartitionerManual:
		return nil, nil
	default:
		return nil, fmt.Errorf("%q is none of hash, random, round-robin, manual", name)
	}
}

// newPartitioner returns a constructor of partitioners that send a message
// whose publisher chose a partition to that partition, and any other message
// where the configured partitioner says. One producer can then serve both
// kinds of publishers; cn-infra needed a client per kind and mixed them up.
func newPartitioner(fallback sarama.PartitionerConstructor, manual int32) sarama.PartitionerConstructor {
	return func(topic string) sarama.Partitioner {
		p := &partitioner{manual: manual}
		if fallback != nil {
			p.fallback = fallback(topic)
		}
		return p
	}
}

type partitioner struct {
	fallback sarama.Partitioner // nil: the "manual" partitioner
	manual   int32
}

var _ sarama.DynamicConsistencyPartitioner = (*partitioner)(nil)

// manualPartition in the Metadata of a sarama message marks a message whose
// publisher chose its partition, when the Metadata is not the
// ProducerMessage itself (SyncProducer.Send).
type manualPartition struct{}

// chosen reports whether the publisher of msg chose its partition, which
// is then msg.Partition.
func chosen(msg *sarama.ProducerMessage) bool {
	switch md := msg.Metadata.(type) {
	case *ProducerMessage:
		return md.Manual
	case manualPartition:
		return true
	}
	return false
}

func (p *partitioner) Partition(msg *sarama.ProducerMessage, n int32) (int32, error) {
	if chosen(msg) {
		return msg.Partition, nil
	}
	if p.fallback == nil {
		return p.manual, nil
	}
	return p.fallback.Partition(msg, n)
}

func (p *partitioner) RequiresConsistency() bool {
	return p.fallback == nil || p.fallback.RequiresConsistency()
}

func (p *partitioner) MessageRequiresConsistency(msg *sarama.ProducerMessage) bool {
	if chosen(msg) {
		return true
	}
	return p.RequiresConsistency()
}
