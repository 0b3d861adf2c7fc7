package kafka_test

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/plinth-go/plinth/agent"
	"github.com/plinth-go/plinth/agent/agenttest"
	"github.com/plinth-go/plinth/health/statuscheck"
	"github.com/plinth-go/plinth/health/statuscheck/model"
	"github.com/plinth-go/plinth/infra/config/configtest"
	"github.com/plinth-go/plinth/internal/freeport"
	"github.com/plinth-go/plinth/messaging"
	"github.com/plinth-go/plinth/messaging/kafka"
	"github.com/plinth-go/plinth/messaging/kafka/client"
	"github.com/plinth-go/plinth/messaging/kafka/kafkatest"
	"github.com/plinth-go/plinth/messaging/kafka/mux"
)

const waitLimit = 90 * time.Second

func testContext(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), waitLimit)
	t.Cleanup(cancel)
	return ctx
}

// writeConf writes kafka.conf in a temporary directory and returns its path.
func writeConf(t *testing.T, content string) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "kafka.conf")
	if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

// fastConf is a kafka.conf for addrs that notices broker changes quickly.
func fastConf(addrs ...string) string {
	return fmt.Sprintf("addrs: [%s]\ngroup_id: plugin-test\nhealth-check-interval: 100ms\nreconnect-backoff-max: 200ms\n", strings.Join(addrs, ", "))
}

func statusPlugin() *statuscheck.Plugin {
	return statuscheck.NewPlugin(statuscheck.UseConf(statuscheck.Config{DisablePublish: true}))
}

// stateWatcher follows the state of the kafka plugin in the status check.
type stateWatcher struct {
	sc      *statuscheck.Plugin
	changed <-chan struct{}
}

func watchState(t *testing.T, sc *statuscheck.Plugin) *stateWatcher {
	ch, cancel := sc.Subscribe()
	t.Cleanup(cancel)
	return &stateWatcher{sc: sc, changed: ch}
}

// await waits until the kafka plugin is in state want and returns its status.
func (w *stateWatcher) await(t *testing.T, want model.OperationalState) *model.PluginStatus {
	t.Helper()
	ctx := testContext(t)
	for {
		if s := w.sc.Snapshot().Plugin(kafka.PluginName); s != nil && s.State == want {
			return s
		}
		select {
		case <-w.changed:
		case <-ctx.Done():
			t.Fatalf("kafka status never became %v: %v", want, w.sc.Snapshot().Plugin(kafka.PluginName))
		}
	}
}

func TestNoConfigFileDisablesThePlugin(t *testing.T) {
	p := kafka.NewPlugin()
	agenttest.Start(t, agent.AllPlugins(p))
	if !p.Disabled() {
		t.Fatal("Disabled() = false without kafka.conf")
	}
	pub, err := p.NewBytesConnection("x").NewSyncPublisher("t")
	if err != nil {
		t.Fatal(err)
	}
	if err := pub.Put(context.Background(), "k", []byte("v")); !errors.Is(err, mux.ErrDisabled) {
		t.Errorf("Put on a disabled plugin = %v, want ErrDisabled", err)
	}
}

func TestBadConfigFileFailsTheStartNamingFileAndLine(t *testing.T) {
	tests := []struct {
		name, content, want string
	}{
		{"unknown key", "addrs: [127.0.0.1:9092]\ngroup-id: x\n", `kafka.conf:2`},
		{"bad value", "addrs: [127.0.0.1:9092]\nrequired-acks: maybe\n", `required-acks`},
		{"bad duration", "health-check-interval: 5\n", `kafka.conf:1`},
		{"linger without a unit", "addrs: [127.0.0.1:9092]\nlinger: 5\n", `kafka.conf:2`},
		{"batch size that is not a number", "batch-messages: many\n", `kafka.conf:1`},
		{"batch size without linger", "batch-bytes: 65536\n", `batch-bytes`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			path := writeConf(t, tt.content)
			a := agenttest.New(t, agent.AllPlugins(kafka.NewPlugin()), agenttest.Env(map[string]string{"KAFKA_CONFIG": path}))
			err := a.Start()
			if err == nil {
				_ = a.Stop()
				t.Fatal("Start succeeded with a bad kafka.conf")
			}
			if !strings.Contains(err.Error(), tt.want) {
				t.Errorf("Start error = %v, want it to mention %s", err, tt.want)
			}
		})
	}
}

func TestConfigFileKeysAreRead(t *testing.T) {
	cluster := kafkatest.Start(t, 2, "conf")
	path := writeConf(t, fmt.Sprintf(`addrs: [%s]
group_id: from-file
client-id: conf-test
version: 3.6.0
required-acks: local
compression: zstd
partitioner: round-robin
initial-offset: oldest
linger: 1ms
batch-messages: 100
batch-bytes: 65536
dial-timeout: 2s
health-check-interval: 1s
reconnect-backoff-max: 1s
`, strings.Join(cluster.ListenAddrs(), ", ")))
	p := kafka.NewPlugin()
	agenttest.Start(t, agent.AllPlugins(p), agenttest.Env(map[string]string{"KAFKA_CONFIG": path}))
	if got := p.Multiplexer().GroupID(); got != "from-file" {
		t.Errorf("GroupID() = %q, want from-file", got)
	}
	ctx := testContext(t)
	<-p.Multiplexer().Ready()
	pub, _ := p.NewBytesConnection("c").NewSyncPublisher("conf")
	if err := pub.Put(ctx, "k", []byte("zstd")); err != nil {
		t.Fatal(err)
	}
}

// The producer batching keys of kafka.conf end up in the sarama config of
// the producers, read through the same LoadValue call as Init.
func TestBatchingKeysOfTheConfigFileReachSarama(t *testing.T) {
	pc, _, write := configtest.FileConfig(t, kafka.PluginName)
	write(t, []byte("addrs: [127.0.0.1:9092]\nlinger: 5ms\nbatch-messages: 500\nbatch-bytes: 65536\n"))
	var cfg mux.Config
	if found, err := pc.LoadValue(&cfg); !found || err != nil {
		t.Fatalf("LoadValue = %v, %v", found, err)
	}
	sc, err := cfg.Sarama()
	if err != nil {
		t.Fatal(err)
	}
	if f := sc.Producer.Flush; f.Frequency != 5*time.Millisecond || f.Messages != 500 || f.Bytes != 65536 {
		t.Errorf("Producer.Flush = %+v, want Frequency 5ms, Messages 500, Bytes 65536", f)
	}
	if _, err := mux.New(cfg); err != nil {
		t.Errorf("mux.New: %v", err)
	}
}

func TestAgentStartsWithoutBrokersAndBecomesOKWhenOneAppears(t *testing.T) {
	addr, port := freePort(t)
	sc := statusPlugin()
	p := kafka.NewPlugin()
	path := writeConf(t, fastConf(addr))
	agenttest.Start(t, agent.AllPlugins(sc, p), agenttest.Env(map[string]string{"KAFKA_CONFIG": path}))
	w := watchState(t, sc)

	st := w.await(t, model.OperationalState_ERROR)
	t.Logf("while no broker runs: %s", st.GetError())
	pub, _ := p.NewBytesConnection("c").NewSyncPublisher("late")
	if err := pub.Put(testContext(t), "k", []byte("v")); !errors.Is(err, mux.ErrNotConnected) {
		t.Errorf("Put without brokers = %v, want ErrNotConnected", err)
	}

	// The broker closes after the agent stopped (cleanups run last first).
	kafkatest.StartOn(t, port)
	w.await(t, model.OperationalState_OK)
	if err := pub.Put(testContext(t), "k", []byte("v")); err != nil {
		t.Errorf("Put once the broker runs: %v", err)
	}
}

func freePort(t *testing.T) (string, int) {
	t.Helper()
	port := freeport.Port(t)
	return net.JoinHostPort("127.0.0.1", strconv.Itoa(port)), port
}

// brokerProcess is cmd/plinth-kafka running as a separate process.
type brokerProcess struct {
	cmd  *exec.Cmd
	done chan error
}

var (
	buildOnce sync.Once
	brokerBin string
	buildErr  error
)

// brokerBinary builds cmd/plinth-kafka once per test process.
func brokerBinary(t *testing.T) string {
	t.Helper()
	buildOnce.Do(func() {
		dir, err := os.MkdirTemp("", "plinth-kafka-test")
		if err != nil {
			buildErr = err
			return
		}
		brokerBin = filepath.Join(dir, "plinth-kafka")
		out, err := exec.Command("go", "build", "-o", brokerBin, "github.com/plinth-go/plinth/cmd/plinth-kafka").CombinedOutput()
		if err != nil {
			buildErr = fmt.Errorf("go build: %v\n%s", err, out)
		}
	})
	if buildErr != nil {
		t.Fatal(buildErr)
	}
	return brokerBin
}

func startBroker(t *testing.T, args ...string) *brokerProcess {
	t.Helper()
	cmd := exec.Command(brokerBinary(t), args...)
	cmd.Stderr = os.Stderr
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	b := &brokerProcess{cmd: cmd, done: make(chan error, 1)}
	line, err := bufio.NewReader(stdout).ReadString('\n')
	if err != nil || !strings.HasPrefix(line, "ready ") {
		_ = cmd.Process.Kill()
		t.Fatalf("broker did not report ready: %q %v", line, err)
	}
	go func() {
		_, _ = io.Copy(io.Discard, stdout)
		b.done <- cmd.Wait()
	}()
	t.Cleanup(func() { b.stop(t) })
	return b
}

// stop sends SIGTERM and waits for the process; it is idempotent.
func (b *brokerProcess) stop(t *testing.T) {
	t.Helper()
	if b.done == nil {
		return
	}
	_ = b.cmd.Process.Signal(syscall.SIGTERM)
	if err := <-b.done; err != nil {
		t.Errorf("broker exited with %v", err)
	}
	b.done = nil
}

func TestBrokerRestartLosesNoAcknowledgedMessage(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs the broker as a separate process")
	}
	var ports, addrs []string
	for range 3 {
		a, p := freePort(t)
		addrs, ports = append(addrs, a), append(ports, fmt.Sprint(p))
	}
	dataDir := t.TempDir()
	brokerArgs := []string{"-ports", strings.Join(ports, ","), "-data-dir", dataDir, "-seed-topics", "durable:3"}
	broker := startBroker(t, brokerArgs...)

	sc := statusPlugin()
	p := kafka.NewPlugin()
	path := writeConf(t, fastConf(addrs...))
	a := agenttest.Start(t, agent.AllPlugins(sc, p), agenttest.Env(map[string]string{"KAFKA_CONFIG": path}))
	w := watchState(t, sc)
	w.await(t, model.OperationalState_OK)
	ctx := testContext(t)

	conn := p.NewBytesConnection("durable")
	pub, _ := conn.NewSyncPublisher("durable")
	acked := map[string]bool{}
	put := func(v string) error {
		err := pub.Put(ctx, v, []byte(v))
		if err == nil {
			acked[v] = true
		}
		return err
	}
	for i := range 30 {
		if err := put(fmt.Sprintf("before-%02d", i)); err != nil {
			t.Fatal(err)
		}
	}

	broker.stop(t)
	st := w.await(t, model.OperationalState_ERROR)
	t.Logf("while the broker is down: %s", st.GetError())
	short, cancel := context.WithTimeout(ctx, 5*time.Second)
	if err := pub.Put(short, "down", []byte("down")); err == nil {
		t.Error("Put succeeded while the broker is down")
	}
	cancel()

	startBroker(t, brokerArgs...)
	w.await(t, model.OperationalState_OK)
	// The producer finds the broker again by itself: retry until a Put
	// goes through, bounded by the test context.
	for i := 0; ; i++ {
		if err := put(fmt.Sprintf("retry-%02d", i)); err == nil {
			break
		} else if ctx.Err() != nil {
			t.Fatalf("publisher did not recover: %v", err)
		}
	}
	for i := range 30 {
		if err := put(fmt.Sprintf("after-%02d", i)); err != nil {
			t.Fatalf("Put after recovery: %v", err)
		}
	}

	// Read every partition from the start: every acknowledged message is
	// there.
	seen := make(chan string, 1000)
	for part := range int32(3) {
		if _, err := conn.WatchPartition(func(ctx context.Context, m messaging.BytesMessage) {
			select {
			case seen <- string(m.GetValue()):
			case <-ctx.Done():
			}
		}, "durable", part, client.Oldest); err != nil {
			t.Fatal(err)
		}
	}
	missing := len(acked)
	for missing > 0 {
		select {
		case v := <-seen:
			if acked[v] {
				acked[v] = false
				missing--
			}
		case <-ctx.Done():
			t.Fatalf("%d acknowledged messages missing after the restart", missing)
		}
	}
	if err := a.Stop(); err != nil {
		t.Errorf("Stop: %v", err)
	}
}
