package messaging

import "context"

// ToBytesChan returns a handler that sends every message to ch. It blocks
// while ch is full, which holds back the subscription (backpressure), and
// gives up only when the subscription stops; it never drops a message after
// a timer.
func ToBytesChan(ch chan<- BytesMessage) BytesHandler {
	return func(ctx context.Context, msg BytesMessage) {
		select {
		case ch <- msg:
		case <-ctx.Done():
		}
	}
}

// ToProtoChan returns a handler that sends every message to ch, as
// ToBytesChan does.
func ToProtoChan(ch chan<- ProtoMessage) ProtoHandler {
	return func(ctx context.Context, msg ProtoMessage) {
		select {
		case ch <- msg:
		case <-ctx.Done():
		}
	}
}
