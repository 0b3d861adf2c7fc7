package mux_test

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
	"sync/atomic"
	"testing"

	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/wrapperspb"

	"github.com/plinth-go/plinth/messaging"
	"github.com/plinth-go/plinth/messaging/kafka/client"
	"github.com/plinth-go/plinth/messaging/kafka/kafkatest"
	"github.com/plinth-go/plinth/messaging/kafka/mux"
)

func TestEveryPublisherFormReachesWatchers(t *testing.T) {
	cluster := kafkatest.Start(t, 4, "bytes-sync", "bytes-async", "proto-sync", "proto-async", "json-sync")
	m := connected(t, cluster.ListenAddrs(), "forms")
	ctx := testContext(t)

	bytesConn := m.NewBytesConnection("bytes")
	protoConn := m.NewProtoConnection("proto")
	jsonConn := m.NewProtoConnection("json", mux.WithJSON())

	bytesSync, err := bytesConn.NewSyncPublisher("bytes-sync")
	if err != nil {
		t.Fatal(err)
	}
	acked := make(chan messaging.BytesMessage, 10)
	bytesAsync, err := bytesConn.NewAsyncPublisher("bytes-async", func(m messaging.BytesMessage) { acked <- m }, nil)
	if err != nil {
		t.Fatal(err)
	}
	protoSync, err := protoConn.NewSyncPublisher("proto-sync")
	if err != nil {
		t.Fatal(err)
	}
	protoAsync, err := protoConn.NewAsyncPublisher("proto-async", func(m messaging.BytesMessage) { acked <- m }, nil)
	if err != nil {
		t.Fatal(err)
	}
	jsonSync, err := jsonConn.NewSyncPublisher("json-sync")
	if err != nil {
		t.Fatal(err)
	}

	raw := newSink()
	if _, err := bytesConn.Watch(raw.handler(), "bytes-sync", "bytes-async"); err != nil {
		t.Fatal(err)
	}
	decoded := make(chan string, 10)
	protoHandler := func(ctx context.Context, msg messaging.ProtoMessage) {
		var v wrapperspb.StringValue
		if err := msg.GetValue(&v); err != nil {
			t.Errorf("GetValue: %v", err)
		}
		decoded <- msg.GetTopic() + ":" + v.GetValue()
	}
	if _, err := protoConn.Watch(protoHandler, "proto-sync", "proto-async"); err != nil {
		t.Fatal(err)
	}
	if _, err := jsonConn.Watch(protoHandler, "json-sync"); err != nil {
		t.Fatal(err)
	}

	if err := bytesSync.Put(ctx, "k", []byte("sync")); err != nil {
		t.Fatalf("bytes sync Put: %v", err)
	}
	if err := bytesAsync.Put(ctx, "k", []byte("async")); err != nil {
		t.Fatalf("bytes async Put: %v", err)
	}
	if err := protoSync.Put(ctx, "k", wrapperspb.String("sync")); err != nil {
		t.Fatalf("proto sync Put: %v", err)
	}
	if err := protoAsync.Put(ctx, "k", wrapperspb.String("async")); err != nil {
		t.Fatalf("proto async Put: %v", err)
	}
	if err := jsonSync.Put(ctx, "k", wrapperspb.String("json")); err != nil {
		t.Fatalf("json sync Put: %v", err)
	}

	for range 2 {
		select {
		case a := <-acked:
			if a.GetOffset() < 0 || a.GetTopic() == "" {
				t.Errorf("acknowledged message %s/%d@%d lacks its place", a.GetTopic(), a.GetPartition(), a.GetOffset())
			}
		case <-ctx.Done():
			t.Fatal("async publishers reported no success")
		}
	}
	got := values(raw.take(t, 2))
	if want := []string{"async", "sync"}; !slices.Equal(got, want) {
		t.Errorf("bytes received %q, want %q", got, want)
	}
	var protos []string
	for range 3 {
		select {
		case s := <-decoded:
			protos = append(protos, s)
		case <-ctx.Done():
			t.Fatalf("proto received %q, want 3 messages", protos)
		}
	}
	slices.Sort(protos)
	if want := []string{"json-sync:json", "proto-async:async", "proto-sync:sync"}; !slices.Equal(protos, want) {
		t.Errorf("proto received %q, want %q", protos, want)
	}
}

func TestJSONConnectionWritesProtoJSON(t *testing.T) {
	cluster := kafkatest.Start(t, 1, "json")
	m := connected(t, cluster.ListenAddrs(), "json")
	ctx := testContext(t)
	pub, err := m.NewProtoConnection("json", mux.WithJSON()).NewSyncPublisher("json")
	if err != nil {
		t.Fatal(err)
	}
	if err := pub.Put(ctx, "k", wrapperspb.String("hi")); err != nil {
		t.Fatal(err)
	}
	raw := newSink()
	if _, err := m.NewBytesConnection("raw").Watch(raw.handler(), "json"); err != nil {
		t.Fatal(err)
	}
	if got := raw.take(t, 1)[0].Value; got != `"hi"` {
		t.Errorf("JSON payload = %q, want %q", got, `"hi"`)
	}
}

func TestHashPartitioningSpreadsKeysAndKeepsEachKeyOnOnePartition(t *testing.T) {
	cluster := kafkatest.Start(t, 3, "hashed")
	m := connected(t, cluster.ListenAddrs(), "hash")
	ctx := testContext(t)
	pub, err := m.NewBytesConnection("hash").NewSyncPublisher("hashed")
	if err != nil {
		t.Fatal(err)
	}
	var mu sync.Mutex
	partitionOf := map[string]int32{}
	perPartition := map[int32]int{}
	s := newSink()
	if _, err := m.NewBytesConnection("watch").Watch(s.handler(), "hashed"); err != nil {
		t.Fatal(err)
	}
	const keys = 30
	for round := range 2 {
		for k := range keys {
			if err := pub.Put(ctx, fmt.Sprintf("key-%d", k), fmt.Appendf(nil, "%d", round)); err != nil {
				t.Fatal(err)
			}
		}
	}
	for _, r := range s.take(t, 2*keys) {
		mu.Lock()
		if p, ok := partitionOf[r.Key]; ok && p != r.Partition {
			t.Errorf("key %s went to partitions %d and %d", r.Key, p, r.Partition)
		}
		partitionOf[r.Key] = r.Partition
		perPartition[r.Partition]++
		mu.Unlock()
	}
	for p := range int32(3) {
		if perPartition[p] == 0 {
			t.Errorf("partition %d got no message: %v", p, perPartition)
		}
	}
}

func TestHeadersRoundTrip(t *testing.T) {
	cluster := kafkatest.Start(t, 1, "headers")
	m := connected(t, cluster.ListenAddrs(), "headers")
	ctx := testContext(t)
	pub, err := m.NewBytesConnection("h").NewSyncPublisher("headers")
	if err != nil {
		t.Fatal(err)
	}
	want := []messaging.Header{{Key: "trace", Value: []byte("abc")}, {Key: "trace", Value: []byte("def")}, {Key: "empty"}}
	if err := pub.Put(ctx, "k", []byte("v"), messaging.WithHeaders(want...)); err != nil {
		t.Fatal(err)
	}
	s := newSink()
	if _, err := m.NewBytesConnection("w").Watch(s.handler(), "headers"); err != nil {
		t.Fatal(err)
	}
	got := s.take(t, 1)[0].Headers
	if len(got) != len(want) {
		t.Fatalf("headers = %v, want %v", got, want)
	}
	for i := range want {
		if got[i].Key != want[i].Key || string(got[i].Value) != string(want[i].Value) {
			t.Errorf("header %d = %s:%q, want %s:%q", i, got[i].Key, got[i].Value, want[i].Key, want[i].Value)
		}
	}
}

func TestEverySubscriberGetsEveryMessage(t *testing.T) {
	cluster := kafkatest.Start(t, 3, "fanout")
	m := connected(t, cluster.ListenAddrs(), "fanout")
	ctx := testContext(t)
	const subscribers, messages = 12, 50
	sinks := make([]*sink, subscribers)
	for i := range sinks {
		sinks[i] = newSink()
		// Two plugins' connections share the multiplexer.
		conn := m.NewBytesConnection(fmt.Sprintf("plugin-%d", i%2))
		if _, err := conn.Watch(sinks[i].handler(), "fanout"); err != nil {
			t.Fatal(err)
		}
	}
	pub, err := m.NewBytesConnection("pub").NewAsyncPublisher("fanout", nil, func(_ messaging.BytesMessage, err error) {
		t.Errorf("async publish: %v", err)
	})
	if err != nil {
		t.Fatal(err)
	}
	for i := range messages {
		if err := pub.Put(ctx, fmt.Sprint(i), fmt.Appendf(nil, "m-%03d", i)); err != nil {
			t.Fatal(err)
		}
	}
	want := numbered("m", messages)
	for i, s := range sinks {
		if got := values(s.take(t, messages)); !slices.Equal(got, want) {
			t.Errorf("subscriber %d got %q, want %q", i, got, want)
		}
	}
}

func TestSubscriptionsComeAndGoWhileRunning(t *testing.T) {
	cluster := kafkatest.Start(t, 2, "first", "second")
	m := connected(t, cluster.ListenAddrs(), "dynamic")
	ctx := testContext(t)
	conn := m.NewBytesConnection("dyn")
	pubFirst, _ := conn.NewSyncPublisher("first")
	pubSecond, _ := conn.NewSyncPublisher("second")

	a := newSink()
	subA, err := conn.Watch(a.handler(), "first")
	if err != nil {
		t.Fatal(err)
	}
	if err := pubFirst.Put(ctx, "k", []byte("a1")); err != nil {
		t.Fatal(err)
	}
	if got := a.take(t, 1)[0].Value; got != "a1" {
		t.Fatalf("first subscriber got %q, want a1", got)
	}

	// A topic subscribed after the member joined the group.
	b := newSink()
	if _, err := conn.Watch(b.handler(), "second"); err != nil {
		t.Fatal(err)
	}
	if err := pubSecond.Put(ctx, "k", []byte("b1")); err != nil {
		t.Fatal(err)
	}
	if got := b.take(t, 1)[0].Value; got != "b1" {
		t.Fatalf("second subscriber got %q, want b1", got)
	}

	// After Unsubscribe nothing more reaches the handler, and calling it
	// again is harmless.
	subA.Unsubscribe()
	subA.Unsubscribe()
	witness := newSink()
	if _, err := conn.Watch(witness.handler(), "first"); err != nil {
		t.Fatal(err)
	}
	if err := pubFirst.Put(ctx, "k", []byte("a2")); err != nil {
		t.Fatal(err)
	}
	// The witness may see a1 too, depending on whether its offset was
	// committed before the rejoin: wait for a2.
	for {
		if r := witness.take(t, 1)[0]; r.Value == "a2" {
			break
		}
	}
	select {
	case r := <-a.ch:
		t.Errorf("unsubscribed handler got %v", r)
	default:
	}
}

// A partition being read finds its subscribers once, when its claim
// starts; subscribers that come and go later on a topic already watched,
// which makes the member neither leave nor rejoin the group, must still be
// seen from the next message on.
func TestSubscribersJoinAndLeaveAPartitionBeingRead(t *testing.T) {
	cluster := kafkatest.Start(t, 2, "shared")
	m := connected(t, cluster.ListenAddrs(), "shared")
	ctx := testContext(t)
	conn := m.NewBytesConnection("shared")
	pub, _ := conn.NewSyncPublisher("shared")
	put := func(v string) {
		t.Helper()
		if err := pub.Put(ctx, "k", []byte(v)); err != nil {
			t.Fatal(err)
		}
	}
	first := newSink()
	if _, err := conn.Watch(first.handler(), "shared"); err != nil {
		t.Fatal(err)
	}
	put("m1")
	if got := first.take(t, 1)[0].Value; got != "m1" {
		t.Fatalf("first subscriber got %q, want m1", got)
	}

	second := newSink()
	subSecond, err := conn.Watch(second.handler(), "shared")
	if err != nil {
		t.Fatal(err)
	}
	put("m2")
	if got := second.take(t, 1)[0].Value; got != "m2" {
		t.Errorf("subscriber added while the partition is read got %q, want m2", got)
	}
	if got := first.take(t, 1)[0].Value; got != "m2" {
		t.Errorf("first subscriber got %q, want m2", got)
	}

	subSecond.Unsubscribe()
	put("m3")
	if got := first.take(t, 1)[0].Value; got != "m3" {
		t.Errorf("first subscriber got %q, want m3", got)
	}
	select {
	case r := <-second.ch:
		t.Errorf("unsubscribed handler got %v", r)
	default:
	}
}

func TestSlowSubscriberMissesNothing(t *testing.T) {
	cluster := kafkatest.Start(t, 1, "slow")
	m := connected(t, cluster.ListenAddrs(), "slow")
	ctx := testContext(t)
	conn := m.NewBytesConnection("slow")
	// The slow subscriber takes one message only when the test lets it,
	// long after the fast one saw everything: nothing may be dropped.
	release := make(chan struct{})
	var slowGot []string
	var mu sync.Mutex
	slowDone := make(chan struct{})
	const messages = 20
	if _, err := conn.Watch(func(ctx context.Context, msg messaging.BytesMessage) {
		select {
		case <-release:
		case <-ctx.Done():
			return
		}
		mu.Lock()
		slowGot = append(slowGot, string(msg.GetValue()))
		if len(slowGot) == messages {
			close(slowDone)
		}
		mu.Unlock()
	}, "slow"); err != nil {
		t.Fatal(err)
	}
	fast := newSink()
	if _, err := conn.Watch(fast.handler(), "slow"); err != nil {
		t.Fatal(err)
	}
	pub, _ := conn.NewAsyncPublisher("slow", nil, nil)
	for i := range messages {
		if err := pub.Put(ctx, "k", fmt.Appendf(nil, "m-%03d", i)); err != nil {
			t.Fatal(err)
		}
	}
	// Subscribers of one partition are called in turn, so the fast one
	// sees the first message only after the slow one took it.
	for range messages {
		release <- struct{}{}
	}
	if got := values(fast.take(t, messages)); !slices.Equal(got, numbered("m", messages)) {
		t.Errorf("fast subscriber got %q", got)
	}
	<-slowDone
	mu.Lock()
	defer mu.Unlock()
	if !slices.Equal(slowGot, numbered("m", messages)) {
		t.Errorf("slow subscriber got %q, in order", slowGot)
	}
}

func TestWatchPartitionFromOffset(t *testing.T) {
	cluster := kafkatest.Start(t, 3, "manual")
	m := connected(t, cluster.ListenAddrs(), "manual")
	ctx := testContext(t)
	conn := m.NewBytesConnection("manual")
	pub, err := conn.NewSyncPublisherToPartition("manual", 2)
	if err != nil {
		t.Fatal(err)
	}
	for i := range 10 {
		if err := pub.Put(ctx, fmt.Sprint(i), fmt.Appendf(nil, "m-%03d", i)); err != nil {
			t.Fatal(err)
		}
	}
	s := newSink()
	sub, err := conn.WatchPartition(s.handler(), "manual", 2, 4)
	if err != nil {
		t.Fatal(err)
	}
	got := s.take(t, 6)
	for i, r := range got {
		if r.Partition != 2 || r.Offset != int64(4+i) || r.Value != fmt.Sprintf("m-%03d", 4+i) {
			t.Errorf("message %d = %v, want partition 2 offset %d", i, r, 4+i)
		}
	}
	// Two subscribers may read the same partition from different offsets.
	s2 := newSink()
	if _, err := conn.WatchPartition(s2.handler(), "manual", 2, client.Oldest); err != nil {
		t.Fatal(err)
	}
	if got := s2.take(t, 10); got[0].Offset != 0 || got[9].Offset != 9 {
		t.Errorf("second reader got offsets %d..%d, want 0..9", got[0].Offset, got[9].Offset)
	}
	sub.Unsubscribe()
	if _, err := conn.WatchPartition(s.handler(), "manual", 2, 1000); err == nil {
		t.Error("WatchPartition at an offset past the end succeeded, want an error")
	}
}

func TestAsyncPublisherReportsErrors(t *testing.T) {
	cluster := kafkatest.Start(t, 2, "two")
	m := connected(t, cluster.ListenAddrs(), "errs")
	ctx := testContext(t)
	failed := make(chan error, 1)
	// Partition 7 does not exist.
	pub, err := m.NewBytesConnection("e").NewAsyncPublisherToPartition("two", 7, func(messaging.BytesMessage) {
		t.Error("success reported for a missing partition")
	}, func(_ messaging.BytesMessage, err error) { failed <- err })
	if err != nil {
		t.Fatal(err)
	}
	if err := pub.Put(ctx, "k", []byte("v")); err != nil {
		t.Fatal(err)
	}
	select {
	case err := <-failed:
		if err == nil {
			t.Error("error callback got a nil error")
		}
	case <-ctx.Done():
		t.Fatal("no error reported")
	}
	sync, _ := m.NewBytesConnection("e").NewSyncPublisherToPartition("two", 7)
	if err := sync.Put(ctx, "k", []byte("v")); err == nil {
		t.Error("sync Put to a missing partition succeeded")
	}
}

func TestAsyncPublisherWithoutCallbacksNeverBlocks(t *testing.T) {
	cluster := kafkatest.Start(t, 1, "quiet")
	m := connected(t, cluster.ListenAddrs(), "quiet")
	ctx := testContext(t)
	pub, _ := m.NewBytesConnection("q").NewAsyncPublisher("quiet", nil, nil)
	// Far more results than any channel buffer: nobody reads them.
	for i := range 5000 {
		if err := pub.Put(ctx, "", fmt.Appendf(nil, "%d", i)); err != nil {
			t.Fatal(err)
		}
	}
}

func TestCloseWithInFlightMessagesReportsEachOnce(t *testing.T) {
	cluster := kafkatest.Start(t, 3, "inflight")
	m, err := mux.New(mux.Config{Config: client.Config{Addrs: cluster.ListenAddrs()}})
	if err != nil {
		t.Fatal(err)
	}
	m.Start()
	ctx := testContext(t)
	<-m.Ready()
	var ok, failed atomic.Int64
	pub, _ := m.NewBytesConnection("c").NewAsyncPublisher("inflight",
		func(messaging.BytesMessage) { ok.Add(1) },
		func(messaging.BytesMessage, error) { failed.Add(1) })
	s := newSink()
	if _, err := m.NewBytesConnection("w").Watch(s.handler(), "inflight"); err != nil {
		t.Fatal(err)
	}
	const messages = 3000
	var queued int64
	for i := range messages {
		if err := pub.Put(ctx, fmt.Sprint(i), []byte("x")); err != nil {
			t.Fatal(err)
		}
		queued++
	}
	if err := m.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}
	if got := ok.Load() + failed.Load(); got != queued {
		t.Errorf("%d successes + %d errors = %d results, want one per message (%d)", ok.Load(), failed.Load(), got, queued)
	}
	if err := pub.Put(ctx, "k", []byte("late")); !errors.Is(err, mux.ErrClosed) {
		t.Errorf("Put after Close = %v, want ErrClosed", err)
	}
	if _, err := m.NewBytesConnection("late").Watch(s.handler(), "inflight"); !errors.Is(err, mux.ErrClosed) {
		t.Errorf("Watch after Close = %v, want ErrClosed", err)
	}
	if err := m.Close(); err != nil {
		t.Errorf("second Close: %v", err)
	}
}

func TestCloseReleasesBlockedHandlers(t *testing.T) {
	cluster := kafkatest.Start(t, 1, "blocked")
	m, err := mux.New(mux.Config{Config: client.Config{Addrs: cluster.ListenAddrs()}})
	if err != nil {
		t.Fatal(err)
	}
	m.Start()
	ctx := testContext(t)
	entered := make(chan struct{}, 1)
	// A handler that only returns when its context ends.
	if _, err := m.NewBytesConnection("b").Watch(func(ctx context.Context, _ messaging.BytesMessage) {
		entered <- struct{}{}
		<-ctx.Done()
	}, "blocked"); err != nil {
		t.Fatal(err)
	}
	<-m.Ready()
	pub, _ := m.NewBytesConnection("p").NewSyncPublisher("blocked")
	if err := pub.Put(ctx, "k", []byte("v")); err != nil {
		t.Fatal(err)
	}
	select {
	case <-entered:
	case <-ctx.Done():
		t.Fatal("handler not called")
	}
	if err := m.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}
}

func TestPublishersFailClearlyUntilBrokersAppear(t *testing.T) {
	addr, port := freeAddr(t)
	st := newStates()
	m := newMux(t, []string{addr}, "late", st.option())
	ctx := testContext(t)
	pub, err := m.NewProtoConnection("late").NewSyncPublisher("late")
	if err != nil {
		t.Fatal(err)
	}
	s := newSink()
	if _, err := m.NewBytesConnection("w").Watch(s.handler(), "late"); err != nil {
		t.Fatalf("Watch before the brokers exist: %v", err)
	}
	if err := st.next(t); err == nil {
		t.Fatal("first state is OK, want an error: no broker runs")
	}
	err = pub.Put(ctx, "k", wrapperspb.String("early"))
	if !errors.Is(err, mux.ErrNotConnected) {
		t.Fatalf("Put before the brokers exist = %v, want ErrNotConnected", err)
	}
	t.Logf("error while the brokers are down: %v", err)

	kafkatest.StartOn(t, port)
	if err := st.next(t); err != nil {
		t.Fatalf("state after the broker started = %v, want OK", err)
	}
	if err := pub.Put(ctx, "k", wrapperspb.String("late")); err != nil {
		t.Fatalf("Put once connected: %v", err)
	}
	got := s.take(t, 1)[0]
	var v wrapperspb.StringValue
	if err := proto.Unmarshal([]byte(got.Value), &v); err != nil || v.GetValue() != "late" {
		t.Errorf("received %q (%v), want late", v.GetValue(), err)
	}
	// Before the brokers stop at the end of the test.
	if err := m.Close(); err != nil {
		t.Errorf("Close: %v", err)
	}
}

func TestDisabledMultiplexerExplainsItself(t *testing.T) {
	m := mux.Disabled("no kafka.conf")
	m.Start()
	defer m.Close()
	pub, _ := m.NewBytesConnection("d").NewSyncPublisher("t")
	err := pub.Put(context.Background(), "k", nil)
	if !errors.Is(err, mux.ErrDisabled) {
		t.Errorf("Put = %v, want ErrDisabled", err)
	}
	if _, err := m.NewBytesConnection("d").Watch(func(context.Context, messaging.BytesMessage) {}, "t"); !errors.Is(err, mux.ErrDisabled) {
		t.Errorf("Watch = %v, want ErrDisabled", err)
	}
}

func TestInvalidConfigIsRejected(t *testing.T) {
	tests := []struct {
		name string
		cfg  client.Config
	}{
		{"address without port", client.Config{Addrs: []string{"localhost"}}},
		{"unknown acks", client.Config{RequiredAcks: "some"}},
		{"unknown partitioner", client.Config{Partitioner: "sticky"}},
		{"unknown compression", client.Config{Compression: "brotli"}},
		{"bad version", client.Config{Version: "three"}},
		{"idempotent without all acks", client.Config{Idempotent: true, RequiredAcks: "local"}},
		{"unknown SASL mechanism", client.Config{SASL: client.SASL{Mechanism: "GSSAPI", User: "u"}}},
		{"unknown initial offset", client.Config{InitialOffset: "middle"}},
		{"negative linger", client.Config{Linger: -1}},
		{"batch size without linger", client.Config{BatchMessages: 10}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if _, err := mux.New(mux.Config{Config: tt.cfg}); err == nil {
				t.Errorf("New(%+v) succeeded, want an error", tt.cfg)
			} else {
				t.Log(err)
			}
		})
	}
}
