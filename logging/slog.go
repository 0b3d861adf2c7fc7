package logging

import (
	"context"
	"log/slog"

	"github.com/sirupsen/logrus"
)

// Slog returns an [slog.Logger] that writes through l. Its Enabled reads
// l's live level, so a level change applies to slog loggers obtained
// before it. slog levels map to ours as: below Debug is TraceLevel, Debug
// is DebugLevel, Info is InfoLevel, Warn is WarnLevel, Error and above is
// ErrorLevel; slog never panics or exits. The fields of l (from WithField
// and the like) are on every record. Attributes become fields, and
// attributes inside groups become fields named "group.key". A record
// without a time is stamped with the time it is written.
func (l *Log) Slog() *slog.Logger {
	return slog.New(&slogHandler{log: l, entry: l.entry})
}

var _ slog.Handler = (*slogHandler)(nil)

// slogHandler is immutable; WithAttrs and WithGroup return copies.
type slogHandler struct {
	log *Log
	// entry holds the fields of WithAttrs, already prefixed.
	entry *logrus.Entry
	// prefix is the open groups, each followed by a dot: "g1.g2.".
	prefix string
}

func slogToLevel(l slog.Level) Level {
	switch {
	case l < slog.LevelDebug:
		return TraceLevel
	case l < slog.LevelInfo:
		return DebugLevel
	case l < slog.LevelWarn:
		return InfoLevel
	case l < slog.LevelError:
		return WarnLevel
	default:
		return ErrorLevel
	}
}

func (h *slogHandler) Enabled(_ context.Context, l slog.Level) bool {
	return h.log.Enabled(slogToLevel(l))
}

func (h *slogHandler) Handle(_ context.Context, r slog.Record) error {
	entry := h.entry
	if r.NumAttrs() > 0 {
		fields := make(logrus.Fields, r.NumAttrs())
		r.Attrs(func(a slog.Attr) bool {
			addAttr(fields, h.prefix, a)
			return true
		})
		entry = entry.WithFields(fields)
	}
	// A zero time means "no time" in slog; logrus cannot omit it per
	// record, so it stamps the time of writing instead.
	if !r.Time.IsZero() {
		entry = entry.WithTime(r.Time)
	}
	entry.Log(logrus.Level(slogToLevel(r.Level)), r.Message)
	return nil
}

func (h *slogHandler) WithAttrs(attrs []slog.Attr) slog.Handler {
	if len(attrs) == 0 {
		return h
	}
	fields := make(logrus.Fields, len(attrs))
	for _, a := range attrs {
		addAttr(fields, h.prefix, a)
	}
	h2 := *h
	h2.entry = h.entry.WithFields(fields)
	return &h2
}

func (h *slogHandler) WithGroup(name string) slog.Handler {
	if name == "" {
		return h
	}
	h2 := *h
	h2.prefix = h.prefix + name + "."
	return &h2
}

// addAttr flattens a into fields following the slog.Handler rules: empty
// attributes and empty groups are dropped, a group with an empty key is
// inlined, and LogValuers are resolved.
func addAttr(fields logrus.Fields, prefix string, a slog.Attr) {
	a.Value = a.Value.Resolve()
	if a.Equal(slog.Attr{}) {
		return
	}
	if a.Value.Kind() == slog.KindGroup {
		if a.Key != "" {
			prefix += a.Key + "."
		}
		for _, ga := range a.Value.Group() {
			addAttr(fields, prefix, ga)
		}
		return
	}
	fields[prefix+a.Key] = a.Value.Any()
}
