package mux_test

import (
	"context"
	"errors"
	"fmt"

	"github.com/twmb/franz-go/pkg/kfake"
	"google.golang.org/protobuf/types/known/wrapperspb"

	"github.com/plinth-go/plinth/messaging"
	"github.com/plinth-go/plinth/messaging/kafka/client"
	"github.com/plinth-go/plinth/messaging/kafka/mux"
)

// Two plugins share one multiplexer: one publishes protobuf messages, the
// other watches the topic. The broker is an in-process fake.
func ExampleMultiplexer_NewProtoConnection() {
	brokers, _ := kfake.NewCluster(kfake.SeedTopics(1, "greetings"))
	defer brokers.Close()

	m, err := mux.New(mux.Config{Config: client.Config{Addrs: brokers.ListenAddrs(), GroupID: "example"}})
	if err != nil {
		fmt.Println(err)
		return
	}
	m.Start()
	defer m.Close()
	<-m.Ready()

	received := make(chan string)
	sub, err := m.NewProtoConnection("consumer").Watch(func(ctx context.Context, msg messaging.ProtoMessage) {
		var v wrapperspb.StringValue
		if err := msg.GetValue(&v); err != nil {
			fmt.Println(err)
			return
		}
		select {
		case received <- msg.GetKey() + ": " + v.GetValue():
		case <-ctx.Done():
		}
	}, "greetings")
	if err != nil {
		fmt.Println(err)
		return
	}
	defer sub.Unsubscribe()

	pub, err := m.NewProtoConnection("producer").NewSyncPublisher("greetings")
	if err != nil {
		fmt.Println(err)
		return
	}
	if err := pub.Put(context.Background(), "en", wrapperspb.String("hello")); err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(<-received)
	// Output: en: hello
}

// An asynchronous publisher returns at once; a callback reports where the
// broker stored the message.
func ExampleBytesConnection_NewAsyncPublisher() {
	brokers, _ := kfake.NewCluster(kfake.SeedTopics(3, "events"))
	defer brokers.Close()
	m, _ := mux.New(mux.Config{Config: client.Config{Addrs: brokers.ListenAddrs()}})
	m.Start()
	defer m.Close()
	<-m.Ready()

	done := make(chan struct{})
	pub, _ := m.NewBytesConnection("events").NewAsyncPublisherToPartition("events", 2,
		func(msg messaging.BytesMessage) {
			fmt.Printf("stored in partition %d at offset %d\n", msg.GetPartition(), msg.GetOffset())
			close(done)
		},
		func(msg messaging.BytesMessage, err error) {
			fmt.Println("failed:", err)
			close(done)
		})
	if err := pub.Put(context.Background(), "k", []byte("v")); err != nil {
		fmt.Println(err)
		return
	}
	<-done
	// Output: stored in partition 2 at offset 0
}

// Until the multiplexer reached the brokers, publishers fail at once with an
// error that wraps ErrNotConnected and the cause.
func ExampleErrNotConnected() {
	m, _ := mux.New(mux.Config{Config: client.Config{Addrs: []string{"127.0.0.1:1"}}})
	defer m.Close() // never started: nothing to wait for
	pub, _ := m.NewBytesConnection("early").NewSyncPublisher("events")
	err := pub.Put(context.Background(), "k", []byte("v"))
	fmt.Println(errors.Is(err, mux.ErrNotConnected))
	// Output: true
}
