package logmanager_test

import (
	"bufio"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/vmihailenco/msgpack/v5"

	"github.com/plinth-go/plinth/logging"
	"github.com/plinth-go/plinth/logging/logmanager"
)

// fastRetry keeps outages short in tests.
var fastRetry = logmanager.WithAsyncOptions(logging.WithBackoff(5*time.Millisecond, 20*time.Millisecond))

// receive waits for one value from ch.
func receive[T any](t testing.TB, ch <-chan T, what string) T {
	t.Helper()
	select {
	case v := <-ch:
		return v
	case <-time.After(10 * time.Second):
		t.Fatalf("no %s received within 10s", what)
		panic("unreachable")
	}
}

// tcpLines accepts connections on a loopback port and sends every line it
// reads to the returned channel, which is closed when the test ends.
func tcpLines(t testing.TB, addr string) (string, <-chan string) {
	t.Helper()
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	lines := make(chan string, 100)
	var wg sync.WaitGroup
	var mu sync.Mutex // guards conns
	var conns []net.Conn
	wg.Go(func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			mu.Lock()
			conns = append(conns, c)
			mu.Unlock()
			wg.Go(func() {
				s := bufio.NewScanner(c)
				for s.Scan() {
					lines <- s.Text()
				}
			})
		}
	})
	t.Cleanup(func() {
		ln.Close()
		mu.Lock()
		for _, c := range conns {
			c.Close()
		}
		mu.Unlock()
		wg.Wait()
		close(lines)
	})
	return ln.Addr().String(), lines
}

// packets reads datagrams from conn until the test ends.
func packets(t *testing.T, conn net.PacketConn) <-chan string {
	t.Helper()
	out := make(chan string, 100)
	done := make(chan struct{})
	go func() {
		defer close(done)
		buf := make([]byte, 64<<10)
		for {
			n, _, err := conn.ReadFrom(buf)
			if err != nil {
				return
			}
			out <- string(buf[:n])
		}
	}()
	t.Cleanup(func() { conn.Close(); <-done })
	return out
}

func decodeJSON(t *testing.T, line string) map[string]any {
	t.Helper()
	var doc map[string]any
	if err := json.Unmarshal([]byte(strings.TrimSpace(line)), &doc); err != nil {
		t.Fatalf("not a JSON line: %q: %v", line, err)
	}
	return doc
}

func checkLogstashDoc(t *testing.T, doc map[string]any) {
	t.Helper()
	want := map[string]any{
		"message": "payment failed", "level": "error", "logger": "billing", "type": "test1",
		"@version": "1", "order": float64(42), "error": "card declined", "fields.level": "shadowed",
	}
	for k, v := range want {
		if doc[k] != v {
			t.Errorf("logstash doc[%q] = %v, want %v (doc %v)", k, doc[k], v, doc)
		}
	}
	if ts, _ := doc["@timestamp"].(string); ts == "" {
		t.Errorf("logstash doc has no @timestamp: %v", doc)
	} else if _, err := time.Parse(time.RFC3339Nano, ts); err != nil {
		t.Errorf("@timestamp %q: %v", ts, err)
	}
}

func logPaymentFailure(reg *logging.Registry) {
	log := reg.Get("billing")
	log.Info("not forwarded: info is not a hook level")
	log.WithFields(logging.Fields{"order": 42, "level": "shadowed"}).WithError(errors.New("card declined")).Error("payment failed")
}

func TestLogstashHookSendsJSONLinesOverTCP(t *testing.T) {
	addr, lines := tcpLines(t, "127.0.0.1:0")
	ta := startTestAgent(t, agentSetup{conf: fmt.Sprintf("hooks:\n  logstash:\n    address: %s\n", addr)})
	logPaymentFailure(ta.reg)
	checkLogstashDoc(t, decodeJSON(t, receive(t, lines, "logstash line")))
}

func TestLogstashHookSendsOneDatagramPerRecordOverUDP(t *testing.T) {
	conn, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	got := packets(t, conn)
	ta := startTestAgent(t, agentSetup{conf: fmt.Sprintf("hooks:\n  logstash:\n    address: %s\n    protocol: UDP\n", conn.LocalAddr())})
	logPaymentFailure(ta.reg)
	pkt := receive(t, got, "logstash datagram")
	if strings.Count(pkt, "\n") != 1 || !strings.HasSuffix(pkt, "\n") {
		t.Errorf("datagram %q: want one JSON line", pkt)
	}
	checkLogstashDoc(t, decodeJSON(t, pkt))
}

// forwardMessages accepts Fluentd forward-protocol connections and decodes
// each message, [tag, time, record, option?], with a msgpack implementation
// independent of the client's.
func forwardMessages(t *testing.T) (string, <-chan []any) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	out := make(chan []any, 100)
	var wg sync.WaitGroup
	var mu sync.Mutex // guards conns
	var conns []net.Conn
	wg.Go(func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			mu.Lock()
			conns = append(conns, c)
			mu.Unlock()
			wg.Go(func() {
				dec := msgpack.NewDecoder(c)
				for {
					var msg []any
					if err := dec.Decode(&msg); err != nil {
						return
					}
					out <- msg
				}
			})
		}
	})
	t.Cleanup(func() {
		ln.Close()
		mu.Lock()
		for _, c := range conns {
			c.Close()
		}
		mu.Unlock()
		wg.Wait()
	})
	return ln.Addr().String(), out
}

func TestFluentdHookSpeaksTheForwardProtocol(t *testing.T) {
	for _, key := range []string{"fluentd", "fluent"} {
		t.Run(key, func(t *testing.T) {
			addr, msgs := forwardMessages(t)
			ta := startTestAgent(t, agentSetup{conf: fmt.Sprintf("hooks:\n  %s:\n    address: %s\n    tag: agent.test\n    levels: [error, warning]\n", key, addr)})
			before := time.Now().Unix()
			log := ta.reg.Get("billing")
			log.Info("not forwarded")
			log.WithField("order", 42).Warn("retrying payment")

			msg := receive(t, msgs, "forward message")
			if len(msg) < 3 {
				t.Fatalf("message %v: want [tag, time, record, …]", msg)
			}
			if msg[0] != "agent.test" {
				t.Errorf("tag = %v, want agent.test", msg[0])
			}
			if ts, ok := toInt(msg[1]); !ok || ts < before-1 || ts > time.Now().Unix()+1 {
				t.Errorf("time = %v (%T), want the Unix time of the record", msg[1], msg[1])
			}
			record, ok := msg[2].(map[string]any)
			if !ok {
				t.Fatalf("record = %T %v, want a map", msg[2], msg[2])
			}
			order, _ := toInt(record["order"])
			if record["message"] != "retrying payment" || record["level"] != "warning" || record["logger"] != "billing" || order != 42 {
				t.Errorf("record = %v, want message, level warning, logger billing, order 42", record)
			}
		})
	}
}

func toInt(v any) (int64, bool) {
	switch n := v.(type) {
	case int8:
		return int64(n), true
	case int16:
		return int64(n), true
	case int32:
		return int64(n), true
	case int64:
		return n, true
	case uint8:
		return int64(n), true
	case uint16:
		return int64(n), true
	case uint32:
		return int64(n), true
	case uint64:
		return int64(n), true
	}
	return 0, false
}

func TestSyslogHookWritesToASyslogSocket(t *testing.T) {
	path := filepath.Join(t.TempDir(), "log.sock")
	conn, err := net.ListenUnixgram("unixgram", &net.UnixAddr{Name: path, Net: "unixgram"})
	if err != nil {
		t.Fatal(err)
	}
	got := packets(t, conn)
	ta := startTestAgent(t, agentSetup{conf: fmt.Sprintf("hooks:\n  syslog:\n    address: %s\n    network: unixgram\n", path)})
	logPaymentFailure(ta.reg)

	msg := receive(t, got, "syslog message")
	// <PRI>timestamp tag[pid]: text (the format for local sockets); PRI 11
	// is facility user (1*8) plus severity err (3).
	re := regexp.MustCompile(`^<11>[A-Z][a-z]{2} [ \d]\d \d\d:\d\d:\d\d test1\[\d+\]: \[billing\] payment failed error=card declined level=shadowed order=42\n?$`)
	if !re.MatchString(msg) {
		t.Errorf("syslog message %q, want match for %s", msg, re)
	}
}

// customHook is a hook registered in code; it records the config it was
// built with and the records it receives.
type customHook struct {
	cfg     logmanager.HookConfig
	records chan *logging.Record
}

func (h *customHook) Levels() []logging.Level { return logging.AllLevels() }

func (h *customHook) Fire(r *logging.Record) error {
	h.records <- r
	return nil
}

func TestCustomHookIsConfiguredByName(t *testing.T) {
	built := make(chan *customHook, 1)
	ta := startTestAgent(t, agentSetup{
		conf: "hooks:\n  custom:\n    address: localhost:9999\n    levels: [panic, warn]\n",
		opts: []logmanager.Option{logmanager.WithHook("custom", func(cfg logmanager.HookConfig) (logging.Hook, error) {
			h := &customHook{cfg: cfg, records: make(chan *logging.Record, 10)}
			built <- h
			return h, nil
		})},
	})
	h := receive(t, built, "custom hook")
	if h.cfg.Address != "localhost:9999" || h.cfg.Tag != "test1" {
		t.Errorf("factory got %+v, want the address of the file and the label as tag", h.cfg)
	}
	log := ta.reg.Get("app")
	log.Error("not forwarded: the file lists panic and warning only")
	log.Warn("forwarded")
	if r := receive(t, h.records, "custom record"); r.Message != "forwarded" || r.Level != logging.WarnLevel {
		t.Errorf("custom hook got %+v, want the warning", r)
	}
}

func TestHookFactoryErrorFailsTheStart(t *testing.T) {
	a, _ := newTestAgent(t, agentSetup{
		conf: "hooks:\n  custom: {}\n",
		opts: []logmanager.Option{logmanager.WithHook("custom", func(logmanager.HookConfig) (logging.Hook, error) {
			return nil, errors.New("no token")
		})},
	})
	err := a.Start()
	if err == nil {
		_ = a.Stop()
		t.Fatal("Start succeeded, want the factory's error")
	}
	if !strings.Contains(err.Error(), `logs: hook "custom": no token`) {
		t.Errorf("error = %v, want it to name the hook and the cause", err)
	}
}

// downAddress returns a loopback address nothing listens on.
func downAddress(t testing.TB) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	return addr
}

// outageReports returns a channel that receives the log manager's report
// of each hook outage, logged through reg, so tests wait for the report
// itself instead of polling for its effects.
func outageReports(reg *logging.Registry) <-chan *logging.Record {
	ch := make(chan *logging.Record, 10)
	reg.AddHook(logging.HookFunc(func(r *logging.Record) error {
		if strings.HasPrefix(r.Message, "cannot forward records, retrying with backoff") {
			select {
			case ch <- r:
			default:
			}
		}
		return nil
	}))
	return ch
}

func TestLoggingStaysFastWhileTheHookEndpointIsDown(t *testing.T) {
	addr := downAddress(t)
	ta := startTestAgent(t, agentSetup{
		conf: fmt.Sprintf("hooks:\n  logstash:\n    address: %s\n    queue-size: 8\n", addr),
		opts: []logmanager.Option{
			logmanager.WithAsyncOptions(logging.WithBackoff(time.Hour, time.Hour)),
			logmanager.WithFlushTimeout(50 * time.Millisecond),
		},
	})
	reports := outageReports(ta.reg)
	log := ta.reg.Get("app")
	// The first record the hook takes fails and then waits an hour to be
	// retried, so a caller that waited for the hook would never return. The
	// calls run on their own goroutine so that such a bug fails the test
	// instead of hanging it; the bound only detects the hang.
	done := make(chan struct{})
	go func() {
		defer close(done)
		for range 1000 {
			log.Error("endpoint is down")
		}
	}()
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		t.Fatal("logging waited for the hook whose endpoint is down")
	}
	r := receive(t, reports, "report of the outage")
	if r.Logger != "logs" || r.Level != logging.WarnLevel || r.Fields["hook"] != "logstash" {
		t.Errorf("outage report %+v, want a warning of logger logs with hook=logstash", r)
	}
	st := ta.logs.HookStats()["logstash"]
	// One record is being retried, at most 8 wait, the rest are dropped;
	// Queued counts the one being retried too.
	if st.Dropped < 1000-9 || st.Queued > 9 || st.Sent != 0 || st.Dropped+uint64(st.Queued) != 1000 {
		t.Errorf("HookStats = %+v, want ≥ %d dropped, ≤ 9 queued, 1000 in all", st, 1000-9)
	}
}

func TestHookReconnectsWhenTheEndpointComesBack(t *testing.T) {
	addr := downAddress(t)
	ta := startTestAgent(t, agentSetup{
		conf: fmt.Sprintf("hooks:\n  logstash:\n    address: %s\n", addr),
		opts: []logmanager.Option{fastRetry, logmanager.WithAsyncOptions(logging.WithMaxAttempts(1000))},
	})
	reports := outageReports(ta.reg)
	ta.reg.Get("app").Error("sent while down")
	// The report comes after the first attempt failed, so the record
	// reaches the endpoint below by a retry.
	receive(t, reports, "report of the outage")
	_, lines := tcpLines(t, addr)
	doc := decodeJSON(t, receive(t, lines, "logstash line after reconnect"))
	if doc["message"] != "sent while down" {
		t.Errorf("got %v, want the record logged while the endpoint was down", doc)
	}
}
