//go:build linux

package processmanager

import (
	"testing"
	"time"
)

// BenchmarkWatcherPoll measures one poll of the status watcher over 100
// running processes (sleep): one pread of /proc/<pid>/stat each. The cpu-%
// metric is the share of one CPU the watcher takes at the default 1s poll
// interval.
func BenchmarkWatcherPoll(b *testing.B) {
	for _, n := range []int{1, 100} {
		b.Run(map[int]string{1: "1proc", 100: "100procs"}[n], func(b *testing.B) {
			m := NewPlugin(UseConf(Config{PollInterval: time.Hour}))
			if err := m.Init(); err != nil {
				b.Fatal(err)
			}
			defer m.Close()
			for i := range n {
				p, err := m.NewProcess("sleep", Args("1000"), WithName("sleep"+string(rune('a'+i/26))+string(rune('a'+i%26))))
				if err != nil {
					b.Fatal(err)
				}
				if err := p.Start(); err != nil {
					b.Fatal(err)
				}
			}
			buf := make([]byte, statBufSize)
			b.ReportAllocs()
			for b.Loop() {
				m.pollAll(buf)
			}
			perPoll := float64(b.Elapsed().Nanoseconds()) / float64(b.N)
			b.ReportMetric(perPoll/float64(DefaultPollInterval.Nanoseconds())*100, "cpu-%")
		})
	}
}
