package mux_test

import (
	"context"
	"errors"
	"testing"

	"google.golang.org/protobuf/types/known/wrapperspb"

	"github.com/plinth-go/plinth/messaging"
	"github.com/plinth-go/plinth/messaging/kafka/mux"
)

// TestConnectionIsProtoConnection checks that code written against
// cn-infra's mux.Connection holds what NewProtoConnection returns and uses
// it as one.
func TestConnectionIsProtoConnection(t *testing.T) {
	m := mux.Disabled("no brokers in this test")
	defer m.Close()

	var conn *mux.Connection = m.NewProtoConnection("ported")
	var _ messaging.ProtoWatcher = conn
	if got := conn.Name(); got != "ported" {
		t.Errorf("Name() = %q, want %q", got, "ported")
	}
	pub, err := conn.NewSyncPublisher("topic")
	if err != nil {
		t.Fatal(err)
	}
	if err := pub.Put(context.Background(), "k", wrapperspb.String("v")); !errors.Is(err, mux.ErrDisabled) {
		t.Errorf("Put on a disabled multiplexer: err = %v, want ErrDisabled", err)
	}
}
