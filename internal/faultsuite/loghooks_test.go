//go:build linux

package faultsuite

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	// The package has a type agent: the demo agent's process.
	plinthagent "github.com/plinth-go/plinth/agent"
	"github.com/plinth-go/plinth/agent/agenttest"
	"github.com/plinth-go/plinth/internal/testwait"
	"github.com/plinth-go/plinth/logging"
	"github.com/plinth-go/plinth/logging/logmanager"
	"github.com/plinth-go/plinth/logging/logmanager/logmanagertest"
)

// logHook is one network hook of the log manager and the collector it
// sends to.
type logHook struct {
	name  string // in figures and subtests
	hook  string // key of Config.Hooks and HookStats
	proto logmanagertest.Protocol
	// network and acked configure the hook: acked turns on
	// require-ack-response.
	network string
	acked   bool
}

var logHooks = []logHook{
	{name: "logstash-tcp", hook: logmanager.HookLogstash, proto: logmanagertest.Lines, network: "tcp"},
	{name: "logstash-udp", hook: logmanager.HookLogstash, proto: logmanagertest.Datagrams, network: "udp"},
	{name: "syslog-tcp", hook: logmanager.HookSyslog, proto: logmanagertest.Lines, network: "tcp"},
	{name: "syslog-udp", hook: logmanager.HookSyslog, proto: logmanagertest.Datagrams, network: "udp"},
	{name: "fluentd", hook: logmanager.HookFluentd, proto: logmanagertest.Forward, network: "tcp"},
	{name: "fluentd-acked", hook: logmanager.HookFluentd, proto: logmanagertest.Forward, network: "tcp", acked: true},
}

// Rates and bounds of the log hook scenarios.
const (
	// logEvery paces the logger: 200 records a second.
	logEvery = 5 * time.Millisecond
	// logUp is how long the collector runs between two kills.
	logUp = 300 * time.Millisecond
	// logDelivery bounds the time a record takes to reach a collector
	// that is up, and the time from a collector's restart to the first
	// record beyond the documented bound.
	logDelivery = 10 * time.Second
	// ioTimeout is the log manager's bound of one attempt to send a record
	// (logging/logmanager, docs/logging.md).
	ioTimeout = 2 * time.Second
	// logSlack is added to the documented bounds for loaded CI machines
	// running with -race; the figures show the real margins.
	logSlack = 5 * time.Second
)

// logDown returns how long the collector stays down in round i: 300 ms in
// the short run; in the long run from 100 ms to 3 s, so that the hooks'
// backoff grows past a second.
func logDown(i int) time.Duration {
	if !long {
		return 300 * time.Millisecond
	}
	return []time.Duration{100 * time.Millisecond, 300 * time.Millisecond, time.Second, 3 * time.Second}[i%4]
}

func (h logHook) config(addr string) logmanager.HookConfig {
	return logmanager.HookConfig{Address: addr, Network: h.network, RequireAckResponse: h.acked}
}

var syslogSeqRE = regexp.MustCompile(`\[faultsuite\] record seq=(\d+)$`)

// seq returns the number of a record the collector received.
func (h logHook) seq(r logmanagertest.Record) (int, bool) {
	switch h.hook {
	case logmanager.HookLogstash:
		var doc struct {
			Seq *int `json:"seq"`
		}
		if json.Unmarshal([]byte(r.Text), &doc) != nil || doc.Seq == nil {
			return 0, false
		}
		return *doc.Seq, true
	case logmanager.HookSyslog:
		m := syslogSeqRE.FindStringSubmatch(r.Text)
		if m == nil {
			return 0, false
		}
		n, err := strconv.Atoi(m[1])
		return n, err == nil
	}
	switch n := r.Fields["seq"].(type) {
	case int8:
		return int(n), true
	case int16:
		return int(n), true
	case int32:
		return int(n), true
	case int64:
		return int(n), true
	case uint8:
		return int(n), true
	case uint16:
		return int(n), true
	case uint32:
		return int(n), true
	case uint64:
		return int(n), true
	}
	return 0, false
}

// logWriter logs numbered records at a steady rate and watches what the
// collector receives.
type logWriter struct {
	t    *testing.T
	h    logHook
	c    *logmanagertest.Collector
	log  logging.Logger
	next int // number of the next record
}

func (w *logWriter) write() {
	w.log.WithField("seq", w.next).Error("record")
	w.next++
}

// writeFor logs one record every logEvery for d.
func (w *logWriter) writeFor(d time.Duration) {
	tick := time.NewTicker(logEvery)
	defer tick.Stop()
	for end := time.Now().Add(d); time.Now().Before(end); <-tick.C {
		w.write()
	}
}

// writeUntilResumed logs at the steady rate until the collector receives
// a record after since, and returns when it did.
func (w *logWriter) writeUntilResumed(since time.Time) time.Time {
	w.t.Helper()
	tick := time.NewTicker(logEvery)
	defer tick.Stop()
	seen := 0
	for deadline := time.Now().Add(logDelivery + time.Since(since)); ; <-tick.C {
		w.write()
		recs := w.c.Records()
		for _, r := range recs[seen:] {
			if r.Received.After(since) {
				return r.Received
			}
		}
		seen = len(recs)
		if time.Now().After(deadline) {
			w.t.Fatalf("%s: no record received within %v of the collector's restart", w.h.name, time.Since(since).Round(time.Millisecond))
		}
	}
}

// writeWhile logs at the steady rate while cond holds.
func (w *logWriter) writeWhile(cond func() bool) {
	w.t.Helper()
	tick := time.NewTicker(logEvery)
	defer tick.Stop()
	for deadline := time.Now().Add(logDelivery); cond(); <-tick.C {
		if time.Now().After(deadline) {
			w.t.Fatalf("%s: hook still behind after %v", w.h.name, logDelivery)
		}
		w.write()
	}
}

// quiesce waits until the collector received the last record logged, so
// that it has read all the hook sent.
func (w *logWriter) quiesce() {
	w.t.Helper()
	last := w.next - 1
	ctx, cancel := context.WithTimeout(w.t.Context(), logDelivery)
	defer cancel()
	_, err := w.c.WaitFor(ctx, func(recs []logmanagertest.Record) bool {
		for i := len(recs) - 1; i >= 0 && i >= len(recs)-100; i-- {
			if s, ok := w.h.seq(recs[i]); ok && s == last {
				return true
			}
		}
		return false
	})
	if err != nil {
		w.t.Fatalf("%s: record %d not received: %v", w.h.name, last, err)
	}
}

// newLogAgent starts an agent of the test process with the log manager and
// the given hooks, logging nowhere but to the hooks.
func newLogAgent(t *testing.T, hooks map[string]logmanager.HookConfig, opts ...logmanager.Option) (*plinthagent.Agent, *logmanager.Plugin, *logging.Registry) {
	t.Helper()
	reg := logging.NewRegistry(logging.WithOutput(io.Discard))
	logs := logmanager.NewPlugin(append([]logmanager.Option{logmanager.UseConf(logmanager.Config{Hooks: hooks})}, opts...)...)
	a := agenttest.New(t, plinthagent.AllPlugins(logs), plinthagent.Logs(reg))
	agenttest.RequireStart(t, a)
	return a, logs, reg
}

// TestLogHooksCountEveryRecordAcrossCollectorRestarts: each network hook
// of the log manager forwards records, 200 a second, to a collector that
// is killed (its sockets closed at once, as by a crash) and restarted on
// the same address, several rounds. After each restart records must
// resume within the documented bound (the outage plus the first backoff of
// 100 ms); at the end every record must be counted once (sent, dropped or
// failed), and a record counted as sent may be missing from the collector
// only as docs/logging.md says: over TCP without acknowledgements at most
// one per restart, over UDP only records logged during an outage or sent
// in the burst after it, with acknowledgements none. The collector is killed between two records,
// after reading all the hook sent (except with acknowledgements, which
// need no such care): records a dying collector had read but not processed
// are its own loss, which no sender can count.
func TestLogHooksCountEveryRecordAcrossCollectorRestarts(t *testing.T) {
	t.Parallel()
	const scenario = "log-hooks"
	n := rounds(3, 30)
	for _, h := range logHooks {
		t.Run(h.name, func(t *testing.T) {
			t.Parallel()
			c := logmanagertest.Start(t, h.proto)
			a, logs, reg := newLogAgent(t, map[string]logmanager.HookConfig{h.hook: h.config(c.Addr())})
			w := &logWriter{t: t, h: h, c: c, log: reg.Get("faultsuite")}

			// The windows [from, to) of records logged from just before a
			// kill until the hook was seen to resume: the only records a
			// hook may lose.
			var windows [][2]int
			for round := range n {
				w.writeFor(logUp)
				atRisk := 0
				if h.acked {
					atRisk = logs.HookStats()[h.hook].Queued
				} else {
					w.quiesce()
				}
				c.Kill()
				killed := time.Now()
				from := w.next - atRisk
				w.writeFor(logDown(round))
				if err := c.Restart(t.Context()); err != nil {
					t.Fatal(err)
				}
				restarted := time.Now()
				resumed := w.writeUntilResumed(restarted)
				if h.proto == logmanagertest.Datagrams {
					// The hook sends what it queued during the outage in
					// a burst, which may overflow the collector's socket
					// buffer: UDP loses records sent faster than the
					// collector reads, too. The window ends once the hook
					// is back to the steady rate.
					w.writeWhile(func() bool { return logs.HookStats()[h.hook].Queued > 1 })
				}
				windows = append(windows, [2]int{from, w.next})

				outage, took := restarted.Sub(killed), resumed.Sub(restarted)
				record(t, scenario, h.name+" back -> resumed", took)
				// The hook retries with a backoff that doubles from 100 ms
				// up to 10 s: it is back within the outage plus 100 ms.
				bound := min(outage+logging.DefaultMinBackoff, logging.DefaultMaxBackoff) + ioTimeout
				if took > bound+logSlack {
					t.Errorf("%s round %d: down %v, records resumed %v after the restart, want ≤ %v (+%v slack)",
						h.name, round, outage, took, bound, logSlack)
				}
			}
			w.writeFor(logUp)
			w.quiesce()
			if err := a.Stop(); err != nil {
				t.Fatalf("Stop: %v", err)
			}
			checkLogAccounts(t, scenario, h, c.Records(), logs.HookStats()[h.hook], w.next, n, windows)
		})
	}
}

// checkLogAccounts checks that each of the fired records is counted once
// and that the collector lacks only what the hook may lose (see
// TestLogHooksCountEveryRecordAcrossCollectorRestarts), and records the
// counts.
func checkLogAccounts(t *testing.T, scenario string, h logHook, recs []logmanagertest.Record, st logging.AsyncStats, fired, restarts int, windows [][2]int) {
	t.Helper()
	got := make([]int, fired)
	distinct, dups := 0, 0
	for _, r := range recs {
		s, ok := h.seq(r)
		if !ok || s < 0 || s >= fired {
			t.Errorf("%s: unexpected record %+v", h.name, r)
			continue
		}
		if got[s]++; got[s] == 1 {
			distinct++
		} else {
			dups++
		}
	}
	if st.Queued != 0 || st.Sent+st.Dropped+st.Failed != uint64(fired) {
		t.Errorf("%s: HookStats %+v after Stop for %d records, want each sent, dropped or failed", h.name, st, fired)
	}
	inWindow := func(s int) bool {
		for _, w := range windows {
			if s >= w[0] && s < w[1] {
				return true
			}
		}
		return false
	}
	for s, n := range got {
		if n == 0 && !inWindow(s) {
			t.Errorf("%s: record %d missing, logged while the collector was up (windows %v)", h.name, s, windows)
		}
	}
	lost := max(int(st.Sent)-distinct, 0)
	switch {
	case h.acked:
		// Received twice: the acknowledgement was lost with the
		// collector and the record sent again.
		if int(st.Sent) > distinct {
			t.Errorf("%s: %d records acknowledged, %d received: acknowledged records lost", h.name, st.Sent, distinct)
		}
	case dups > 0:
		t.Errorf("%s: %d records received twice without acknowledgements", h.name, dups)
	case h.proto == logmanagertest.Lines || h.proto == logmanagertest.Forward:
		if lost > restarts {
			t.Errorf("%s: %d records counted as sent and not received in %d restarts, want at most one per restart", h.name, lost, restarts)
		}
	}
	recordCount(t, scenario, h.name+" records", int64(fired))
	recordCount(t, scenario, h.name+" sent, not received", int64(lost))
	recordCount(t, scenario, h.name+" failed + dropped", int64(st.Failed+st.Dropped))
	if h.acked {
		recordCount(t, scenario, h.name+" received twice", int64(dups))
	}
}

// TestLogHooksStopInTimeWhenTheCollectorStopsReading: a collector that
// stops reading while records are queued for it holds each write (or wait
// for an acknowledgement) of its hook until the hook's 2 s deadline; the
// agent must still stop within the log manager's bound, the flush timeout
// plus 2 s, and so within its stop timeout, without error. The long run
// uses the default flush timeout (5 s) and the agent's default stop
// timeout (10 s).
func TestLogHooksStopInTimeWhenTheCollectorStopsReading(t *testing.T) {
	t.Parallel()
	const scenario = "log-hooks"
	flush := time.Second
	if long {
		flush = logmanager.DefaultFlushTimeout
	}
	for _, h := range logHooks {
		if h.proto == logmanagertest.Datagrams {
			continue // nothing waits for a UDP reader
		}
		t.Run(h.name, func(t *testing.T) {
			t.Parallel()
			c := logmanagertest.Start(t, h.proto)
			a, logs, reg := newLogAgent(t, map[string]logmanager.HookConfig{h.hook: h.config(c.Addr())}, logmanager.WithFlushTimeout(flush))
			w := &logWriter{t: t, h: h, c: c, log: reg.Get("faultsuite")}
			w.writeFor(logUp)
			w.quiesce()

			c.StopReading()
			// Far more than the socket buffers of a collector that does not
			// read hold (about 4 MB: the hook's send buffer), so that the
			// hook blocks; and in the long run more than the hook can push
			// into the buffers of a new connection every 2 s during the
			// 5 s flush timeout.
			pad := strings.Repeat("x", 256<<10)
			large := rounds(32, 96)
			for range large {
				reg.Get("faultsuite").WithField("pad", pad).Error("large record")
			}
			testwait.Steady(t, logDelivery, 300*time.Millisecond, func() string { return fmt.Sprint(logs.HookStats()) })

			start := time.Now()
			stopped := make(chan error, 1)
			go func() { stopped <- a.Stop() }()
			bound := flush + ioTimeout
			select {
			case err := <-stopped:
				took := time.Since(start)
				record(t, scenario, h.name+" stop, not reading", took)
				if err != nil {
					t.Errorf("%s: Stop: %v", h.name, err)
				}
				if took > bound+logSlack || took > plinthagent.DefaultStopTimeout {
					t.Errorf("%s: Stop took %v, want ≤ %v (+%v slack) and within the stop timeout %v",
						h.name, took, bound, logSlack, plinthagent.DefaultStopTimeout)
				}
			case <-time.After(plinthagent.DefaultStopTimeout + recoverTimeout):
				t.Fatalf("%s: Stop still running after %v", h.name, time.Since(start).Round(time.Millisecond))
			}
			if st := logs.HookStats()[h.hook]; st.Queued != 0 || st.Sent+st.Dropped+st.Failed != uint64(w.next+large) {
				t.Errorf("%s: HookStats %+v, want each of %d records sent, dropped or failed", h.name, st, w.next+large)
			}
		})
	}
}
