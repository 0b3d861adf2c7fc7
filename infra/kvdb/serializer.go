package kvdb

import (
	"fmt"

	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/proto"
)

// Serializer turns proto messages into stored values and back.
type Serializer interface {
	// Marshal encodes m.
	Marshal(m proto.Message) ([]byte, error)
	// Unmarshal decodes data into m, replacing its content.
	Unmarshal(data []byte, m proto.Message) error
}

// The serializers of the package. Both are stateless and safe for
// concurrent use.
var (
	// JSON encodes messages as protojson with the field names of the .proto
	// file (snake_case), which is what operators read with agentctl. It
	// ignores unknown fields when decoding, so that an older agent reads
	// values written by a newer one. It is the default.
	JSON Serializer = jsonSerializer{}
	// Proto encodes messages in the binary protobuf wire format: smaller
	// and faster, but unreadable to people.
	Proto Serializer = protoSerializer{}
)

var (
	jsonMarshal   = protojson.MarshalOptions{UseProtoNames: true}
	jsonUnmarshal = protojson.UnmarshalOptions{DiscardUnknown: true}
)

type jsonSerializer struct{}

func (jsonSerializer) Marshal(m proto.Message) ([]byte, error) {
	if m == nil {
		return nil, ErrNilMessage
	}
	b, err := jsonMarshal.Marshal(m)
	if err != nil {
		return nil, fmt.Errorf("kvdb: marshal %T as json: %w", m, err)
	}
	return b, nil
}

func (jsonSerializer) Unmarshal(data []byte, m proto.Message) error {
	if m == nil {
		return ErrNilMessage
	}
	if err := jsonUnmarshal.Unmarshal(data, m); err != nil {
		return fmt.Errorf("kvdb: unmarshal json into %T: %w", m, err)
	}
	return nil
}

func (jsonSerializer) String() string { return "json" }

type protoSerializer struct{}

func (protoSerializer) Marshal(m proto.Message) ([]byte, error) {
	if m == nil {
		return nil, ErrNilMessage
	}
	b, err := proto.Marshal(m)
	if err != nil {
		return nil, fmt.Errorf("kvdb: marshal %T as proto: %w", m, err)
	}
	return b, nil
}

func (protoSerializer) Unmarshal(data []byte, m proto.Message) error {
	if m == nil {
		return ErrNilMessage
	}
	if err := proto.Unmarshal(data, m); err != nil {
		return fmt.Errorf("kvdb: unmarshal proto into %T: %w", m, err)
	}
	return nil
}

func (protoSerializer) String() string { return "proto" }
