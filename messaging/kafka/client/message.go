package client

import (
	"time"

	"github.com/IBM/sarama"

	"github.com/plinth-go/plinth/messaging"
)

// ConsumerMessage is a message read from a broker. It is a sarama message
// seen through the messaging API, so wrapping one costs no allocation:
// (*ConsumerMessage)(m) for a *sarama.ConsumerMessage m.
type ConsumerMessage sarama.ConsumerMessage

var _ messaging.BytesMessage = (*ConsumerMessage)(nil)

// GetTopic returns the topic of the message.
func (m *ConsumerMessage) GetTopic() string { return m.Topic }

// GetPartition returns the partition of the message.
func (m *ConsumerMessage) GetPartition() int32 { return m.Partition }

// GetOffset returns the offset of the message.
func (m *ConsumerMessage) GetOffset() int64 { return m.Offset }

// GetKey returns the key of the message.
func (m *ConsumerMessage) GetKey() string { return string(m.Key) }

// GetValue returns the value of the message.
func (m *ConsumerMessage) GetValue() []byte { return m.Value }

// GetTimestamp returns the time the message was created.
func (m *ConsumerMessage) GetTimestamp() time.Time { return m.Timestamp }

// GetHeaders returns the headers of the message in a new slice.
func (m *ConsumerMessage) GetHeaders() []messaging.Header {
	if len(m.Headers) == 0 {
		return nil
	}
	hs := make([]messaging.Header, 0, len(m.Headers))
	for _, h := range m.Headers {
		if h != nil {
			hs = append(hs, messaging.Header{Key: string(h.Key), Value: h.Value})
		}
	}
	return hs
}

// ProducerMessage is a message to publish. Once a producer acknowledged it,
// Partition, Offset and Timestamp say where and when the broker stored it.
// A message belongs to the producer from Send until its result is known; it
// must not be reused or modified meanwhile.
type ProducerMessage struct {
	Topic   string
	Key     string
	Value   []byte
	Headers []messaging.Header
	// Manual sends the message to Partition instead of the partition the
	// configured partitioner chooses.
	Manual    bool
	Partition int32
	Offset    int64
	Timestamp time.Time

	// Exactly one of done (SendSync) and the callbacks (SendAsync) is
	// used.
	done      chan error
	onSuccess func(*ProducerMessage)
	onError   func(*ProducerMessage, error)

	sm sarama.ProducerMessage // embedded so that an asynchronous send allocates once
}

var _ messaging.BytesMessage = (*ProducerMessage)(nil)

// GetTopic returns the topic of the message.
func (m *ProducerMessage) GetTopic() string { return m.Topic }

// GetPartition returns the partition of the message.
func (m *ProducerMessage) GetPartition() int32 { return m.Partition }

// GetOffset returns the offset of the message, valid once acknowledged.
func (m *ProducerMessage) GetOffset() int64 { return m.Offset }

// GetKey returns the key of the message.
func (m *ProducerMessage) GetKey() string { return m.Key }

// GetValue returns the value of the message.
func (m *ProducerMessage) GetValue() []byte { return m.Value }

// GetHeaders returns the headers of the message.
func (m *ProducerMessage) GetHeaders() []messaging.Header { return m.Headers }

// GetTimestamp returns the time the broker stored the message, valid once
// acknowledged.
func (m *ProducerMessage) GetTimestamp() time.Time { return m.Timestamp }

// toSarama fills the embedded sarama message, whose Metadata is m, and
// returns it. Its key and value point into m: no allocation of their own.
func (m *ProducerMessage) toSarama() *sarama.ProducerMessage {
	sm := &m.sm
	*sm = sarama.ProducerMessage{Topic: m.Topic, Metadata: m}
	fill(sm, &m.Key, &m.Value, m.Headers, m.Manual, m.Partition)
	return sm
}

// syncMessage is what SyncProducer.Send hands to sarama: the sarama
// message and the key and value its encoders point at, in one allocation.
// The caller's ProducerMessage stays out of it, so that it need not escape
// to the heap.
type syncMessage struct {
	sm    sarama.ProducerMessage
	key   string
	value []byte
}

func newSyncMessage(m *ProducerMessage) *sarama.ProducerMessage {
	s := &syncMessage{key: m.Key, value: m.Value}
	s.sm.Topic = m.Topic
	if m.Manual {
		s.sm.Metadata = manualPartition{}
	}
	fill(&s.sm, &s.key, &s.value, m.Headers, m.Manual, m.Partition)
	return &s.sm
}

// fill sets the key, value, headers and chosen partition of sm. key and
// value must stay unchanged until sarama returns sm.
func fill(sm *sarama.ProducerMessage, key *string, value *[]byte, headers []messaging.Header, manual bool, partition int32) {
	if *key != "" {
		sm.Key = (*keyEncoder)(key)
	}
	if *value != nil {
		sm.Value = (*valueEncoder)(value)
	}
	if manual {
		sm.Partition = partition // read by the partitioner
	}
	if len(headers) > 0 {
		sm.Headers = make([]sarama.RecordHeader, len(headers))
		for i, h := range headers {
			sm.Headers[i] = sarama.RecordHeader{Key: []byte(h.Key), Value: h.Value}
		}
	}
}

// keyEncoder and valueEncoder are sarama.StringEncoder and
// sarama.ByteEncoder by pointer: storing a pointer in an interface costs no
// allocation, storing a string or a slice does.
type (
	keyEncoder   string
	valueEncoder []byte
)

func (k *keyEncoder) Encode() ([]byte, error) { return []byte(*k), nil }
func (k *keyEncoder) Length() int             { return len(*k) }

func (v *valueEncoder) Encode() ([]byte, error) { return *v, nil }
func (v *valueEncoder) Length() int             { return len(*v) }
