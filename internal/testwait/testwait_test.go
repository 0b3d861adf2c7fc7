package testwait_test

import (
	"context"
	"fmt"
	"runtime"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/plinth-go/plinth/internal/testwait"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// fakeT records the failure of a wait instead of failing the test.
type fakeT struct {
	testing.TB
	ctx    context.Context
	failed string
}

func (f *fakeT) Helper()                  {}
func (f *fakeT) Context() context.Context { return f.ctx }
func (f *fakeT) Fatalf(format string, args ...any) {
	f.failed = fmt.Sprintf(format, args...)
	runtime.Goexit()
}

// run calls fn with a fakeT on a goroutine of its own, as t.Fatalf ends
// the goroutine, and returns the failure message ("" if none).
func run(t *testing.T, fn func(tb testing.TB)) string {
	f := &fakeT{TB: t, ctx: t.Context()}
	done := make(chan struct{})
	go func() {
		defer close(done)
		fn(f)
	}()
	<-done
	return f.failed
}

func TestForReturnsOnceTheConditionHolds(t *testing.T) {
	var calls atomic.Int32
	failed := run(t, func(tb testing.TB) {
		testwait.For(tb, 10*time.Second, "third call", func() (bool, string) {
			n := calls.Add(1)
			return n >= 3, fmt.Sprintf("call %d", n)
		})
	})
	if failed != "" {
		t.Errorf("For failed: %s", failed)
	}
	if n := calls.Load(); n != 3 {
		t.Errorf("cond called %d times, want 3", n)
	}
}

func TestForFailsWithTheLastExplanation(t *testing.T) {
	var calls atomic.Int32
	failed := run(t, func(tb testing.TB) {
		testwait.For(tb, 100*time.Millisecond, "the impossible", func() (bool, string) {
			return false, fmt.Sprintf("call %d", calls.Add(1))
		})
	})
	want := fmt.Sprintf("the impossible: not after 100ms: call %d", calls.Load())
	if failed != want {
		t.Errorf("For failed with %q, want %q", failed, want)
	}
}

func TestUntilFailsWhenTheContextEnds(t *testing.T) {
	ctx, cancel := context.WithCancelCause(t.Context())
	cancel(fmt.Errorf("the test gave up"))
	var seen error
	failed := run(t, func(tb testing.TB) {
		testwait.Until(ctx, tb, "a key", func(ctx context.Context) (bool, string) {
			seen = ctx.Err()
			return false, "no key"
		})
	})
	if !strings.HasPrefix(failed, "a key: not after ") || !strings.HasSuffix(failed, "(the test gave up): no key") {
		t.Errorf("Until failed with %q, want what, the cause and the explanation", failed)
	}
	if seen == nil {
		t.Error("cond's ctx has not ended, want the ctx given to Until")
	}
}

func TestUntilReturnsHowLongItWaited(t *testing.T) {
	start := time.Now()
	var waited time.Duration
	failed := run(t, func(tb testing.TB) {
		waited = testwait.Until(t.Context(), tb, "100ms", func(context.Context) (bool, string) {
			return time.Since(start) >= 100*time.Millisecond, ""
		})
	})
	if failed != "" {
		t.Fatalf("Until failed: %s", failed)
	}
	if waited < 100*time.Millisecond || waited > time.Since(start) {
		t.Errorf("Until returned %v, want between 100ms and %v", waited, time.Since(start))
	}
}

func TestSteadyWaitsForAValueThatStopsChanging(t *testing.T) {
	var calls atomic.Int32
	var got string
	failed := run(t, func(tb testing.TB) {
		got = testwait.Steady(tb, 10*time.Second, 200*time.Millisecond, func() string {
			return fmt.Sprint(min(calls.Add(1), 3))
		})
	})
	if failed != "" || got != "3" {
		t.Errorf("Steady = %q (failed: %q), want 3", got, failed)
	}
}

func TestSteadyFailsWhileTheValueKeepsChanging(t *testing.T) {
	var calls atomic.Int32
	failed := run(t, func(tb testing.TB) {
		testwait.Steady(tb, 300*time.Millisecond, time.Second, func() string {
			return fmt.Sprint(calls.Add(1))
		})
	})
	if !strings.HasPrefix(failed, "still changing after 300ms: ") {
		t.Errorf("Steady failed with %q, want still changing", failed)
	}
}
