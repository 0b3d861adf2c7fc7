package logging_test

import (
	"io"
	"log/slog"
	"testing"

	"github.com/plinth-go/plinth/logging"
)

// BenchmarkDisabled measures a call below the active level (info), the
// common case for debug logging left in hot code. Logger.Debug is the call
// as plugins make it, on the logging.Logger they hold; rawSlog is the
// standard library's own disabled path, the floor to compare against; and
// ownInterface is the same logger behind an interface of the caller's, which
// is what logging.Logger used to be: the variadic slice escapes.
func BenchmarkDisabled(b *testing.B) {
	reg := logging.NewRegistry(logging.WithOutput(io.Discard))
	var log logging.Logger = reg.Get("bench")
	derived := log.WithField("k", "v")
	bridge := log.Slog()
	raw := slog.New(slog.NewTextHandler(io.Discard, &slog.HandlerOptions{Level: slog.LevelInfo}))
	iface := opaque(log)

	b.Run("Logger.Debug", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			log.Debug("x", 1)
		}
	})
	b.Run("Logger.Debugf", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			log.Debugf("x %d", 5)
		}
	})
	b.Run("WithField.Debug", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			derived.Debug("x", 1)
		}
	})
	b.Run("Slog.Debug", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			bridge.Debug("x", "k", 1)
		}
	})
	b.Run("rawSlog.Debug", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			raw.Debug("x", "k", 1)
		}
	})
	b.Run("ownInterface.Debug", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			iface.Debug("x", 1)
		}
	})
}

// debugger is an interface a caller might declare over logging.Logger.
type debugger interface{ Debug(args ...any) }

// opaque hides the dynamic type of l from the compiler, as for an interface
// value set elsewhere; otherwise the call is devirtualized and the
// benchmark no longer measures an interface call.
//
//go:noinline
func opaque(l logging.Logger) debugger { return l }

// BenchmarkEnabled measures a written record, formatting included, to
// io.Discard so that only our and logrus's work is counted.
func BenchmarkEnabled(b *testing.B) {
	reg := logging.NewRegistry(logging.WithOutput(io.Discard))
	var log logging.Logger = reg.Get("bench")
	derived := log.WithField("k", "v")
	bridge := log.Slog()
	raw := slog.New(slog.NewTextHandler(io.Discard, &slog.HandlerOptions{Level: slog.LevelInfo}))

	b.Run("Logger.Info", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			log.Info("x", 1)
		}
	})
	b.Run("Logger.Infof", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			log.Infof("x %d", 5)
		}
	})
	b.Run("WithField.Info", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			derived.Info("x", 1)
		}
	})
	b.Run("Slog.Info", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			bridge.Info("x", "k", 1)
		}
	})
	b.Run("rawSlog.Info", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			raw.Info("x", "k", 1)
		}
	})
}

// BenchmarkDisabledParallel shows that the level check does not contend:
// it is one atomic load with no shared writes.
func BenchmarkDisabledParallel(b *testing.B) {
	log := logging.NewRegistry(logging.WithOutput(io.Discard)).Get("bench")
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			log.Debug("x", 1)
		}
	})
}

// BenchmarkHook measures an enabled call with no hook, with a hook that
// does nothing, and with an AsyncHook whose wrapped hook hangs, as a hook
// does while its endpoint is down: the queue fills and every further record
// is dropped and counted, so callers pay the same as with a quick hook.
func BenchmarkHook(b *testing.B) {
	quick := logging.HookFunc(func(*logging.Record) error { return nil })
	hung := make(chan struct{})
	stuck := logging.HookFunc(func(*logging.Record) error { <-hung; return nil })

	cases := []struct {
		name string
		hook logging.Hook
	}{
		{"none", nil},
		{"quick", quick},
		{"async-quick", logging.NewAsyncHook(quick)},
		{"async-hung", logging.NewAsyncHook(stuck, logging.WithQueueSize(16))},
	}
	for _, c := range cases {
		b.Run(c.name, func(b *testing.B) {
			reg := logging.NewRegistry(logging.WithOutput(io.Discard))
			if c.hook != nil {
				reg.AddHook(c.hook)
			}
			log := reg.Get("bench")
			b.ReportAllocs()
			for b.Loop() {
				log.Error("request failed")
			}
		})
	}
	close(hung)
	for _, c := range cases {
		if a, ok := c.hook.(*logging.AsyncHook); ok {
			if err := a.Close(b.Context()); err != nil {
				b.Fatal(err)
			}
		}
	}
}
