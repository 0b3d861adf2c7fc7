package mux_test

import (
	"fmt"
	"maps"
	"slices"
	"strings"
	"testing"

	"github.com/plinth-go/plinth/internal/testwait"
	"github.com/plinth-go/plinth/messaging/kafka/kafkatest"
	"github.com/plinth-go/plinth/messaging/kafka/mux"
)

// assigned waits until m reads some partitions of topic and returns them.
// It checks a condition until waitLimit; it does not guess how long a
// rebalance takes.
func assigned(t *testing.T, ms ...*mux.Multiplexer) [][]int32 {
	t.Helper()
	var all [][]int32
	testwait.For(t, waitLimit, "assignments to cover the 4 partitions with every member", func() (bool, string) {
		all = nil
		total := 0
		for _, m := range ms {
			ps := m.Assignment()["grouped"]
			all = append(all, ps)
			total += len(ps)
		}
		return total == 4 && !slices.ContainsFunc(all, func(ps []int32) bool { return len(ps) == 0 }), fmt.Sprint(all)
	})
	return all
}

func TestConsumerGroupSplitsPartitionsAndResumesAfterRestart(t *testing.T) {
	cluster := kafkatest.Start(t, 4, "grouped")
	addrs := cluster.ListenAddrs()
	ctx := testContext(t)

	m1 := connected(t, addrs, "g")
	m2 := connected(t, addrs, "g")
	s1, s2 := newSink(), newSink()
	if _, err := m1.NewBytesConnection("a").Watch(s1.handler(), "grouped"); err != nil {
		t.Fatal(err)
	}
	if _, err := m2.NewBytesConnection("b").Watch(s2.handler(), "grouped"); err != nil {
		t.Fatal(err)
	}
	if _, err := cluster.WaitGroupStable(ctx, "g", 2); err != nil {
		t.Fatal(err)
	}
	split := assigned(t, m1, m2)
	if shared := slices.DeleteFunc(slices.Clone(split[0]), func(p int32) bool { return !slices.Contains(split[1], p) }); len(shared) > 0 {
		t.Fatalf("partitions %v read by both members: %v", shared, split)
	}
	t.Logf("assignment: %v", split)

	pub, _ := m1.NewBytesConnection("p").NewSyncPublisher("grouped")
	publish := func(batch string, n int) {
		for i := range n {
			if err := pub.Put(ctx, fmt.Sprintf("%s-%d", batch, i), fmt.Appendf(nil, "%s-%03d", batch, i)); err != nil {
				t.Fatal(err)
			}
		}
	}
	publish("first", 40)
	// Each message reaches exactly one member, from its own partitions.
	var got []received
	for len(got) < 40 {
		select {
		case r := <-s1.ch:
			if !slices.Contains(split[0], r.Partition) {
				t.Errorf("member 1 got %v from a partition it does not own", r)
			}
			got = append(got, r)
		case r := <-s2.ch:
			if !slices.Contains(split[1], r.Partition) {
				t.Errorf("member 2 got %v from a partition it does not own", r)
			}
			got = append(got, r)
		case <-ctx.Done():
			t.Fatalf("got %d of 40 messages", len(got))
		}
	}
	if !slices.Equal(values(got), numbered("first", 40)) {
		t.Errorf("members got %q", values(got))
	}

	// Stop both members, publish while the group is empty, and start a
	// new member: it reads exactly what was published meanwhile.
	for _, m := range []*mux.Multiplexer{m1, m2} {
		if err := m.Close(); err != nil {
			t.Fatal(err)
		}
	}
	m3 := connected(t, addrs, "g")
	pub3, _ := m3.NewBytesConnection("p").NewSyncPublisher("grouped")
	for i := range 20 {
		if err := pub3.Put(ctx, fmt.Sprintf("second-%d", i), fmt.Appendf(nil, "second-%03d", i)); err != nil {
			t.Fatal(err)
		}
	}
	s3 := newSink()
	if _, err := m3.NewBytesConnection("c").Watch(s3.handler(), "grouped"); err != nil {
		t.Fatal(err)
	}
	want := numbered("second", 20)
	seen := map[string]bool{}
	for len(seen) < len(want) {
		r := s3.take(t, 1)[0]
		if !strings.HasPrefix(r.Value, "second-") {
			t.Errorf("restarted member read %v again: its offset was committed", r)
			continue
		}
		seen[r.Value] = true
	}
	if got := slices.Sorted(maps.Keys(seen)); !slices.Equal(got, want) {
		t.Errorf("restarted member got %q", got)
	}
}
