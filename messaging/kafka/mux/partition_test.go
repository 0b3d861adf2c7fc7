package mux_test

import (
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/IBM/sarama"
	"github.com/twmb/franz-go/pkg/kfake"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/plinth-go/plinth/internal/testwait"
	"github.com/plinth-go/plinth/messaging/kafka/client"
	"github.com/plinth-go/plinth/messaging/kafka/mux"
)

// testBroker is one broker on a fixed loopback port that a test stops and
// starts again; it keeps its data in a directory of the test.
type testBroker struct {
	t       *testing.T
	port    int
	dataDir string
	opts    []kfake.Opt

	mu      sync.Mutex // guards cluster
	cluster *kfake.Cluster
}

// newTestBroker returns a broker on a free port, not started, with the
// given options besides the port and the data directory.
func newTestBroker(t *testing.T, opts ...kfake.Opt) *testBroker {
	t.Helper()
	_, port := freeAddr(t)
	b := &testBroker{t: t, port: port, dataDir: t.TempDir(), opts: opts}
	t.Cleanup(b.stop) // registered before the multiplexer: runs after its Close
	return b
}

func (b *testBroker) addrs() []string { return []string{fmt.Sprintf("127.0.0.1:%d", b.port)} }

func (b *testBroker) start() {
	b.t.Helper()
	c, err := kfake.NewCluster(append([]kfake.Opt{kfake.Ports(b.port), kfake.DataDir(b.dataDir)}, b.opts...)...)
	if err != nil {
		b.t.Fatalf("start broker on port %d: %v", b.port, err)
	}
	b.mu.Lock()
	b.cluster = c
	b.mu.Unlock()
}

// stop closes the broker, keeping its data; it is idempotent.
func (b *testBroker) stop() {
	b.mu.Lock()
	c := b.cluster
	b.cluster = nil
	b.mu.Unlock()
	if c != nil {
		c.Close()
	}
}

// admin returns a sarama cluster admin of the broker, closed when the test
// ends.
func (b *testBroker) admin() sarama.ClusterAdmin {
	b.t.Helper()
	a, err := sarama.NewClusterAdmin(b.addrs(), sarama.NewConfig())
	if err != nil {
		b.t.Fatal(err)
	}
	b.t.Cleanup(func() { _ = a.Close() })
	return a
}

// kgoProducer returns a franz-go client, an implementation of the protocol
// independent of the multiplexer's, writing to the partition each record
// names and finding a restarted broker by itself.
func kgoProducer(t *testing.T, addrs []string) *kgo.Client {
	t.Helper()
	cl, err := kgo.NewClient(kgo.SeedBrokers(addrs...), kgo.RecordPartitioner(kgo.ManualPartitioner()))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(cl.Close)
	return cl
}

func produceTo(t *testing.T, cl *kgo.Client, topic string, partition int32, values ...string) {
	t.Helper()
	ctx := testContext(t)
	for _, v := range values {
		if err := cl.ProduceSync(ctx, &kgo.Record{Topic: topic, Partition: partition, Value: []byte(v)}).FirstErr(); err != nil {
			t.Fatalf("kgo: produce %q to %s/%d: %v", v, topic, partition, err)
		}
	}
}

// errMentions returns a condition: Err of m mentions want.
func errMentions(m *mux.Multiplexer, want string) func() (bool, string) {
	return func() (bool, string) {
		err := m.Err()
		return err != nil && strings.Contains(err.Error(), want), fmt.Sprintf("Err() = %v", err)
	}
}

func errNil(m *mux.Multiplexer) func() (bool, string) {
	return func() (bool, string) {
		err := m.Err()
		return err == nil, fmt.Sprintf("Err() = %v", err)
	}
}

// expectValues takes len(want) messages from s and checks their values, in
// order.
func expectValues(t *testing.T, s *sink, want ...string) {
	t.Helper()
	if got := s.take(t, len(want)); !slices.Equal(valuesInOrder(got), want) {
		t.Fatalf("received %q, want %q", valuesInOrder(got), want)
	}
}

func valuesInOrder(rs []received) []string {
	vs := make([]string, len(rs))
	for i, r := range rs {
		vs[i] = r.Value
	}
	return vs
}

func numberedInOrder(prefix string, n int) []string {
	vs := make([]string, n)
	for i := range vs {
		vs[i] = fmt.Sprintf("%s-%02d", prefix, i)
	}
	return vs
}

// A partition subscription lives through any number of broker outages,
// and the errors sarama reported for it meanwhile are not returned later by
// Close.
func TestWatchPartitionKeepsReadingAcrossBrokerOutagesAndClosesCleanly(t *testing.T) {
	const rounds = 5
	b := newTestBroker(t, kfake.SeedTopics(1, "outage"))
	b.start()
	st := newStates()
	m := connected(t, b.addrs(), "outage", st.option())
	if err := st.next(t); err != nil {
		t.Fatalf("first state = %v, want OK", err)
	}
	s := newSink()
	if _, err := m.NewBytesConnection("w").WatchPartition(s.handler(), "outage", 0, client.Oldest); err != nil {
		t.Fatal(err)
	}
	producer := kgoProducer(t, b.addrs())
	for round := range rounds {
		v := fmt.Sprintf("round-%d", round)
		produceTo(t, producer, "outage", 0, v)
		expectValues(t, s, v)
		b.stop()
		if err := st.next(t); err == nil {
			t.Fatalf("round %d: state OK while the broker is down", round)
		}
		b.start()
		if err := st.next(t); err != nil {
			t.Fatalf("round %d: state %v after the broker restarted, want OK", round, err)
		}
	}
	after := numberedInOrder("after", 20)
	produceTo(t, producer, "outage", 0, after...)
	expectValues(t, s, after...)
	if err := m.Close(); err != nil {
		t.Errorf("Close = %v, want nil: the errors of the outages were reported (logged) already", err)
	}
}

// A WatchPartition made before the first connection succeeds; a partition
// that cannot be read when the connection comes up is retried until it can,
// and Err (the plugin's status) says why meanwhile.
func TestWatchPartitionMadeBeforeTheBrokersStartsOnceItCan(t *testing.T) {
	tests := []struct {
		name string
		// brokerOpts configure the broker; ready makes the partition
		// readable once Err reported that it is not.
		brokerOpts []kfake.Opt
		offset     int64
		ready      func(t *testing.T, b *testBroker, p *kgo.Client)
		want       []string // the values read
		wantErr    string   // Err mentions it before ready
	}{
		{
			name:       "the topic is created once the brokers run",
			brokerOpts: nil, // no auto-creation: the topic does not exist until created
			offset:     client.Oldest,
			ready: func(t *testing.T, b *testBroker, p *kgo.Client) {
				err := b.admin().CreateTopic("later", &sarama.TopicDetail{NumPartitions: 2, ReplicationFactor: 1}, false)
				if err != nil {
					t.Fatal(err)
				}
				produceTo(t, p, "later", 1, "first", "second")
			},
			want:    []string{"first", "second"},
			wantErr: "cannot start",
		},
		{
			name:       "the offset is reached once messages are published",
			brokerOpts: []kfake.Opt{kfake.SeedTopics(2, "later")},
			offset:     3,
			ready: func(t *testing.T, _ *testBroker, p *kgo.Client) {
				produceTo(t, p, "later", 1, numberedInOrder("m", 5)...)
			},
			want:    []string{"m-03", "m-04"},
			wantErr: "offset",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b := newTestBroker(t, tt.brokerOpts...)
			m := newMux(t, b.addrs(), "late-partition")
			s := newSink()
			if _, err := m.NewBytesConnection("w").WatchPartition(s.handler(), "later", 1, tt.offset); err != nil {
				t.Fatalf("WatchPartition before the brokers run: %v", err)
			}
			b.start()
			<-m.Ready()
			testwait.For(t, waitLimit, "Err names the subscription that cannot start", errMentions(m, tt.wantErr))
			t.Logf("while the partition cannot be read: %v", m.Err())
			tt.ready(t, b, kgoProducer(t, b.addrs()))
			expectValues(t, s, tt.want...)
			testwait.For(t, waitLimit, "Err is nil once the partition is read", errNil(m))
		})
	}
}

// A partition that cannot be fetched although the brokers answer (here:
// its topic was deleted) makes Err report the subscription after
// partitionErrorGrace (10 s); once the topic exists again, the
// subscription reads it from its new start and Err is nil again.
func TestWatchPartitionReportsAPartitionItCannotFetchAndRecovers(t *testing.T) {
	b := newTestBroker(t, kfake.SeedTopics(1, "doomed"))
	b.start()
	st := newStates()
	m := connected(t, b.addrs(), "doomed", st.option())
	s := newSink()
	if _, err := m.NewBytesConnection("w").WatchPartition(s.handler(), "doomed", 0, client.Oldest); err != nil {
		t.Fatal(err)
	}
	producer := kgoProducer(t, b.addrs())
	before := numberedInOrder("before", 3)
	produceTo(t, producer, "doomed", 0, before...)
	expectValues(t, s, before...)

	admin := b.admin()
	if err := admin.DeleteTopic("doomed"); err != nil {
		t.Fatal(err)
	}
	testwait.For(t, waitLimit, "Err reports the partition that cannot be fetched", errMentions(m, "fetching keeps failing"))
	t.Logf("while the topic is gone: %v", m.Err())

	if err := admin.CreateTopic("doomed", &sarama.TopicDetail{NumPartitions: 1, ReplicationFactor: 1}, false); err != nil {
		t.Fatal(err)
	}
	// Until the subscription reads the new partition, a message published
	// to it takes an offset the subscription already read.
	testwait.For(t, waitLimit, "Err is nil once the new partition is read", errNil(m))
	after := numberedInOrder("after", 3)
	// A new client: kgo keeps the id of the deleted topic.
	produceTo(t, kgoProducer(t, b.addrs()), "doomed", 0, after...)
	expectValues(t, s, after...)

	var announced []string
	st.mu.Lock()
	for _, err := range st.all {
		announced = append(announced, fmt.Sprint(err))
	}
	st.mu.Unlock()
	if !slices.ContainsFunc(announced, func(e string) bool { return strings.Contains(e, "fetching keeps failing") }) {
		t.Errorf("states announced %q, want one naming the subscription", announced)
	}
	if announced[len(announced)-1] != "<nil>" {
		t.Errorf("last state announced %s, want OK", announced[len(announced)-1])
	}
}
