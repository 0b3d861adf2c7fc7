// Command kafka is an agent with two plugins sharing one Kafka connection:
// a publisher that sends greetings synchronously and asynchronously, and a
// consumer that watches the topic and prints what arrives. It stops once the
// consumer saw every greeting.
//
//	go run ./examples/kafka                                  # in-process broker
//	go run ./examples/kafka -kafka-config kafka.conf         # your brokers
//
// Without -kafka-config (or KAFKA_CONFIG) it starts an in-process
// wire-protocol broker (kfake), so that it runs anywhere.
package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"strings"
	"sync"
	"sync/atomic"

	"github.com/twmb/franz-go/pkg/kfake"
	"google.golang.org/protobuf/types/known/wrapperspb"

	"github.com/plinth-go/plinth/agent"
	"github.com/plinth-go/plinth/infra"
	"github.com/plinth-go/plinth/messaging"
	"github.com/plinth-go/plinth/messaging/kafka"
	"github.com/plinth-go/plinth/messaging/kafka/client"
	"github.com/plinth-go/plinth/messaging/kafka/mux"
)

// Topic is where the greetings go.
const Topic = "greetings"

// Greetings are what the publisher sends: the first half synchronously, the
// rest asynchronously.
var Greetings = []string{"hello", "bonjour", "hola", "ahoj"}

// PublisherPlugin publishes the greetings once the brokers are reachable.
type PublisherPlugin struct {
	infra.PluginDeps
	Kafka *kafka.Plugin

	cancel context.CancelFunc
	wg     sync.WaitGroup
}

// Init does nothing: publishing starts after every plugin is ready.
func (p *PublisherPlugin) Init() error { return nil }

// AfterInit starts publishing in the background; it never waits for Kafka.
func (p *PublisherPlugin) AfterInit() error {
	conn := p.Kafka.NewProtoConnection(p.String())
	syncPub, err := conn.NewSyncPublisher(Topic)
	if err != nil {
		return err
	}
	asyncPub, err := conn.NewAsyncPublisher(Topic, nil, func(msg messaging.BytesMessage, err error) {
		p.Log.Errorf("greeting %s not delivered: %v", msg.GetKey(), err)
	})
	if err != nil {
		return err
	}
	ctx, cancel := context.WithCancel(context.Background())
	p.cancel = cancel
	p.wg.Add(1)
	go func() {
		defer p.wg.Done()
		select {
		case <-p.Kafka.Multiplexer().Ready():
		case <-ctx.Done():
			return
		}
		for i, g := range Greetings {
			var pub messaging.ProtoPublisher = syncPub
			if i >= len(Greetings)/2 {
				pub = asyncPub
			}
			if err := pub.Put(ctx, fmt.Sprint(i), wrapperspb.String(g)); err != nil {
				p.Log.Errorf("publish %q: %v", g, err)
			}
		}
	}()
	return nil
}

// Close stops publishing.
func (p *PublisherPlugin) Close() error {
	if p.cancel != nil {
		p.cancel()
	}
	p.wg.Wait()
	return nil
}

// ConsumerPlugin prints the greetings and calls Done after the last one.
type ConsumerPlugin struct {
	infra.PluginDeps
	Kafka kafka.Mux

	Out  io.Writer
	Done func()

	seen atomic.Int32
	sub  messaging.Subscription
}

// Init subscribes; messages flow once the multiplexer connected.
func (p *ConsumerPlugin) Init() error {
	sub, err := p.Kafka.NewProtoConnection(p.String()).Watch(func(ctx context.Context, msg messaging.ProtoMessage) {
		var g wrapperspb.StringValue
		if err := msg.GetValue(&g); err != nil {
			p.Log.Errorf("bad greeting: %v", err)
			return
		}
		fmt.Fprintf(p.Out, "received %s (key %s)\n", g.GetValue(), msg.GetKey())
		// Partitions are handled concurrently: count atomically.
		if p.seen.Add(1) == int32(len(Greetings)) {
			p.Done()
		}
	}, Topic)
	p.sub = sub
	return err
}

// Close unsubscribes.
func (p *ConsumerPlugin) Close() error {
	if p.sub != nil {
		p.sub.Unsubscribe()
	}
	return nil
}

// run builds and runs the agent until the consumer saw every greeting or ctx
// ends. With no Kafka config in args or getenv it serves Kafka itself.
func run(ctx context.Context, args []string, getenv func(string) string, out io.Writer) error {
	ctx, stop := context.WithCancel(ctx)
	defer stop()

	var kafkaOpts []kafka.Option
	if !hasKafkaConfig(args, getenv) {
		brokers, err := kfake.NewCluster(kfake.SeedTopics(1, Topic))
		if err != nil {
			return err
		}
		defer brokers.Close()
		fmt.Fprintln(out, "no -kafka-config: using an in-process broker")
		kafkaOpts = append(kafkaOpts, kafka.UseConf(mux.Config{Config: client.Config{Addrs: brokers.ListenAddrs(), GroupID: "example"}}))
	}
	k := kafka.NewPlugin(kafkaOpts...)
	pub := &PublisherPlugin{Kafka: k}
	pub.SetName("publisher")
	cons := &ConsumerPlugin{Kafka: k, Out: out, Done: stop}
	cons.SetName("consumer")

	a, err := agent.New(agent.AllPlugins(pub, cons), agent.Args(args...), agent.Getenv(getenv), agent.Context(ctx))
	if err != nil {
		return err
	}
	return a.Run()
}

func hasKafkaConfig(args []string, getenv func(string) string) bool {
	for _, a := range args {
		if strings.HasPrefix(strings.TrimLeft(a, "-"), "kafka-config") {
			return true
		}
	}
	return getenv("KAFKA_CONFIG") != ""
}

func main() {
	if err := run(context.Background(), os.Args[1:], os.Getenv, os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
}
