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
func BenchmarkLogDisabled(b *testing.B) {
	b.Run("ours", func(b *testing.B) {
		log := logging.NewRegistry(logging.WithOutput(io.Discard)).Get("bench")
		b.ReportAllocs()
		for b.Loop() {
			log.Debug("message", "key", 42)
		}
	})
	b.Run("slog", func(b *testing.B) {
		log := slog.New(slog.NewTextHandler(io.Discard, &slog.HandlerOptions{Level: slog.LevelInfo}))
		b.ReportAllocs()
		for b.Loop() {
			log.Debug("message", "key", 42)
		}
	})
	b.Run("logrus", func(b *testing.B) {
		log := logrus.New()
		log.SetOutput(io.Discard)
		log.SetLevel(logrus.InfoLevel)
		b.ReportAllocs()
		for b.Loop() {
			log.Debug("message", "key", 42)
		}
	})
}

// BenchmarkLogDisabledf is the formatted form of BenchmarkLogDisabled.
func BenchmarkLogDisabledf(b *testing.B) {
	b.Run("ours", func(b *testing.B) {
		log := logging.NewRegistry(logging.WithOutput(io.Discard)).Get("bench")
		b.ReportAllocs()
		for b.Loop() {
			log.Debugf("message %d", 42)
		}
	})
	b.Run("logrus", func(b *testing.B) {
		log := logrus.New()
		log.SetOutput(io.Discard)
		log.SetLevel(logrus.InfoLevel)
		b.ReportAllocs()
		for b.Loop() {
			log.Debugf("message %d", 42)
		}
	})
}
