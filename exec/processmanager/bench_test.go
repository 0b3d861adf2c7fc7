//go:build linux

package processmanager_test

import (
	"bufio"
	"os"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	pm "github.com/plinth-go/plinth/exec/processmanager"
)

// BenchmarkRestartLatency measures the time from a child's exit to its
// restarted process running its main function, with no backoff. The helper
// prints a CLOCK_MONOTONIC time as it starts ("up") and just before it
// exits ("down"); the latency is the next "up" minus the last "down", and
// includes fork, exec and the helper's runtime start (about 1ms of it).
func BenchmarkRestartLatency(b *testing.B) {
	m := newManager(b)
	r, w, err := os.Pipe()
	if err != nil {
		b.Fatal(err)
	}
	defer r.Close()
	defer w.Close()
	p := newHelper(b, m, "crashloop", []string{"up", "down", "exit", "1"},
		pm.Writer(w, nil), pm.Restarts(-1), pm.WithBackoff(0, 0, time.Hour))
	type mark struct {
		up   bool
		nano int64
	}
	marks := make(chan mark, 1024)
	go func() {
		defer close(marks)
		sc := bufio.NewScanner(r)
		for sc.Scan() {
			f := strings.Fields(sc.Text())
			if len(f) != 3 {
				continue
			}
			n, _ := strconv.ParseInt(f[2], 10, 64)
			marks <- mark{f[0] == "up", n}
		}
	}()
	mustStart(b, p)
	var latencies []time.Duration
	var down int64
	for b.Loop() {
		for {
			mk, ok := <-marks
			if !ok {
				b.Fatal("helper output ended")
			}
			if !mk.up {
				down = mk.nano
				continue
			}
			if down != 0 {
				latencies = append(latencies, time.Duration(mk.nano-down))
				break
			}
		}
	}
	b.StopTimer()
	if err := p.Kill(); err != nil {
		b.Fatal(err)
	}
	if err := m.Delete("crashloop"); err != nil {
		b.Fatal(err)
	}
	w.Close() // the reader sees EOF
	for range marks {
	}
	slices.Sort(latencies)
	if n := len(latencies); n > 0 {
		b.ReportMetric(float64(latencies[n/2].Microseconds()), "p50-µs")
		b.ReportMetric(float64(latencies[n*99/100].Microseconds()), "p99-µs")
	}
}
