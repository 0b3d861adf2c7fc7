//go:build linux

package faultsuite

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/plinth-go/plinth/infra/kvdb/etcd/etcdtest"
	"github.com/plinth-go/plinth/internal/freeport"
)

// TestKafkaBrokerCrashLosesAndDuplicatesNoAcknowledgedMessage: the demo
// agent publishes a steady stream of numbered messages (the traffic
// plugin, through the idempotent asynchronous publisher of the Kafka
// plugin) and reads them back as a member of its consumer group, while the
// broker (cmd/plinth-kafka, -sync-writes) is SIGKILLed and restarted on its
// ports and data dir. The outages take turns (see outages): an instant
// restart, a restart once the agent reports Kafka down, an outage of a few
// seconds (long enough for sarama's circuit breakers to open) and a long
// one (longer than every retry budget of sarama) while the subscription
// lives. After each restart the agent must publish again within
// publishAgainBound and consume again. After each round an independent
// reader (franz-go's kgo, in the test process) reads the topic, and every
// message the agent acknowledged so far must be stored at the offset it was
// acknowledged at. Then publishing stops, and the messages acknowledged
// and consumed are compared: every acknowledged message must be consumed at
// the offset it was acknowledged at, and no offset twice.
//
// A message may still be stored twice by the broker: kfake keeps the
// sequence numbers of idempotent producers only across a clean stop, so
// after a SIGKILL it stores again the retry of a batch whose answer the
// crash swallowed. Those copies sit at offsets never acknowledged, before
// the acknowledged copy of the same message; they are counted (figure
// "stored twice by the broker"), checked to be exactly that, and not
// failed: Kafka itself rebuilds that state from its log and discards them.
func TestKafkaBrokerCrashLosesAndDuplicatesNoAcknowledgedMessage(t *testing.T) {
	const (
		scenario = "kafka-crash"
		rate     = 500 // messages per second
		// load is how many messages must be acknowledged and consumed
		// between two kills: half a second of traffic.
		load = rate / 2
	)
	e := etcdtest.StartProcess(t)
	b := startKafka(t, "traffic:3")
	records := t.TempDir()
	ackedFile, consumedFile := filepath.Join(records, "acked"), filepath.Join(records, "consumed")
	a := newAgent(t, "faultsuite-kafka", e.Endpoints(), map[string]string{
		// Short timeouts make the agent notice the outage sooner.
		"kafka.conf": fmt.Sprintf("addrs: [%s]\ngroup_id: faultsuite-kafka\nidempotent: true\n"+
			"dial-timeout: 2s\nhealth-check-interval: 500ms\nreconnect-backoff-max: 1s\n", strings.Join(b.addrs, ", ")),
		"traffic.conf": fmt.Sprintf("topic: traffic\nrate: %d\nacked-file: %q\nconsumed-file: %q\n", rate, ackedFile, consumedFile),
	})
	c := &http.Client{Timeout: 10 * time.Second}
	defer c.CloseIdleConnections()
	reader := startLogReader(t, b.addrs, "traffic")

	started := time.Now()
	a.Start()
	waitFor(t, recoverTimeout, "traffic is acknowledged and consumed", trafficAbove(c, a, load, load))
	record(t, scenario, "start -> traffic flows", time.Since(started))

	for round := range rounds(len(outages), 6*len(outages)) {
		o := outages[round%len(outages)]
		before := trafficNow(t, c, a)
		waitFor(t, recoverTimeout, "steady load before the kill", trafficAbove(c, a, before.Acknowledged+load, before.Consumed+load))
		b.Kill()
		killed := time.Now()
		o.wait(t, c, a)
		down := trafficNow(t, c, a)
		b.Start()
		restarted := time.Now()
		record(t, scenario, "broker down", restarted.Sub(killed))
		d := waitFor(t, recoverTimeout, fmt.Sprintf("round %d (%s): acknowledged again after the restart", round, o.name),
			trafficAbove(c, a, down.Acknowledged+load, 0))
		record(t, scenario, "restart -> publishing, "+o.name, d)
		if d > publishAgainBound {
			t.Errorf("round %d (%s): publishing again took %v after the restart, want at most %v", round, o.name, d, publishAgainBound)
		}
		waitFor(t, recoverTimeout, fmt.Sprintf("round %d (%s): consumed again after the restart", round, o.name),
			trafficAbove(c, a, 0, down.Consumed+load))
		record(t, scenario, "restart -> consuming, "+o.name, time.Since(restarted))
		reader.check(t, fmt.Sprintf("round %d (%s)", round, o.name), ackedFile)
	}

	final := stopTraffic(t, a)
	logReport := reader.check(t, "after the stop", ackedFile)
	// Publishing has stopped: wait until the consumer caught up with every
	// acknowledged message, then stop the agent so that the files are final.
	caughtUp := time.Now()
	waitFor(t, recoverTimeout, "every acknowledged message consumed", func(context.Context) (bool, string) {
		acked, err := readTraffic(ackedFile)
		if err != nil {
			return false, err.Error()
		}
		consumed, err := readTraffic(consumedFile)
		if err != nil {
			return false, err.Error()
		}
		seen := make(map[string]bool, len(consumed))
		for _, r := range consumed {
			seen[r.id] = true
		}
		missing := 0
		for _, r := range acked {
			if !seen[r.id] {
				missing++
			}
		}
		return missing == 0, fmt.Sprintf("%d of %d acknowledged messages not consumed yet", missing, len(acked))
	})
	record(t, scenario, "stop -> all consumed", time.Since(caughtUp))
	a.stop()

	acked, err := readTraffic(ackedFile)
	if err != nil {
		t.Fatal(err)
	}
	consumed, err := readTraffic(consumedFile)
	if err != nil {
		t.Fatal(err)
	}
	r := compareTraffic(acked, consumed)
	recordCount(t, scenario, "acknowledged", int64(len(acked)))
	recordCount(t, scenario, "failed", final.Failed)
	recordCount(t, scenario, "consumed", int64(len(consumed)))
	recordCount(t, scenario, "lost", int64(len(r.lost)))
	recordCount(t, scenario, "duplicated", int64(len(r.duplicated)))
	recordCount(t, scenario, "stored twice by the broker", int64(len(r.brokerCopies)))
	recordCount(t, scenario, "consumed, not acknowledged", int64(r.unacknowledged))
	recordCount(t, scenario, "kgo: acknowledged, not in log", int64(len(logReport.lost)))
	recordCount(t, scenario, "kgo: stored twice by the broker", int64(len(logReport.brokerCopies)))

	if final.Acknowledged != int64(len(acked)) {
		t.Errorf("/traffic counts %d acknowledged messages, the file %d", final.Acknowledged, len(acked))
	}
	if final.Published != final.Acknowledged+final.Failed || final.InFlight != 0 {
		t.Errorf("after the stop: %+v, want every published message acknowledged or failed", final)
	}
	for _, problem := range []struct {
		what string
		ids  []string
	}{
		{"acknowledged twice", r.ackedTwice},
		{"acknowledged but never consumed at the acknowledged offset (lost)", r.lost},
		{"consumed twice at one offset (duplicated)", r.duplicated},
		{"acknowledged at an offset that holds another message", r.mismatched},
		{"stored twice, but not as a retried batch the broker lost track of", r.strayCopies},
	} {
		if len(problem.ids) > 0 {
			t.Errorf("%d messages %s: %s", len(problem.ids), problem.what, firstIDs(problem.ids))
		}
	}
}

// publishAgainBound bounds the time from a broker restart until the agent
// publishes again (acknowledges load more messages). sarama alone needed
// up to 10 s after an outage of a few seconds (its circuit breakers stay
// open that long); the Kafka plugin renews its producers as soon as the
// brokers answer, which takes about a second (docs/operations.md has the
// figures). The bound leaves room for a loaded machine and still fails a
// return to sarama's 10 s.
const publishAgainBound = 8 * time.Second

// outage is one way the brokers stay away before the restart.
type outage struct {
	name string
	wait func(t *testing.T, c *http.Client, a *agent)
}

// outages take turns in TestKafkaBrokerCrashLosesAndDuplicatesNoAcknowledgedMessage.
var outages = []outage{
	{"instant", func(*testing.T, *http.Client, *agent) {}},
	{"noticed", func(t *testing.T, c *http.Client, a *agent) {
		// The agent notices: publishes fail and the group session ends
		// more often than after a quick restart.
		waitFor(t, recoverTimeout, "agent notices the broker is down", pluginState(c, a, "kafka", 2))
	}},
	// Three failed partition lookups open a circuit breaker of sarama's
	// producer for 10 s; a few seconds of outage make them.
	{"4s down", func(*testing.T, *http.Client, *agent) { time.Sleep(4 * time.Second) }},
	// Longer than every retry budget of sarama: the producer's breaker
	// (10 s), the consumer group's rebalance retries (4 x 2 s) and the
	// broker's group session timeout (10 s), while the subscription lives.
	{"15s down", func(*testing.T, *http.Client, *agent) { time.Sleep(15 * time.Second) }},
}

// logReader reads a topic with franz-go's kgo, a client independent of the
// agent's (sarama), from its start for the whole test, finding the
// restarted brokers by itself, and keeps what each offset holds.
type logReader struct {
	cancel context.CancelFunc
	done   chan struct{}

	mu        sync.Mutex // guards the fields below
	at        map[partitionOffset]string
	next      map[int32]int64 // per partition, the offset after the last record read
	conflicts []string        // offsets read twice with different values
}

func startLogReader(t *testing.T, addrs []string, topic string) *logReader {
	t.Helper()
	cl, err := kgo.NewClient(kgo.SeedBrokers(addrs...), kgo.ConsumeTopics(topic),
		kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()))
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	l := &logReader{cancel: cancel, done: make(chan struct{}),
		at: map[partitionOffset]string{}, next: map[int32]int64{}}
	go func() {
		defer close(l.done)
		for ctx.Err() == nil {
			// Errors while the brokers are down are retried by kgo.
			cl.PollFetches(ctx).EachRecord(l.add)
		}
	}()
	t.Cleanup(func() { // before the brokers stop: registered after them
		l.cancel()
		<-l.done
		cl.Close()
	})
	return l
}

func (l *logReader) add(r *kgo.Record) {
	l.mu.Lock()
	defer l.mu.Unlock()
	at := partitionOffset{r.Partition, r.Offset}
	if old, ok := l.at[at]; ok && old != string(r.Value) {
		l.conflicts = append(l.conflicts, fmt.Sprintf("%d/%d holds %q, then %q", at.partition, at.offset, old, r.Value))
	}
	l.at[at] = string(r.Value)
	l.next[r.Partition] = max(l.next[r.Partition], r.Offset+1)
}

// check waits until the reader has read past every message acknowledged in
// ackedFile so far, and fails the test unless each is stored at the offset
// it was acknowledged at; copies stored twice by the broker (see the test)
// are counted, not failed. when names the moment in failures.
func (l *logReader) check(t *testing.T, when, ackedFile string) trafficReport {
	t.Helper()
	acked, err := readTrafficSoFar(ackedFile)
	if err != nil {
		t.Fatal(err)
	}
	want := map[int32]int64{}
	for _, r := range acked {
		want[r.partition] = max(want[r.partition], r.offset+1)
	}
	waitFor(t, recoverTimeout, when+": kgo reads every acknowledged message", func(context.Context) (bool, string) {
		l.mu.Lock()
		defer l.mu.Unlock()
		for p, n := range want {
			if l.next[p] < n {
				return false, fmt.Sprintf("partition %d read up to offset %d, acknowledged up to %d", p, l.next[p], n-1)
			}
		}
		return true, ""
	})
	l.mu.Lock()
	stored := make([]trafficRecord, 0, len(l.at))
	for at, id := range l.at {
		stored = append(stored, trafficRecord{id, at.partition, at.offset})
	}
	conflicts := slices.Clone(l.conflicts)
	l.mu.Unlock()
	r := compareTraffic(acked, stored)
	for _, problem := range []struct {
		what string
		ids  []string
	}{
		{"acknowledged twice", r.ackedTwice},
		{"acknowledged but not in the log at the acknowledged offset (lost)", r.lost},
		{"acknowledged at an offset that holds another message", r.mismatched},
		{"stored twice, but not as a retried batch the broker lost track of", r.strayCopies},
		{"read twice by kgo with different values", conflicts},
	} {
		if len(problem.ids) > 0 {
			t.Errorf("%s: kgo: %d messages %s: %s", when, len(problem.ids), problem.what, firstIDs(problem.ids))
		}
	}
	return r
}

// compareTraffic sorts every consumed record into one class; the scenario
// above meets most classes rarely, so each is pinned here.
func TestCompareTrafficTellsEachKindOfCopyApart(t *testing.T) {
	acked := []trafficRecord{
		{"a", 0, 0}, {"b", 0, 1}, {"c", 1, 0}, {"d", 1, 3}, {"e", 2, 0}, {"f", 2, 1}, {"g", 2, 5},
		{"b", 0, 1}, // the publisher reported b twice
	}
	consumed := []trafficRecord{
		{"a", 0, 0}, {"b", 0, 1},
		{"a", 0, 0}, // handed again at its offset
		{"c", 1, 0},
		{"d", 1, 1}, {"d", 1, 3}, // a retried batch stored twice, at 1 and 3
		{"x", 1, 2}, // published, failed, stored all the same
		{"e", 2, 1}, // at f's offset: e was acknowledged at 0, f at 1
		{"g", 2, 4}, // a copy before the acknowledged one, as a retry makes
		{"g", 2, 5},
		{"g", 2, 6}, // a copy after it: no retry explains that
	}
	r := compareTraffic(acked, consumed)
	for _, tt := range []struct {
		name      string
		got, want []string
	}{
		{"acknowledged twice", r.ackedTwice, []string{"b"}},
		{"lost", r.lost, []string{"e"}},
		{"duplicated", r.duplicated, []string{"a"}},
		{"mismatched", r.mismatched, []string{"f"}},
		{"stored twice by the broker", r.brokerCopies, []string{"d", "g"}},
		{"stray copies", r.strayCopies, []string{"e", "g"}},
	} {
		got := slices.Sorted(slices.Values(tt.got))
		if !slices.Equal(got, tt.want) {
			t.Errorf("%s: %q, want %q", tt.name, got, tt.want)
		}
	}
	if r.unacknowledged != 1 {
		t.Errorf("consumed, not acknowledged: %d, want 1 (x)", r.unacknowledged)
	}
}

// trafficStatus is the JSON of GET /traffic of the demo agent.
type trafficStatus struct {
	Published    int64 `json:"published"`
	Acknowledged int64 `json:"acknowledged"`
	Failed       int64 `json:"failed"`
	Consumed     int64 `json:"consumed"`
	InFlight     int64 `json:"in_flight"`
}

func getTraffic(ctx context.Context, c *http.Client, a *agent, method, path string) (trafficStatus, error) {
	var s trafficStatus
	err := requestJSON(ctx, c, method, a.url(path), &s)
	return s, err
}

// trafficNow returns the counters of the traffic plugin.
func trafficNow(t *testing.T, c *http.Client, a *agent) trafficStatus {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
	defer cancel()
	s, err := getTraffic(ctx, c, a, http.MethodGet, "/traffic")
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// stopTraffic stops publishing and returns the counters once every message
// has its result.
// stopTrafficTimeout bounds the wait for the results of the messages in
// flight when publishing stops. sarama bounds a message by its retries: up
// to 4 attempts, each waiting up to Net.ReadTimeout (30s) for a broker
// that took the request and does not answer.
const stopTrafficTimeout = 2 * time.Minute

func stopTraffic(t *testing.T, a *agent) trafficStatus {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), stopTrafficTimeout)
	defer cancel()
	c := &http.Client{}
	defer c.CloseIdleConnections()
	s, err := getTraffic(ctx, c, a, http.MethodPost, "/traffic/stop")
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// trafficAbove returns a condition for waitFor: the traffic plugin counts
// at least acked acknowledged and consumed consumed messages.
func trafficAbove(c *http.Client, a *agent, acked, consumed int64) func(ctx context.Context) (bool, string) {
	return func(ctx context.Context) (bool, string) {
		s, err := getTraffic(ctx, c, a, http.MethodGet, "/traffic")
		if err != nil {
			return false, err.Error()
		}
		return s.Acknowledged >= acked && s.Consumed >= consumed,
			fmt.Sprintf("acknowledged %d (want %d), consumed %d (want %d), failed %d", s.Acknowledged, acked, s.Consumed, consumed, s.Failed)
	}
}

// trafficRecord is one line of a record file of the traffic plugin.
type trafficRecord struct {
	id        string
	partition int32
	offset    int64
}

type partitionOffset struct {
	partition int32
	offset    int64
}

// readTraffic reads a record file that is complete; a missing file has no
// record.
func readTraffic(path string) ([]trafficRecord, error) { return readRecords(path, false) }

// readTrafficSoFar reads a record file the agent may be writing: a last
// line without its newline is being written, and left out.
func readTrafficSoFar(path string) ([]trafficRecord, error) { return readRecords(path, true) }

func readRecords(path string, growing bool) ([]trafficRecord, error) {
	data, err := os.ReadFile(path)
	if os.IsNotExist(err) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	if growing {
		data = data[:bytes.LastIndexByte(data, '\n')+1]
	}
	var rs []trafficRecord
	sc := bufio.NewScanner(bytes.NewReader(data))
	for n := 1; sc.Scan(); n++ {
		fields := strings.Fields(sc.Text())
		if len(fields) != 3 {
			return nil, fmt.Errorf("%s:%d: %q is not <id> <partition> <offset>", path, n, sc.Text())
		}
		p, perr := strconv.ParseInt(fields[1], 10, 32)
		o, oerr := strconv.ParseInt(fields[2], 10, 64)
		if perr != nil || oerr != nil {
			return nil, fmt.Errorf("%s:%d: %q is not <id> <partition> <offset>", path, n, sc.Text())
		}
		rs = append(rs, trafficRecord{fields[0], int32(p), o})
	}
	return rs, sc.Err()
}

// trafficReport is the comparison of acknowledged and consumed messages.
// Each list holds message ids.
type trafficReport struct {
	ackedTwice []string // the publisher reported one message acknowledged twice
	lost       []string // acknowledged, never consumed at the acknowledged offset
	duplicated []string // consumed again at an offset already consumed
	mismatched []string // acknowledged at an offset where another message was consumed
	// brokerCopies are acknowledged messages also consumed at an offset
	// they were not acknowledged at, earlier in the same partition and
	// acknowledged for no message: the copy a broker stores when it
	// accepts the retry of a batch it had stored before it crashed.
	brokerCopies []string
	strayCopies  []string // other copies of acknowledged messages
	// unacknowledged counts messages consumed but never acknowledged:
	// failed publishes that the broker stored nevertheless.
	unacknowledged int
}

func compareTraffic(acked, consumed []trafficRecord) trafficReport {
	var r trafficReport
	ackedAt := make(map[string]partitionOffset, len(acked))
	ackedOffsets := make(map[partitionOffset]string, len(acked))
	for _, a := range acked {
		if _, ok := ackedAt[a.id]; ok {
			r.ackedTwice = append(r.ackedTwice, a.id)
			continue
		}
		at := partitionOffset{a.partition, a.offset}
		ackedAt[a.id] = at
		ackedOffsets[at] = a.id
	}
	seenAt := make(map[partitionOffset]string, len(consumed))
	for _, c := range consumed {
		at := partitionOffset{c.partition, c.offset}
		if _, ok := seenAt[at]; ok {
			r.duplicated = append(r.duplicated, c.id)
			continue
		}
		seenAt[at] = c.id
		want, wasAcked := ackedAt[c.id]
		switch {
		case !wasAcked:
			r.unacknowledged++
		case at == want:
		case at.partition == want.partition && at.offset < want.offset && ackedOffsets[at] == "":
			r.brokerCopies = append(r.brokerCopies, c.id)
		default:
			r.strayCopies = append(r.strayCopies, c.id)
		}
	}
	for id, at := range ackedAt {
		switch got, ok := seenAt[at]; {
		case !ok:
			r.lost = append(r.lost, id)
		case got != id:
			r.mismatched = append(r.mismatched, id)
		}
	}
	return r
}

// firstIDs returns the first ids of a list, for an error message.
func firstIDs(ids []string) string {
	if len(ids) > 10 {
		return strings.Join(ids[:10], " ") + " ..."
	}
	return strings.Join(ids, " ")
}

// kafkaBin is cmd/plinth-kafka, built by the first test that needs it into
// the directory of agentBin, which TestMain removes.
var (
	kafkaBuild    sync.Once
	kafkaBin      string
	kafkaBuildErr error
)

func kafkaBinary(t *testing.T) string {
	t.Helper()
	kafkaBuild.Do(func() {
		kafkaBin = filepath.Join(filepath.Dir(agentBin), "plinth-kafka")
		kafkaBuildErr = goBuild(kafkaBin, "cmd/plinth-kafka")
	})
	if kafkaBuildErr != nil {
		t.Fatal(kafkaBuildErr)
	}
	return kafkaBin
}

// kafkaBroker is cmd/plinth-kafka running as a separate process: three
// brokers on fixed loopback ports, with its data in a directory of the
// test and every produced batch fsynced before it is acknowledged, so that
// a restart after SIGKILL finds every acknowledged message.
type kafkaBroker struct {
	process // its log gets the stderr of every run
	addrs   []string
	args    []string
}

// startKafka starts the brokers with the given -seed-topics.
func startKafka(t *testing.T, topics string) *kafkaBroker {
	t.Helper()
	var ports []string
	b := &kafkaBroker{process: process{t: t, what: "plinth-kafka", log: filepath.Join(t.TempDir(), "plinth-kafka.log")}}
	for range 3 {
		p := strconv.Itoa(freeport.Port(t))
		ports = append(ports, p)
		b.addrs = append(b.addrs, "127.0.0.1:"+p)
	}
	b.args = []string{"-ports", strings.Join(ports, ","), "-data-dir", filepath.Join(t.TempDir(), "kafka"),
		"-sync-writes", "-seed-topics", topics, "-log-level", "warn"}
	t.Cleanup(b.stop)
	b.Start()
	return b
}

// Start starts the brokers and waits until they listen.
func (b *kafkaBroker) Start() {
	b.t.Helper()
	out, err := os.OpenFile(b.log, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		b.t.Fatal(err)
	}
	defer out.Close()
	cmd := exec.Command(kafkaBinary(b.t), b.args...)
	cmd.Stderr, cmd.Env = out, append(os.Environ(), "GOTRACEBACK=all")
	// The brokers must not outlive a test binary that dies.
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		b.t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		b.t.Fatal(err)
	}
	b.cmd, b.done = cmd, make(chan struct{})
	ready := make(chan string, 1)
	go func(done chan struct{}) {
		r := bufio.NewReader(stdout)
		line, _ := r.ReadString('\n')
		ready <- line
		_, _ = io.Copy(io.Discard, r) // until the process exits
		_ = cmd.Wait()
		close(done)
	}(b.done)
	select {
	case line := <-ready:
		if !strings.HasPrefix(line, "ready ") {
			b.Kill()
			b.t.Fatalf("plinth-kafka: first line %q, want ready <addrs>; output:\n%s", line, b.output())
		}
	case <-time.After(recoverTimeout):
		b.Kill()
		b.t.Fatalf("plinth-kafka: not ready after %v; output:\n%s", recoverTimeout, b.output())
	}
}
