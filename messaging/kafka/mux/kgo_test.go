package mux_test

import (
	"fmt"
	"slices"
	"testing"

	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/plinth-go/plinth/messaging"
	"github.com/plinth-go/plinth/messaging/kafka/kafkatest"
)

// franz-go's kgo is an independent implementation of the protocol: what one
// client writes, the other must read unchanged.
func TestCrossCheckWithFranzGo(t *testing.T) {
	cluster := kafkatest.Start(t, 3, "to-kgo", "from-kgo")
	addrs := cluster.ListenAddrs()
	m := connected(t, addrs, "cross")
	ctx := testContext(t)
	const n = 20

	t.Run("kgo reads what the multiplexer publishes", func(t *testing.T) {
		pub, _ := m.NewBytesConnection("x").NewSyncPublisher("to-kgo")
		for i := range n {
			h := messaging.Header{Key: "i", Value: fmt.Append(nil, i)}
			if err := pub.Put(ctx, fmt.Sprintf("k%d", i), fmt.Appendf(nil, "m-%03d", i), messaging.WithHeaders(h)); err != nil {
				t.Fatal(err)
			}
		}
		cl, err := kgo.NewClient(kgo.SeedBrokers(addrs...), kgo.ConsumeTopics("to-kgo"),
			kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()))
		if err != nil {
			t.Fatal(err)
		}
		defer cl.Close()
		var got []string
		for len(got) < n {
			fs := cl.PollFetches(ctx)
			if err := ctx.Err(); err != nil {
				t.Fatalf("kgo read %d of %d: %v", len(got), n, err)
			}
			fs.EachRecord(func(r *kgo.Record) {
				if len(r.Headers) != 1 || string(r.Key) != "k"+string(r.Headers[0].Value) {
					t.Errorf("record key %q headers %v, want key k<i> and header i=<i>", r.Key, r.Headers)
				}
				got = append(got, string(r.Value))
			})
		}
		slices.Sort(got)
		if !slices.Equal(got, numbered("m", n)) {
			t.Errorf("kgo read %q", got)
		}
	})

	t.Run("the multiplexer reads what kgo produces", func(t *testing.T) {
		cl, err := kgo.NewClient(kgo.SeedBrokers(addrs...))
		if err != nil {
			t.Fatal(err)
		}
		defer cl.Close()
		for i := range n {
			r := &kgo.Record{Topic: "from-kgo", Key: fmt.Appendf(nil, "k%d", i), Value: fmt.Appendf(nil, "m-%03d", i),
				Headers: []kgo.RecordHeader{{Key: "origin", Value: []byte("kgo")}}}
			if err := cl.ProduceSync(ctx, r).FirstErr(); err != nil {
				t.Fatal(err)
			}
		}
		s := newSink()
		if _, err := m.NewBytesConnection("y").Watch(s.handler(), "from-kgo"); err != nil {
			t.Fatal(err)
		}
		got := s.take(t, n)
		for _, r := range got {
			if len(r.Headers) != 1 || string(r.Headers[0].Value) != "kgo" {
				t.Errorf("message %v has headers %v, want origin=kgo", r, r.Headers)
			}
		}
		if !slices.Equal(values(got), numbered("m", n)) {
			t.Errorf("multiplexer read %q", values(got))
		}
	})
}
