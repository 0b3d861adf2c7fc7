package bench

import (
	"os"
	"strconv"
	"syscall"
	"testing"
	"time"
)

// side is one implementation in a comparison: "ours" for Plinth, the peer's
// name otherwise.
type side struct {
	name string
	run  func(b *testing.B)
}

// rounds is how many samples each side of a comparison gets: BENCHROUNDS,
// 5 by default. `make bench` sets it from its BENCHROUNDS variable.
func rounds() int {
	if n, err := strconv.Atoi(os.Getenv("BENCHROUNDS")); err == nil && n > 0 {
		return n
	}
	return 5
}

// interleave runs every side as a sub-benchmark named after it, once per
// round and in turn (ours, peer, ours, peer …), so that a change in the
// machine's load lands on both sides alike instead of on whichever ran
// last. go test names the repeated runs ours#01, ours#02 …; cmd/ratios
// pairs the i-th sample of ours with the i-th of each peer.
func interleave(b *testing.B, sides ...side) {
	b.Helper()
	for range rounds() {
		for _, s := range sides {
			b.Run(s.name, s.run)
		}
	}
}

// cpuMeter measures the CPU time the whole process spends (every goroutine,
// user and system) while a benchmark runs, so that a side that spreads its
// work over several cores cannot look cheaper than it is by wall time alone.
type cpuMeter struct{ start time.Duration }

// startCPU starts a meter; call it right before the timed loop.
func startCPU() cpuMeter { return cpuMeter{start: processCPU()} }

// report adds the metric cpu-ns/op: CPU time per operation since startCPU.
// Work done with the timer stopped still counts, so use it only where the
// loop has none, or where both sides do the same untimed work.
func (m cpuMeter) report(b *testing.B) {
	if b.N > 0 {
		b.ReportMetric(float64(processCPU()-m.start)/float64(b.N), "cpu-ns/op")
	}
}

func processCPU() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
