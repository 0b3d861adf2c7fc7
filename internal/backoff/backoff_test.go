package backoff_test

import (
	"context"
	"math"
	"slices"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/plinth-go/plinth/internal/backoff"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

const ms = time.Millisecond

// TestBackoffSchedules pins the schedules the documentation of the loops
// states, and the edge cases of Min and Max.
func TestBackoffSchedules(t *testing.T) {
	for _, tc := range []struct {
		name     string
		b        backoff.Backoff
		want     []time.Duration
		resetAt  int // Reset before this call of Next; 0: never
		wantNext []time.Duration
	}{
		{name: "etcd reconnect: 50ms doubling to 1s", b: backoff.Backoff{Min: 50 * ms, Max: time.Second},
			want: []time.Duration{50 * ms, 100 * ms, 200 * ms, 400 * ms, 800 * ms, time.Second, time.Second}},
		{name: "log hooks: 100ms doubling to 10s", b: backoff.Backoff{Min: 100 * ms, Max: 10 * time.Second},
			want: []time.Duration{100 * ms, 200 * ms, 400 * ms, 800 * ms, 1600 * ms, 3200 * ms, 6400 * ms, 10 * time.Second, 10 * time.Second}},
		{name: "kafka renew: 100ms doubling to 1s", b: backoff.Backoff{Min: 100 * ms, Max: time.Second},
			want: []time.Duration{100 * ms, 200 * ms, 400 * ms, 800 * ms, time.Second}},
		{name: "Max not a power-of-two multiple of Min", b: backoff.Backoff{Min: 300 * ms, Max: time.Second},
			want: []time.Duration{300 * ms, 600 * ms, time.Second, time.Second}},
		{name: "Max below Min caps the waits after the first", b: backoff.Backoff{Min: 50 * ms, Max: 10 * ms},
			want: []time.Duration{50 * ms, 10 * ms, 10 * ms}},
		{name: "Max equal to Min", b: backoff.Backoff{Min: time.Second, Max: time.Second},
			want: []time.Duration{time.Second, time.Second}},
		{name: "zero Max keeps Min", b: backoff.Backoff{Min: 20 * ms},
			want: []time.Duration{20 * ms, 20 * ms, 20 * ms}},
		{name: "zero value waits zero", want: []time.Duration{0, 0, 0}},
		{name: "negative Min waits zero", b: backoff.Backoff{Min: -time.Second, Max: time.Second},
			want: []time.Duration{0, 0}},
		{name: "huge Max does not overflow", b: backoff.Backoff{Min: math.MaxInt64 / 4, Max: math.MaxInt64},
			want: []time.Duration{math.MaxInt64 / 4, math.MaxInt64 / 4 * 2, math.MaxInt64 / 4 * 4, math.MaxInt64}},
		{name: "Reset starts again from Min", b: backoff.Backoff{Min: 50 * ms, Max: time.Second},
			want: []time.Duration{50 * ms, 100 * ms, 200 * ms, 50 * ms, 100 * ms}, resetAt: 3},
	} {
		t.Run(tc.name, func(t *testing.T) {
			b := tc.b
			var got []time.Duration
			for i := range tc.want {
				if tc.resetAt != 0 && i == tc.resetAt {
					b.Reset()
				}
				got = append(got, b.Next())
			}
			if !slices.Equal(got, tc.want) {
				t.Errorf("Next() x%d = %v, want %v", len(tc.want), got, tc.want)
			}
		})
	}
}

// FuzzBackoffBounds checks, for any settings, that each wait lies between
// (1-Jitter) times and exactly the wait without jitter, that the waits
// without jitter follow the schedule, and that no wait is negative.
func FuzzBackoffBounds(f *testing.F) {
	f.Add(int64(50*ms), int64(time.Second), 0.2, uint8(10))        // etcd reconnect
	f.Add(int64(100*ms), int64(10*time.Second), 0.0, uint8(12))    // log hooks
	f.Add(int64(100*ms), int64(50*ms), 1.0, uint8(4))              // Max below Min, full jitter
	f.Add(int64(0), int64(0), 0.5, uint8(3))                       // zero value with jitter
	f.Add(int64(1), int64(math.MaxInt64), 0.3, uint8(70))          // doubling up to the largest duration
	f.Add(int64(time.Second), int64(-time.Second), -2.0, uint8(3)) // out-of-range Max and Jitter
	f.Fuzz(func(t *testing.T, minWait, maxWait int64, jitter float64, n uint8) {
		if math.IsNaN(jitter) {
			t.Skip("NaN jitter is not a setting")
		}
		b := backoff.Backoff{Min: time.Duration(minWait), Max: time.Duration(maxWait), Jitter: jitter}
		exact := backoff.Backoff{Min: b.Min, Max: b.Max}
		j := min(max(jitter, 0), 1)
		limit := b.Max
		if limit <= 0 {
			limit = b.Min
		}
		var prev time.Duration
		for i := range int(n) {
			got, want := b.Next(), exact.Next()
			if want < 0 {
				t.Fatalf("wait %d without jitter = %v, negative", i, want)
			}
			if got > want || float64(got) < float64(want)*(1-j)-1 {
				t.Fatalf("wait %d = %v, want within [%v, %v] (jitter %v)", i, got, time.Duration(float64(want)*(1-j)), want, jitter)
			}
			switch {
			case b.Min <= 0:
				if want != 0 {
					t.Fatalf("wait %d = %v with Min %v, want 0", i, want, b.Min)
				}
			case i == 0:
				if want != b.Min {
					t.Fatalf("first wait = %v, want Min %v", want, b.Min)
				}
			case want != min(2*prev, limit) && !(prev > limit/2 && want == limit):
				t.Fatalf("wait %d = %v after %v, want twice that capped at %v", i, want, prev, limit)
			}
			prev = want
		}
	})
}

func TestSleepEndsWhenDoneCloses(t *testing.T) {
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	start := time.Now()
	if backoff.Sleep(ctx.Done(), time.Hour) {
		t.Error("Sleep(closed, 1h) = true, want false")
	}
	b := backoff.Backoff{Min: time.Hour}
	if b.Sleep(ctx.Done()) {
		t.Error("Backoff.Sleep(closed) = true, want false")
	}
	if d := time.Since(start); d > 10*time.Second {
		t.Errorf("Sleep with done closed took %v", d)
	}
}

func TestSleepWaitsTheWholeDuration(t *testing.T) {
	start := time.Now()
	if !backoff.Sleep(nil, 20*ms) {
		t.Error("Sleep(nil, 20ms) = false, want true")
	}
	if d := time.Since(start); d < 20*ms {
		t.Errorf("Sleep(nil, 20ms) returned after %v", d)
	}
}
