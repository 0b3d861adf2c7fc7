package logging_test

import (
	"context"
	"fmt"
	"io"

	"github.com/plinth-go/plinth/logging"
)

// A hook sees the records of every logger of the registry, at the levels
// it asks for, including loggers created after it was added.
func ExampleRegistry_AddHook() {
	reg := logging.NewRegistry(logging.WithOutput(io.Discard))
	remove := reg.AddHook(logging.HookFunc(func(r *logging.Record) error {
		fmt.Printf("%s %s: %s %v\n", r.Level, r.Logger, r.Message, r.Fields)
		return nil
	}))
	reg.Get("etcd").WithField("endpoint", "127.0.0.1:2379").Warn("reconnecting")
	reg.Get("kafka").Info("created after AddHook")
	remove()
	reg.Get("etcd").Error("not seen: the hook was removed")
	// Output:
	// warning etcd: reconnecting map[endpoint:127.0.0.1:2379]
	// info kafka: created after AddHook map[]
}

// A hook that does I/O runs behind NewAsyncHook: logging only queues the
// record. Close sends what is queued, within the context's deadline.
func ExampleNewAsyncHook() {
	reg := logging.NewRegistry(logging.WithOutput(io.Discard))
	slow := logging.HookFunc(func(r *logging.Record) error {
		fmt.Println("sent:", r.Message) // a network write in a real hook
		return nil
	})
	async := logging.NewAsyncHook(slow, logging.WithLevels(logging.ErrorLevel), logging.WithQueueSize(100))
	remove := reg.AddHook(async)

	log := reg.Get("billing")
	log.Info("not forwarded: below the hook's levels")
	log.Error("card declined")

	remove()
	if err := async.Close(context.Background()); err != nil {
		fmt.Println(err)
	}
	fmt.Printf("%+v\n", async.Stats())
	// Output:
	// sent: card declined
	// {Sent:1 Dropped:0 Failed:0 Queued:0}
}
