package porting_test

import (
	"context"
	"testing"
	"time"

	"google.golang.org/protobuf/types/known/wrapperspb"

	"github.com/plinth-go/plinth/agent"
	"github.com/plinth-go/plinth/agent/agenttest"
	"github.com/plinth-go/plinth/infra"
	"github.com/plinth-go/plinth/messaging"
	"github.com/plinth-go/plinth/messaging/kafka"
	"github.com/plinth-go/plinth/messaging/kafka/client"
	"github.com/plinth-go/plinth/messaging/kafka/kafkatest"
	"github.com/plinth-go/plinth/messaging/kafka/mux"
)

// Announcer publishes to a topic and watches it, through the connection to
// Kafka that the Kafka plugin shares among the plugins of the agent.
type Announcer struct {
	infra.PluginDeps
	Kafka kafka.Mux

	Heard chan string

	pub *mux.SyncPublisher[[]byte]
	sub messaging.Subscription
}

func (p *Announcer) Init() error {
	conn := p.Kafka.NewBytesConnection(p.String())
	pub, err := conn.NewSyncPublisher("announcements")
	if err != nil {
		return err
	}
	p.pub = pub
	p.sub, err = conn.Watch(func(ctx context.Context, msg messaging.BytesMessage) {
		select {
		case p.Heard <- msg.GetKey() + ": " + string(msg.GetValue()):
		case <-ctx.Done(): // unsubscribed: the message is not committed
		}
	}, "announcements")
	return err
}

func (p *Announcer) Announce(ctx context.Context, key, text string) error {
	return p.pub.Put(ctx, key, []byte(text))
}

func (p *Announcer) Close() error {
	if p.sub != nil {
		p.sub.Unsubscribe()
	}
	return nil
}

// echo uses a multiplexer of its own, outside an agent: it publishes a
// protobuf message and reads it back.
func echo(ctx context.Context, addrs []string) (string, error) {
	m, err := mux.New(mux.Config{Config: client.Config{Addrs: addrs, GroupID: "echo"}})
	if err != nil {
		return "", err
	}
	m.Start() // connects in the background
	defer m.Close()

	conn := m.NewProtoConnection("echo")
	got := make(chan messaging.ProtoMessage, 1)
	sub, err := conn.Watch(messaging.ToProtoChan(got), "echo")
	if err != nil {
		return "", err
	}
	defer sub.Unsubscribe()

	select {
	case <-m.Ready(): // publishers fail fast until the brokers answered
	case <-ctx.Done():
		return "", ctx.Err()
	}
	pub, err := conn.NewSyncPublisher("echo")
	if err != nil {
		return "", err
	}
	if err := pub.Put(ctx, "greeting", wrapperspb.String("hello")); err != nil {
		return "", err
	}
	select {
	case msg := <-got:
		var v wrapperspb.StringValue
		if err := msg.GetValue(&v); err != nil {
			return "", err
		}
		return msg.GetKey() + "=" + v.GetValue(), nil
	case <-ctx.Done():
		return "", ctx.Err()
	}
}

func TestKafkaMultiplexerSnippet(t *testing.T) {
	cluster := kafkatest.Start(t, 1, "echo")
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	got, err := echo(ctx, cluster.ListenAddrs())
	if err != nil || got != "greeting=hello" {
		t.Fatalf("echo() = %q, %v, want %q, nil", got, err, "greeting=hello")
	}
}

func TestKafkaPluginSnippet(t *testing.T) {
	cluster := kafkatest.Start(t, 1, "announcements")
	kp := kafka.NewPlugin(kafka.UseConf(mux.Config{Config: client.Config{Addrs: cluster.ListenAddrs(), GroupID: "announcer"}}))
	ann := &Announcer{Heard: make(chan string, 1)}
	ann.SetName("announcer")
	agenttest.Start(t, agent.AllPlugins(kp, ann))

	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	select {
	case <-kp.Multiplexer().Ready():
	case <-ctx.Done():
		t.Fatal("the Kafka plugin never reached the brokers")
	}
	if err := ann.Announce(ctx, "news", "plinth speaks Kafka"); err != nil {
		t.Fatalf("Announce: %v", err)
	}
	select {
	case got := <-ann.Heard:
		if want := "news: plinth speaks Kafka"; got != want {
			t.Errorf("heard %q, want %q", got, want)
		}
	case <-ctx.Done():
		t.Fatal("the watch never received the announcement")
	}
}
