package messaging_test

import (
	"context"
	"fmt"
	"time"

	"github.com/plinth-go/plinth/messaging"
)

// note is a minimal BytesMessage, as a broker would deliver it.
type note struct{ key, value string }

func (n note) GetTopic() string               { return "notes" }
func (n note) GetPartition() int32            { return 0 }
func (n note) GetOffset() int64               { return 0 }
func (n note) GetKey() string                 { return n.key }
func (n note) GetHeaders() []messaging.Header { return nil }
func (n note) GetTimestamp() time.Time        { return time.Time{} }
func (n note) GetValue() []byte               { return []byte(n.value) }

// ToBytesChan turns a channel into a handler. It waits while the channel is
// full and gives up only when the subscription stops: nothing is dropped.
func ExampleToBytesChan() {
	ch := make(chan messaging.BytesMessage, 1)
	h := messaging.ToBytesChan(ch)

	ctx, stop := context.WithCancel(context.Background())
	h(ctx, note{"a", "first"}) // buffered
	go func() {
		msg := <-ch
		fmt.Println(msg.GetKey(), string(msg.GetValue()))
		stop() // the subscription stops: a blocked send gives up
	}()
	h(ctx, note{"b", "second"}) // waits for the reader, then for ctx
	fmt.Println(len(ch) <= 1)
	// Output:
	// a first
	// true
}

// Headers travel with a message; publishers take them as a Put option.
func ExampleWithHeaders() {
	o := messaging.NewPutOptions(messaging.WithHeaders(messaging.Header{Key: "trace-id", Value: []byte("42")}))
	fmt.Printf("%s=%s\n", o.Headers[0].Key, o.Headers[0].Value)
	// Output: trace-id=42
}
