package testwait

import (
	"context"
	"testing"
	"time"

	"github.com/plinth-go/plinth/internal/backoff"
)

// Bounds of the interval between two calls of a condition.
const (
	firstPoll = 5 * time.Millisecond
	maxPoll   = 50 * time.Millisecond
)

// For calls cond until it reports true and returns how long that took. It
// fails the test when timeout passes first, or the test's context ends,
// with what and cond's last explanation (why), which may be empty.
func For(t testing.TB, timeout time.Duration, what string, cond func() (ok bool, why string)) time.Duration {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), timeout)
	defer cancel()
	start := time.Now()
	why, ok := poll(ctx, func(context.Context) (bool, string) { return cond() })
	if !ok {
		t.Fatalf("%s: not after %v: %s", what, timeout, why)
	}
	return time.Since(start)
}

// Until calls cond until it reports true and returns how long that took.
// It fails the test when ctx ends first, with what, the cause of the end
// and cond's last explanation (why). cond receives ctx, for the requests it
// makes: they end with the wait.
func Until(ctx context.Context, t testing.TB, what string, cond func(ctx context.Context) (ok bool, why string)) time.Duration {
	t.Helper()
	start := time.Now()
	why, ok := poll(ctx, cond)
	if !ok {
		t.Fatalf("%s: not after %v (%v): %s", what, time.Since(start).Round(time.Millisecond), context.Cause(ctx), why)
	}
	return time.Since(start)
}

// poll calls cond until it reports true (ok) or ctx ends (the last why).
// cond is called at least once, even when ctx has already ended.
func poll(ctx context.Context, cond func(context.Context) (bool, string)) (why string, ok bool) {
	interval := backoff.Backoff{Min: firstPoll, Max: maxPoll}
	for {
		ok, why := cond(ctx)
		if ok {
			return "", true
		}
		if !interval.Sleep(ctx.Done()) {
			return why, false
		}
	}
}

// Steady waits until state returns the same value for stable, checking
// every 50ms, and returns that value. It fails the test when timeout passes
// first, with the last value.
func Steady(t testing.TB, timeout, stable time.Duration, state func() string) string {
	t.Helper()
	deadline := time.Now().Add(timeout)
	last, since := state(), time.Now()
	for time.Since(since) < stable {
		if time.Now().After(deadline) {
			t.Fatalf("still changing after %v: %s", timeout, last)
		}
		time.Sleep(maxPoll)
		if s := state(); s != last {
			last, since = s, time.Now()
		}
	}
	return last
}
