package logging

import (
	"fmt"
	"sync/atomic"

	"github.com/sirupsen/logrus"
)

// Fields are key-value pairs attached to every record of a derived logger.
type Fields map[string]any

// Logger is what code that writes logs accepts. [*Log] implements it, and so
// do the loggers returned by WithField, WithFields and WithError.
//
// A call through this interface allocates its variadic argument slice even
// when the level is disabled; hold a [*Log] where that matters.
type Logger interface {
	Trace(args ...any)
	Debug(args ...any)
	Info(args ...any)
	Warn(args ...any)
	Error(args ...any)
	// Fatal logs at FatalLevel and then exits the process with status 1.
	Fatal(args ...any)
	// Panic logs at PanicLevel and then panics with the message.
	Panic(args ...any)

	Tracef(format string, args ...any)
	Debugf(format string, args ...any)
	Infof(format string, args ...any)
	Warnf(format string, args ...any)
	Errorf(format string, args ...any)
	Fatalf(format string, args ...any)
	Panicf(format string, args ...any)

	// WithField returns a logger that adds key=value to every record. It
	// shares the level of the logger it was derived from.
	WithField(key string, value any) Logger
	// WithFields is WithField for several fields at once.
	WithFields(fields Fields) Logger
	// WithError adds err under the key "error".
	WithError(err error) Logger

	// Name is the registry name of the logger, written as field "logger".
	Name() string
	// Level is the effective level: the explicit one, the nearest
	// ancestor's, or the registry default.
	Level() Level
	// Enabled reports whether a record at level l would be written.
	Enabled(l Level) bool
}

var (
	_ Logger = (*Log)(nil)
	_ Logger = (*entryLogger)(nil)
)

// Log is a named logger owned by a [Registry]; get one with [Registry.Get].
// Its level is set through the registry, and a change reaches every logger
// derived from it, including [slog.Logger]s obtained before the change.
//
// Methods of *Log check the level before anything else, so a call below the
// level does not allocate. The same call through the [Logger] interface
// allocates the variadic slice, because the compiler cannot prove that an
// unknown implementation does not keep it.
type Log struct {
	name string
	reg  *Registry
	// entry carries the field logger=<name>; it is never modified after
	// construction, so records built from it need no lock.
	entry *logrus.Entry
	// level is the effective level, recomputed by the registry on every
	// change, so that Enabled is one atomic load.
	level atomic.Uint32
}

// Name returns the logger's registry name.
func (l *Log) Name() string { return l.name }

// Level returns the effective level.
func (l *Log) Level() Level { return Level(l.level.Load()) }

// Enabled reports whether a record at level lvl would be written.
func (l *Log) Enabled(lvl Level) bool { return lvl <= Level(l.level.Load()) }

// Child returns the registry logger named "<parent>.<name>". Unless its level
// is set, it follows the parent's level.
func (l *Log) Child(name string) *Log { return l.reg.Get(l.name + "." + name) }

// WithField returns a logger that adds key=value to every record.
func (l *Log) WithField(key string, value any) Logger {
	return &entryLogger{log: l, entry: l.entry.WithField(key, value)}
}

// WithFields returns a logger that adds fields to every record.
func (l *Log) WithFields(fields Fields) Logger {
	return &entryLogger{log: l, entry: l.entry.WithFields(logrus.Fields(fields))}
}

// WithError returns a logger that adds err under the key "error".
func (l *Log) WithError(err error) Logger {
	return &entryLogger{log: l, entry: l.entry.WithError(err)}
}

// Trace logs at TraceLevel; arguments are formatted as by fmt.Sprint.
func (l *Log) Trace(args ...any) {
	if l.Enabled(TraceLevel) {
		l.entry.Log(logrus.TraceLevel, args...)
	}
}

// Debug logs at DebugLevel.
func (l *Log) Debug(args ...any) {
	if l.Enabled(DebugLevel) {
		l.entry.Log(logrus.DebugLevel, args...)
	}
}

// Info logs at InfoLevel.
func (l *Log) Info(args ...any) {
	if l.Enabled(InfoLevel) {
		l.entry.Log(logrus.InfoLevel, args...)
	}
}

// Warn logs at WarnLevel.
func (l *Log) Warn(args ...any) {
	if l.Enabled(WarnLevel) {
		l.entry.Log(logrus.WarnLevel, args...)
	}
}

// Error logs at ErrorLevel.
func (l *Log) Error(args ...any) {
	if l.Enabled(ErrorLevel) {
		l.entry.Log(logrus.ErrorLevel, args...)
	}
}

// Fatal logs at FatalLevel and exits the process with status 1.
func (l *Log) Fatal(args ...any) { fatal(l.entry, fmt.Sprint(args...)) }

// Panic logs at PanicLevel and panics with the message.
func (l *Log) Panic(args ...any) { panicWith(l.entry, fmt.Sprint(args...)) }

// Tracef logs at TraceLevel; arguments are formatted as by fmt.Sprintf.
func (l *Log) Tracef(format string, args ...any) {
	if l.Enabled(TraceLevel) {
		l.entry.Logf(logrus.TraceLevel, format, args...)
	}
}

// Debugf logs at DebugLevel.
func (l *Log) Debugf(format string, args ...any) {
	if l.Enabled(DebugLevel) {
		l.entry.Logf(logrus.DebugLevel, format, args...)
	}
}

// Infof logs at InfoLevel.
func (l *Log) Infof(format string, args ...any) {
	if l.Enabled(InfoLevel) {
		l.entry.Logf(logrus.InfoLevel, format, args...)
	}
}

// Warnf logs at WarnLevel.
func (l *Log) Warnf(format string, args ...any) {
	if l.Enabled(WarnLevel) {
		l.entry.Logf(logrus.WarnLevel, format, args...)
	}
}

// Errorf logs at ErrorLevel.
func (l *Log) Errorf(format string, args ...any) {
	if l.Enabled(ErrorLevel) {
		l.entry.Logf(logrus.ErrorLevel, format, args...)
	}
}

// Fatalf logs at FatalLevel and exits the process with status 1.
func (l *Log) Fatalf(format string, args ...any) { fatal(l.entry, fmt.Sprintf(format, args...)) }

// Panicf logs at PanicLevel and panics with the message.
func (l *Log) Panicf(format string, args ...any) { panicWith(l.entry, fmt.Sprintf(format, args...)) }

// entryLogger is a logger derived with fields. It reads the level of the
// *Log it came from, so level changes reach it.
type entryLogger struct {
	log   *Log
	entry *logrus.Entry
}

func (e *entryLogger) Name() string                 { return e.log.name }
func (e *entryLogger) Level() Level                 { return e.log.Level() }
func (e *entryLogger) Enabled(l Level) bool         { return e.log.Enabled(l) }
func (e *entryLogger) Fatal(args ...any)            { fatal(e.entry, fmt.Sprint(args...)) }
func (e *entryLogger) Panic(args ...any)            { panicWith(e.entry, fmt.Sprint(args...)) }
func (e *entryLogger) Trace(args ...any)            { e.logArgs(TraceLevel, args) }
func (e *entryLogger) Debug(args ...any)            { e.logArgs(DebugLevel, args) }
func (e *entryLogger) Info(args ...any)             { e.logArgs(InfoLevel, args) }
func (e *entryLogger) Warn(args ...any)             { e.logArgs(WarnLevel, args) }
func (e *entryLogger) Error(args ...any)            { e.logArgs(ErrorLevel, args) }
func (e *entryLogger) Tracef(f string, args ...any) { e.logf(TraceLevel, f, args) }
func (e *entryLogger) Debugf(f string, args ...any) { e.logf(DebugLevel, f, args) }
func (e *entryLogger) Infof(f string, args ...any)  { e.logf(InfoLevel, f, args) }
func (e *entryLogger) Warnf(f string, args ...any)  { e.logf(WarnLevel, f, args) }
func (e *entryLogger) Errorf(f string, args ...any) { e.logf(ErrorLevel, f, args) }
func (e *entryLogger) Fatalf(f string, args ...any) { fatal(e.entry, fmt.Sprintf(f, args...)) }
func (e *entryLogger) Panicf(f string, args ...any) { panicWith(e.entry, fmt.Sprintf(f, args...)) }

func (e *entryLogger) WithField(key string, value any) Logger {
	return &entryLogger{log: e.log, entry: e.entry.WithField(key, value)}
}

func (e *entryLogger) WithFields(fields Fields) Logger {
	return &entryLogger{log: e.log, entry: e.entry.WithFields(logrus.Fields(fields))}
}

func (e *entryLogger) WithError(err error) Logger {
	return &entryLogger{log: e.log, entry: e.entry.WithError(err)}
}

func (e *entryLogger) logArgs(lvl Level, args []any) {
	if e.log.Enabled(lvl) {
		e.entry.Log(logrus.Level(lvl), args...)
	}
}

func (e *entryLogger) logf(lvl Level, format string, args []any) {
	if e.log.Enabled(lvl) {
		e.entry.Logf(logrus.Level(lvl), format, args...)
	}
}

// fatal writes msg at FatalLevel and exits through logrus, which runs the
// logrus exit handlers first. It is reached only when the caller asked for
// Fatal; nothing in Plinth does.
func fatal(entry *logrus.Entry, msg string) {
	entry.Log(logrus.FatalLevel, msg)
	entry.Logger.Exit(1)
}

// panicWith writes msg at PanicLevel and panics with msg itself, as the
// standard library's log.Panic does, rather than with logrus's *Entry, so
// recovering code never sees a logrus type. Entry.Log does not panic.
func panicWith(entry *logrus.Entry, msg string) {
	entry.Log(logrus.PanicLevel, msg)
	panic(msg)
}
