package measure

import (
	"bytes"
	"io"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/plinth-go/plinth/logging"
	"go.uber.org/goleak"
)

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}

var base = time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)

// newFixedTracer returns a tracer whose clock stands at base, so that
// LogTime(e, base.Add(-d)) records exactly d.
func newFixedTracer(log logging.Logger, opts ...Option) *Tracer {
	t := NewTracer("test", log, opts...)
	t.now = func() time.Time { return base }
	return t
}

func record(t *Tracer, entity string, d time.Duration) {
	t.LogTime(entity, base.Add(-d))
}

func TestLogTimeRecordsEntriesAndExactStats(t *testing.T) {
	tr := newFixedTracer(nil)
	record(tr, "kafka", 30*time.Millisecond)
	record(tr, "etcd", 10*time.Millisecond)
	record(tr, "kafka", 10*time.Millisecond)
	record(tr, "kafka", 20*time.Millisecond)

	got := tr.Get()
	if got.Name != "test" || got.Overall != 70*time.Millisecond || got.Dropped != 0 {
		t.Errorf("Get() = name %q, overall %v, dropped %d, want test, 70ms, 0", got.Name, got.Overall, got.Dropped)
	}
	wantEntries := []Entry{
		{0, "kafka", base.Add(-30 * time.Millisecond), 30 * time.Millisecond},
		{1, "etcd", base.Add(-10 * time.Millisecond), 10 * time.Millisecond},
		{2, "kafka", base.Add(-10 * time.Millisecond), 10 * time.Millisecond},
		{3, "kafka", base.Add(-20 * time.Millisecond), 20 * time.Millisecond},
	}
	if !equalEntries(got.Entries, wantEntries) {
		t.Errorf("Entries = %v, want %v", got.Entries, wantEntries)
	}
	ms := time.Millisecond
	wantStats := []Stat{
		{Entity: "etcd", Count: 1, Total: 10 * ms, Min: 10 * ms, Max: 10 * ms, Average: 10 * ms},
		{Entity: "kafka", Count: 3, Total: 60 * ms, Min: 10 * ms, Max: 30 * ms, Average: 20 * ms},
	}
	if len(got.Stats) != len(wantStats) {
		t.Fatalf("Stats = %v, want %v", got.Stats, wantStats)
	}
	for i := range wantStats {
		if got.Stats[i] != wantStats[i] {
			t.Errorf("Stats[%d] = %+v, want %+v", i, got.Stats[i], wantStats[i])
		}
	}
}

func equalEntries(a, b []Entry) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i].Index != b[i].Index || a[i].Entity != b[i].Entity || !a[i].Start.Equal(b[i].Start) || a[i].Duration != b[i].Duration {
			return false
		}
	}
	return true
}

func TestTracerKeepsNewestEntriesAndCountsDropped(t *testing.T) {
	tests := []struct {
		name        string
		max         int
		records     int
		wantIndexes []int
	}{
		{"under the cap", 3, 2, []int{0, 1}},
		{"at the cap", 3, 3, []int{0, 1, 2}},
		{"over the cap", 3, 7, []int{4, 5, 6}},
		{"cap of one", 1, 4, []int{3}},
		{"no entries kept", 0, 4, nil},
		{"negative cap keeps none", -5, 2, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tr := newFixedTracer(nil, WithMaxEntries(tt.max))
			for i := range tt.records {
				record(tr, "e", time.Duration(i+1)*time.Second)
			}
			got := tr.Get()
			var idx []int
			for _, e := range got.Entries {
				idx = append(idx, e.Index)
				if e.Duration != time.Duration(e.Index+1)*time.Second {
					t.Errorf("entry %d has duration %v", e.Index, e.Duration)
				}
			}
			if !slices.Equal(idx, tt.wantIndexes) {
				t.Errorf("kept indexes %v, want %v", idx, tt.wantIndexes)
			}
			if want := tt.records - len(tt.wantIndexes); got.Dropped != want {
				t.Errorf("Dropped = %d, want %d", got.Dropped, want)
			}
			if len(got.Stats) != 1 || got.Stats[0].Count != tt.records {
				t.Errorf("Stats = %+v, want one stat counting %d", got.Stats, tt.records)
			}
			n := time.Duration(tt.records)
			if want := n * (n + 1) / 2 * time.Second; got.Overall != want {
				t.Errorf("Overall = %v, want %v", got.Overall, want)
			}
		})
	}
}

func TestDefaultCapIsDefaultMaxEntries(t *testing.T) {
	tr := newFixedTracer(nil)
	for range DefaultMaxEntries + 5 {
		record(tr, "e", time.Millisecond)
	}
	got := tr.Get()
	if len(got.Entries) != DefaultMaxEntries || got.Dropped != 5 || got.Entries[0].Index != 5 {
		t.Errorf("kept %d entries from index %d, dropped %d, want %d from 5, dropped 5",
			len(got.Entries), got.Entries[0].Index, got.Dropped, DefaultMaxEntries)
	}
}

func TestGetReturnsACopy(t *testing.T) {
	tr := newFixedTracer(nil)
	record(tr, "e", time.Second)
	snap := tr.Get()
	snap.Entries[0].Entity = "changed"
	snap.Stats[0].Count = 99
	if got := tr.Get(); got.Entries[0].Entity != "e" || got.Stats[0].Count != 1 {
		t.Errorf("modifying a snapshot changed the tracer: %+v", got)
	}
}

func TestClearForgetsEverything(t *testing.T) {
	tr := newFixedTracer(nil, WithMaxEntries(1))
	record(tr, "a", time.Second)
	record(tr, "b", time.Second)
	tr.Clear()
	got := tr.Get()
	if len(got.Entries) != 0 || len(got.Stats) != 0 || got.Overall != 0 || got.Dropped != 0 || got.Name != "test" {
		t.Errorf("after Clear, Get() = %+v, want an empty trace named test", got)
	}
	record(tr, "c", time.Second)
	if got := tr.Get().Entries; len(got) != 1 || got[0].Index != 0 || got[0].Entity != "c" {
		t.Errorf("after Clear, Entries = %v, want c at index 0", got)
	}
}

func TestNilTracerDoesNothing(t *testing.T) {
	var tr *Tracer
	tr.LogTime("e", time.Now())
	tr.Clear()
	got := tr.Get()
	if got == nil || got.Name != "" || len(got.Entries) != 0 || len(got.Stats) != 0 {
		t.Errorf("nil Tracer Get() = %+v, want an empty trace", got)
	}
}

func TestLogTimeLogsAtDebugWithTracerField(t *testing.T) {
	var buf bytes.Buffer
	reg := logging.NewRegistry(logging.WithOutput(&buf), logging.WithoutTimestamps())
	log := reg.Get("agent")
	tr := newFixedTracer(log)

	record(tr, "etcd init", 1500*time.Millisecond) // at info: not logged
	if buf.Len() != 0 {
		t.Fatalf("logged at info level: %q", buf.String())
	}
	if err := reg.SetLevel("agent", logging.DebugLevel); err != nil {
		t.Fatal(err)
	}
	record(tr, "etcd init", 1500*time.Millisecond)
	if got, want := buf.String(), "level=debug msg=\"etcd init took 1.5s\" logger=agent tracer=test\n"; got != want {
		t.Errorf("output = %q, want %q", got, want)
	}
}

func TestConcurrentLogTimeAndGet(t *testing.T) {
	reg := logging.NewRegistry(logging.WithOutput(io.Discard), logging.WithDefaultLevel(logging.DebugLevel))
	tr := NewTracer("race", reg.Get("race"), WithMaxEntries(50))
	const goroutines, calls = 8, 200
	var wg sync.WaitGroup
	for g := range goroutines {
		wg.Go(func() {
			entity := strings.Repeat("x", g%3+1)
			for range calls {
				tr.LogTime(entity, time.Now())
				_ = tr.Get()
			}
		})
	}
	wg.Wait()
	got := tr.Get()
	total := 0
	for _, s := range got.Stats {
		total += s.Count
	}
	if total != goroutines*calls || len(got.Entries) != 50 || got.Dropped != goroutines*calls-50 {
		t.Errorf("counted %d, kept %d, dropped %d, want %d, 50, %d",
			total, len(got.Entries), got.Dropped, goroutines*calls, goroutines*calls-50)
	}
}

// BenchmarkLogTime measures recording one timing. The cap of 1000 is small
// enough that the ring wraps, so the steady state (overwrite, not append)
// is what is measured.
func BenchmarkLogTime(b *testing.B) {
	reg := logging.NewRegistry(logging.WithOutput(io.Discard))
	b.Run("no logger", func(b *testing.B) {
		tr := NewTracer("bench", nil, WithMaxEntries(1000))
		start := time.Now()
		b.ReportAllocs()
		for b.Loop() {
			tr.LogTime("entity", start)
		}
	})
	b.Run("logger at info", func(b *testing.B) {
		tr := NewTracer("bench", reg.Get("bench"), WithMaxEntries(1000))
		start := time.Now()
		b.ReportAllocs()
		for b.Loop() {
			tr.LogTime("entity", start)
		}
	})
	b.Run("parallel", func(b *testing.B) {
		tr := NewTracer("bench", nil, WithMaxEntries(1000))
		start := time.Now()
		b.ReportAllocs()
		b.RunParallel(func(pb *testing.PB) {
			for pb.Next() {
				tr.LogTime("entity", start)
			}
		})
	})
}
