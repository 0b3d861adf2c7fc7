package statuscheck_test

import (
	"errors"
	"fmt"
	"testing"

	"github.com/plinth-go/plinth/health/statuscheck"
)

// BenchmarkReportStateChangeUnchanged is the steady state of a push plugin
// that reports on every event: nothing changes, so nothing may be allocated
// or written. Sizes: a small agent and one with many plugins.
func BenchmarkReportStateChangeUnchanged(b *testing.B) {
	for _, n := range []int{1, 50} {
		for _, tc := range []struct {
			name string
			err  error
		}{{"ok", nil}, {"error", errors.New("VPP disconnected")}} {
			b.Run(fmt.Sprintf("plugins=%d/%s", n, tc.name), func(b *testing.B) {
				p := statuscheck.NewPlugin()
				for i := range n {
					_ = p.ReportStateChange(fmt.Sprintf("p%02d", i), statuscheck.StateOK, nil)
				}
				state := statuscheck.StateOK
				if tc.err != nil {
					state = statuscheck.StateError
				}
				_ = p.ReportStateChange("p00", state, tc.err)
				seq := p.Snapshot().Seq
				b.ReportAllocs()
				for b.Loop() {
					_ = p.ReportStateChange("p00", state, tc.err)
				}
				// No new snapshot means the publisher was not woken: no write.
				if p.Snapshot().Seq != seq {
					b.Fatal("an unchanged report changed the snapshot")
				}
			})
		}
	}
}

// BenchmarkReportStateChangeParallel measures contention among plugins that
// report unchanged states at once.
func BenchmarkReportStateChangeParallel(b *testing.B) {
	p := statuscheck.NewPlugin()
	for i := range 50 {
		_ = p.ReportStateChange(fmt.Sprintf("p%02d", i), statuscheck.StateOK, nil)
	}
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			_ = p.ReportStateChange("p07", statuscheck.StateOK, nil)
		}
	})
}

// BenchmarkReportStateChangeFlipping is the cost of a real change: a new
// snapshot of 50 plugins.
func BenchmarkReportStateChangeFlipping(b *testing.B) {
	p := statuscheck.NewPlugin()
	for i := range 50 {
		_ = p.ReportStateChange(fmt.Sprintf("p%02d", i), statuscheck.StateOK, nil)
	}
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		i++
		_ = p.ReportStateChange("p07", statuscheck.PluginState(1+i%2), nil)
	}
}
