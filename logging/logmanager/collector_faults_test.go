package logmanager_test

import (
	"context"
	"encoding/json"
	"fmt"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/plinth-go/plinth/agent"
	"github.com/plinth-go/plinth/internal/testwait"
	"github.com/plinth-go/plinth/logging"
	"github.com/plinth-go/plinth/logging/logmanager"
	"github.com/plinth-go/plinth/logging/logmanager/logmanagertest"
)

// networkHook is one way a built-in hook reaches its collector.
type networkHook struct {
	name  string // of the subtest
	hook  string // key in hooks: and in HookStats
	proto logmanagertest.Protocol
	conf  string // the hook's entry under hooks:, with %s for the address
	// acked: a record counts as sent only once the collector acknowledged
	// it.
	acked bool
}

var networkHooks = []networkHook{
	{name: "logstash-tcp", hook: "logstash", proto: logmanagertest.Lines, conf: "  logstash:\n    address: %s\n"},
	{name: "logstash-udp", hook: "logstash", proto: logmanagertest.Datagrams, conf: "  logstash:\n    address: %s\n    network: udp\n"},
	{name: "syslog-tcp", hook: "syslog", proto: logmanagertest.Lines, conf: "  syslog:\n    address: %s\n    network: tcp\n"},
	{name: "syslog-udp", hook: "syslog", proto: logmanagertest.Datagrams, conf: "  syslog:\n    address: %s\n    network: udp\n"},
	{name: "fluentd", hook: "fluentd", proto: logmanagertest.Forward, conf: "  fluentd:\n    address: %s\n"},
	{name: "fluentd-acked", hook: "fluentd", proto: logmanagertest.Forward, conf: "  fluentd:\n    address: %s\n    require-ack-response: true\n", acked: true},
}

func (h networkHook) logsConf(addr string) string { return "hooks:\n" + fmt.Sprintf(h.conf, addr) }

var syslogSeq = regexp.MustCompile(`\[test\] record seq=(\d+)$`)

// seq returns the field seq of a record the collector received from the
// logger "test".
func (h networkHook) seq(r logmanagertest.Record) (int, bool) {
	switch h.hook {
	case "logstash":
		var doc struct {
			Logger string   `json:"logger"`
			Seq    *float64 `json:"seq"`
		}
		if json.Unmarshal([]byte(r.Text), &doc) != nil || doc.Seq == nil || doc.Logger != "test" {
			return 0, false
		}
		return int(*doc.Seq), true
	case "syslog":
		m := syslogSeq.FindStringSubmatch(r.Text)
		if m == nil {
			return 0, false
		}
		n, err := strconv.Atoi(m[1])
		return n, err == nil
	default:
		n, ok := toInt(r.Fields["seq"])
		return int(n), ok && r.Fields["logger"] == "test"
	}
}

// seqWriter logs records numbered from 0 in the field seq, at error level
// (a default hook level), on the logger "test".
type seqWriter struct {
	log  logging.Logger
	next int
}

func (w *seqWriter) write() int {
	n := w.next
	w.next++
	w.log.WithField("seq", n).Error("record")
	return n
}

// waitForSeq waits until the collector received the record numbered n.
func waitForSeq(t *testing.T, c *logmanagertest.Collector, h networkHook, n int, timeout time.Duration) []logmanagertest.Record {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), timeout)
	defer cancel()
	recs, err := c.WaitFor(ctx, func(recs []logmanagertest.Record) bool {
		return slices.ContainsFunc(recs, func(r logmanagertest.Record) bool { s, ok := h.seq(r); return ok && s == n })
	})
	if err != nil {
		t.Fatalf("%s: record %d not received: %v", h.name, n, err)
	}
	return recs
}

// Bounds of the tests below. They are far above what the hooks need, for
// loaded CI machines running with -race; the tests log what they measure.
const (
	// deliveryTimeout bounds the time a record takes to reach a collector
	// that is up.
	deliveryTimeout = 10 * time.Second
	// slack is added to documented bounds.
	slack = 5 * time.Second
)

// TestHooksResumeAfterTheCollectorRestarts kills each hook's collector
// while the logger writes on, starts it again on the same address, and
// checks that records resume within the documented bound (the outage plus
// the first backoff of 100ms) and that every record is accounted for:
// sent, dropped or failed, and a record the hook counts as sent is lost
// only as docs/logging.md says: at most one written into the dead
// connection over TCP without acknowledgements, only records sent during
// the outage or in the burst after it over UDP, none with acknowledgements.
func TestHooksResumeAfterTheCollectorRestarts(t *testing.T) {
	t.Parallel()
	for _, h := range networkHooks {
		t.Run(h.name, func(t *testing.T) {
			t.Parallel()
			c := logmanagertest.Start(t, h.proto)
			a, ta := newTestAgent(t, agentSetup{conf: h.logsConf(c.Addr())})
			if err := a.Start(); err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { _ = a.Stop() })
			w := &seqWriter{log: ta.reg.Get("test")}
			const every = 5 * time.Millisecond

			// Up: the collector has read every record logged so far when
			// it dies, so a record missing later was lost by the hook.
			for range 10 {
				w.write()
			}
			waitForSeq(t, c, h, w.write(), deliveryTimeout)

			c.Kill()
			killed := time.Now()
			firstDown := w.next
			for time.Since(killed) < 300*time.Millisecond {
				w.write()
				time.Sleep(every)
			}
			if err := c.Restart(t.Context()); err != nil {
				t.Fatal(err)
			}
			restarted := time.Now()

			// Records resume: log on until one arrives after the restart.
			var resumed time.Time
			deadline := restarted.Add(deliveryTimeout + time.Since(killed))
			for resumed.IsZero() {
				if time.Now().After(deadline) {
					t.Fatalf("%s: no record received within %v of the collector's restart (HookStats %+v)",
						h.name, time.Since(restarted).Round(time.Millisecond), ta.logs.HookStats()[h.hook])
				}
				w.write()
				time.Sleep(every)
				for _, r := range c.Records() {
					if r.Received.After(restarted) {
						resumed = r.Received
						break
					}
				}
			}
			if h.proto == logmanagertest.Datagrams {
				// The hook sends what it queued during the outage in a
				// burst, which may overflow the collector's socket buffer:
				// UDP loses records sent faster than the collector reads,
				// too. The window of losses ends once the hook caught up.
				testwait.For(t, deliveryTimeout, "the hook catches up", func() (bool, string) {
					st := ta.logs.HookStats()[h.hook]
					if st.Queued <= 1 {
						return true, ""
					}
					w.write()
					return false, fmt.Sprintf("HookStats %+v", st)
				})
			}
			recovered := w.next
			outage := restarted.Sub(killed)
			took := resumed.Sub(restarted)
			t.Logf("%s: collector down %v, records resumed %v after its restart", h.name, outage.Round(time.Millisecond), took.Round(time.Millisecond))
			// The hook retries after a backoff that doubles from 100ms:
			// it is back at most the outage plus 100ms after the restart.
			if bound := outage + logging.DefaultMinBackoff; took > bound+slack {
				t.Errorf("%s: records resumed %v after the restart, want ≤ %v (+%v slack)", h.name, took, bound, slack)
			}
			for range 10 {
				w.write()
			}
			waitForSeq(t, c, h, w.write(), deliveryTimeout)
			if err := a.Stop(); err != nil {
				t.Fatalf("Stop: %v", err)
			}

			st := ta.logs.HookStats()[h.hook]
			checkAccounts(t, h, c.Records(), st, w.next, 1, firstDown, recovered)
		})
	}
}

// checkAccounts checks that the fired records are each counted once (sent,
// dropped or failed), and that the collector lacks only what the hook may
// lose: records logged in [firstDown, recovered), the window of the
// restarts, and of those it counted as sent, at most one per restart over
// TCP without acknowledgements, none with them.
func checkAccounts(t *testing.T, h networkHook, recs []logmanagertest.Record, st logging.AsyncStats, fired, restarts int, firstDown, recovered int) {
	t.Helper()
	got := map[int]int{}
	for _, r := range recs {
		s, ok := h.seq(r)
		if !ok || s < 0 || s >= fired {
			t.Errorf("%s: unexpected record %+v", h.name, r)
			continue
		}
		got[s]++
	}
	if st.Queued != 0 || st.Sent+st.Dropped+st.Failed != uint64(fired) {
		t.Errorf("%s: HookStats %+v after Close for %d records, want each sent, dropped or failed", h.name, st, fired)
	}
	var missing []int
	dups := 0
	for s := range fired {
		switch n := got[s]; {
		case n == 0:
			missing = append(missing, s)
		case n > 1:
			dups += n - 1
		}
	}
	for _, s := range missing {
		if s < firstDown || s >= recovered {
			t.Errorf("%s: record %d missing, logged while the collector was up (outages logged %d..%d)", h.name, s, firstDown, recovered-1)
		}
	}
	// Records the hook counted as sent and the collector lacks.
	lost := int(st.Sent) - (len(got))
	switch {
	case h.acked:
		// Received includes records whose acknowledgement was lost and
		// that were sent again (dups) or counted failed.
		if lost > 0 {
			t.Errorf("%s: %d records counted as sent, %d received: acknowledged records lost", h.name, st.Sent, len(got))
		}
	case h.proto == logmanagertest.Datagrams:
		if dups > 0 {
			t.Errorf("%s: %d records received twice", h.name, dups)
		}
	default:
		if dups > 0 || lost > restarts {
			t.Errorf("%s: %d records counted as sent and not received, %d received twice; want at most %d lost (one per restart), none twice",
				h.name, lost, dups, restarts)
		}
	}
	t.Logf("%s: %d records: %d sent, %d dropped, %d failed; %d received (%d twice); sent and lost: %d",
		h.name, fired, st.Sent, st.Dropped, st.Failed, len(got), dups, max(lost, 0))
}

// TestLogManagerStopsInTimeWhenTheCollectorStopsReading: a collector that
// accepts connections and stops reading holds each write of its hook until
// the hook's 2s deadline, so Close, and the agent's Stop, return within
// the flush timeout plus 2s, well within the agent's stop timeout.
func TestLogManagerStopsInTimeWhenTheCollectorStopsReading(t *testing.T) {
	t.Parallel()
	const flush = 500 * time.Millisecond
	var tcpHooks []networkHook
	for _, h := range networkHooks {
		if h.proto != logmanagertest.Datagrams { // nothing waits for a UDP reader
			tcpHooks = append(tcpHooks, h)
		}
	}
	// One hook at a time, then one of each kind at once: the hooks flush in
	// parallel, so several hung collectors cost no more than one.
	cases := [][]networkHook{}
	for _, h := range tcpHooks {
		cases = append(cases, []networkHook{h})
	}
	cases = append(cases, []networkHook{tcpHooks[0], tcpHooks[1], tcpHooks[3]})
	for _, hooks := range cases {
		var names []string
		for _, h := range hooks {
			names = append(names, h.name)
		}
		name := strings.Join(names, "+")
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			conf := "hooks:\n"
			var collectors []*logmanagertest.Collector
			for _, h := range hooks {
				c := logmanagertest.Start(t, h.proto)
				c.StopReading()
				collectors = append(collectors, c)
				conf += fmt.Sprintf(h.conf, c.Addr())
			}
			a, ta := newTestAgent(t, agentSetup{
				conf:      conf,
				opts:      []logmanager.Option{logmanager.WithFlushTimeout(flush)},
				agentOpts: []agent.Option{agent.StopTimeout(agent.DefaultStopTimeout)},
				discard:   true,
			})
			if err := a.Start(); err != nil {
				t.Fatal(err)
			}
			// Far more than the socket buffers of a collector that does
			// not read hold, so that the hook blocks in a write.
			pad := strings.Repeat("x", 256<<10)
			log := ta.reg.Get("test")
			for range 32 {
				log.WithField("pad", pad).Error("large record")
			}
			for _, c := range collectors {
				testwait.For(t, deliveryTimeout, "the hook connects", func() (bool, string) {
					return c.Accepted() > 0, "the collector accepted no connection"
				})
			}
			// Once the socket buffers are full the hooks send nothing more.
			// Should a starved worker only seem blocked, the flush timeout
			// gives it time to block before Close gives up.
			testwait.Steady(t, deliveryTimeout, 300*time.Millisecond, func() string { return fmt.Sprint(ta.logs.HookStats()) })

			start := time.Now()
			stopped := make(chan error, 1)
			go func() { stopped <- a.Stop() }()
			bound := flush + 2*time.Second // the flush timeout plus one write
			select {
			case err := <-stopped:
				took := time.Since(start)
				t.Logf("%s: agent stopped in %v (flush timeout %v)", name, took.Round(time.Millisecond), flush)
				if err != nil {
					t.Errorf("Stop: %v", err)
				}
				if took > bound+slack {
					t.Errorf("%s: Stop took %v, want ≤ %v (+%v slack)", name, took, bound, slack)
				}
			case <-time.After(agent.DefaultStopTimeout + 2*slack):
				t.Fatalf("%s: Stop still running after %v", name, time.Since(start).Round(time.Millisecond))
			}
			for _, h := range hooks {
				st := ta.logs.HookStats()[h.hook]
				if st.Queued != 0 || st.Sent+st.Dropped+st.Failed != 32 {
					t.Errorf("%s: HookStats %+v, want 32 records sent, dropped or failed", h.name, st)
				}
			}
		})
	}
}

// TestFluentdHookWithAcksCountsOnlyAcknowledgedRecordsAsSent: with
// require-ack-response each message asks for an acknowledgement (the
// forward protocol's chunk option); a record is sent once Fluentd answers,
// and one that gets no answer within 2s fails (here after one attempt)
// instead of counting as sent. Without the key, no message asks.
func TestFluentdHookWithAcksCountsOnlyAcknowledgedRecordsAsSent(t *testing.T) {
	t.Parallel()
	chunkOf := func(msg []any) string {
		if len(msg) < 4 {
			return ""
		}
		option, _ := msg[3].(map[string]any)
		chunk, _ := option["chunk"].(string)
		return chunk
	}

	t.Run("no answer", func(t *testing.T) {
		t.Parallel()
		addr, msgs := forwardMessages(t) // reads, never answers
		ta := startTestAgent(t, agentSetup{
			conf: fmt.Sprintf("hooks:\n  fluentd:\n    address: %s\n    require-ack-response: true\n", addr),
			opts: []logmanager.Option{logmanager.WithAsyncOptions(logging.WithMaxAttempts(1))},
		})
		ta.reg.Get("test").Error("unanswered")
		if chunk := chunkOf(receive(t, msgs, "forward message")); chunk == "" {
			t.Error("message has no chunk option: it asks for no acknowledgement")
		}
		testwait.For(t, deliveryTimeout, "the unanswered record fails", func() (bool, string) {
			st := ta.logs.HookStats()["fluentd"]
			return st.Failed == 1, fmt.Sprintf("HookStats %+v", st)
		})
		if st := ta.logs.HookStats()["fluentd"]; st.Sent != 0 {
			t.Errorf("HookStats %+v: an unacknowledged record counted as sent", st)
		}
	})

	t.Run("acknowledged", func(t *testing.T) {
		t.Parallel()
		c := logmanagertest.Start(t, logmanagertest.Forward)
		ta := startTestAgent(t, agentSetup{conf: fmt.Sprintf("hooks:\n  fluentd:\n    address: %s\n    require-ack-response: true\n", c.Addr())})
		h := networkHook{name: "fluentd-acked", hook: "fluentd"}
		w := &seqWriter{log: ta.reg.Get("test")}
		waitForSeq(t, c, h, w.write(), deliveryTimeout)
		testwait.For(t, deliveryTimeout, "the record counts as sent", func() (bool, string) {
			st := ta.logs.HookStats()["fluentd"]
			return st.Sent == 1, fmt.Sprintf("HookStats %+v", st)
		})
	})

	t.Run("not asked", func(t *testing.T) {
		t.Parallel()
		addr, msgs := forwardMessages(t)
		ta := startTestAgent(t, agentSetup{conf: fmt.Sprintf("hooks:\n  fluentd:\n    address: %s\n", addr)})
		ta.reg.Get("test").Error("fire and forget")
		if chunk := chunkOf(receive(t, msgs, "forward message")); chunk != "" {
			t.Errorf("message asks for an acknowledgement (chunk %q) without require-ack-response", chunk)
		}
	})
}

// TestStreamHooksDialAgainWhenTheCollectorClosedTheConnection: before a
// write, logstash and syslog over TCP see that the collector closed their
// connection (it restarted) and dial again, instead of writing the record
// into the dead connection, where TCP would accept and lose it. (Without
// the check, the record below would never arrive: nothing else makes the
// hook reconnect.) The collector's close reaches the hook's socket on the
// loopback before Kill returns.
func TestStreamHooksDialAgainWhenTheCollectorClosedTheConnection(t *testing.T) {
	t.Parallel()
	for _, h := range networkHooks {
		if h.proto != logmanagertest.Lines {
			continue
		}
		t.Run(h.name, func(t *testing.T) {
			t.Parallel()
			c := logmanagertest.Start(t, h.proto)
			ta := startTestAgent(t, agentSetup{conf: h.logsConf(c.Addr())})
			w := &seqWriter{log: ta.reg.Get("test")}
			waitForSeq(t, c, h, w.write(), deliveryTimeout)
			c.Kill()
			if err := c.Restart(t.Context()); err != nil {
				t.Fatal(err)
			}
			waitForSeq(t, c, h, w.write(), deliveryTimeout)
			// The collector may read the record before the hook counts it.
			testwait.For(t, deliveryTimeout, "the hook counts the record", func() (bool, string) {
				st := ta.logs.HookStats()[h.hook]
				return st.Queued == 0, fmt.Sprintf("HookStats %+v", st)
			})
			if st := ta.logs.HookStats()[h.hook]; st.Sent != 2 || st.Failed != 0 {
				t.Errorf("HookStats %+v, want 2 sent without a failed attempt", st)
			}
			if n := c.Accepted(); n != 2 {
				t.Errorf("collector accepted %d connections, want 2", n)
			}
		})
	}
}
