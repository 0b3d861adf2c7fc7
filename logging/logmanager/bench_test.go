package logmanager_test

import (
	"fmt"
	"testing"
	"time"

	"github.com/plinth-go/plinth/logging"
	"github.com/plinth-go/plinth/logging/logmanager"
)

// BenchmarkLogWithHook measures an error record (a level hooks forward by
// default) with no hook, with a logstash hook whose receiver reads every
// line over loopback TCP, and with one whose endpoint is down. Callers only
// queue the record, so the three cost about the same: nobody waits on the
// network.
func BenchmarkLogWithHook(b *testing.B) {
	cases := []struct {
		name string
		conf func(b *testing.B) string
	}{
		{"none", func(*testing.B) string { return "" }},
		{"logstash-up", func(b *testing.B) string {
			addr, lines := tcpLines(b, "127.0.0.1:0")
			go func() {
				for range lines {
				}
			}()
			return fmt.Sprintf("hooks:\n  logstash:\n    address: %s\n", addr)
		}},
		{"logstash-down", func(b *testing.B) string {
			return fmt.Sprintf("hooks:\n  logstash:\n    address: %s\n", downAddress(b))
		}},
	}
	for _, c := range cases {
		b.Run(c.name, func(b *testing.B) {
			ta := startTestAgent(b, agentSetup{
				conf:    c.conf(b),
				discard: true,
				opts: []logmanager.Option{
					logmanager.WithAsyncOptions(logging.WithBackoff(time.Hour, time.Hour)),
					logmanager.WithFlushTimeout(100 * time.Millisecond),
				},
			})
			log := ta.reg.Get("bench")
			b.ReportAllocs()
			for b.Loop() {
				log.Error("request failed")
			}
			b.StopTimer()
			st := ta.logs.HookStats()["logstash"]
			b.ReportMetric(float64(st.Dropped)/float64(b.N), "dropped/op")
		})
	}
}
