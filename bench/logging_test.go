package bench

import (
	"io"
	"log/slog"
	"testing"

	"github.com/sirupsen/logrus"

	"github.com/plinth-go/plinth/logging"
)

// BenchmarkLogDisabled measures a call below the active level (debug while
// the level is info): the cost every disabled log line in a hot path pays.
// Ours is called on a logging.Logger, the type plugins hold; the peers on
// their own logger types, each the way its users call it.
func BenchmarkLogDisabled(b *testing.B) {
	var ours logging.Logger = logging.NewRegistry(logging.WithOutput(io.Discard)).Get("bench")
	sl := slog.New(slog.NewTextHandler(io.Discard, &slog.HandlerOptions{Level: slog.LevelInfo}))
	lr := quietLogrus()
	interleave(b,
		side{"ours", func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				ours.Debug("message", "key", 42)
			}
		}},
		side{"slog", func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				sl.Debug("message", "key", 42)
			}
		}},
		side{"logrus", func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				lr.Debug("message", "key", 42)
			}
		}},
	)
}

// BenchmarkLogDisabledf is the formatted form of BenchmarkLogDisabled; slog
// has no formatted calls.
func BenchmarkLogDisabledf(b *testing.B) {
	var ours logging.Logger = logging.NewRegistry(logging.WithOutput(io.Discard)).Get("bench")
	lr := quietLogrus()
	interleave(b,
		side{"ours", func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				ours.Debugf("message %d", 42)
			}
		}},
		side{"logrus", func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				lr.Debugf("message %d", 42)
			}
		}},
	)
}

// BenchmarkLogDisabledWithFields is BenchmarkLogDisabled on a logger derived
// with a field, built once as a plugin builds it: the call on the derived
// logger is what is measured, not the derivation.
func BenchmarkLogDisabledWithFields(b *testing.B) {
	ours := logging.NewRegistry(logging.WithOutput(io.Discard)).Get("bench").WithField("conn", 7)
	sl := slog.New(slog.NewTextHandler(io.Discard, &slog.HandlerOptions{Level: slog.LevelInfo})).With("conn", 7)
	lr := quietLogrus().WithField("conn", 7)
	interleave(b,
		side{"ours", func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				ours.Debug("message", "key", 42)
			}
		}},
		side{"slog", func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				sl.Debug("message", "key", 42)
			}
		}},
		side{"logrus", func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				lr.Debug("message", "key", 42)
			}
		}},
	)
}

// quietLogrus returns a logrus logger at info level writing to io.Discard.
func quietLogrus() *logrus.Logger {
	l := logrus.New()
	l.SetOutput(io.Discard)
	l.SetLevel(logrus.InfoLevel)
	return l
}
