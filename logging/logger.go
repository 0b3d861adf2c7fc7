package logging

import (
	"fmt"
	"sync/atomic"

	"github.com/sirupsen/logrus"
)

// Fields are key-value pairs attached to every record of a derived logger.
type Fields map[string]any

// Logger is what code that writes logs holds and accepts. It is *[Log]:
// a registry hands out loggers as *Log, and WithField, WithFields and
// WithError return one too, so a Logger field or parameter takes all of
// them. Its methods are the logrus-style set the seed documents: Trace,
// Debug, Info, Warn, Error, Fatal and Panic, each with an …f form, plus
// WithField, WithFields, WithError, Name, Level and Enabled.
//
// Logger is a concrete type, not an interface, so that a call below the
// level allocates nothing and costs a load and a compare. Through an
// interface method the compiler cannot prove that an unknown implementation
// does not keep the variadic argument slice, so it allocates the slice on
// the heap at every call, enabled or not (1 allocation, ~43 ns, when Logger
// was an interface). On *Log the slice stays on the caller's stack. Code
// that needs to substitute its own logger should declare a small interface
// with the methods it calls, which *Log satisfies, and pay that allocation
// knowingly.
type Logger = *Log

// Log is a named logger owned by a [Registry]; get one with [Registry.Get].
// Its level is set through the registry, and a change reaches every logger
// derived from it with WithField, WithFields or WithError, and every
// [slog.Logger] from [Log.Slog], including those obtained before the change.
//
// Methods check the level before anything else, so a call below the level
// does not allocate. The zero Log is not usable, and a nil *Log is not a
// no-op logger: check for nil where a logger is optional.
type Log struct {
	// core is shared by a registry logger and every logger derived from it.
	core *core
	// entry carries the field logger=<name> and, for a derived logger, its
	// fields. It is never modified after construction, so records built
	// from it need no lock.
	entry *logrus.Entry
}

// core is the part of a registry logger that loggers derived from it share.
type core struct {
	name string
	reg  *Registry
	// level is the effective level, recomputed by the registry on every
	// change, so that Enabled is one atomic load.
	level atomic.Uint32
}

// Name returns the logger's registry name, which derived loggers share.
func (l *Log) Name() string { return l.core.name }

// Level returns the effective level: the explicit one, the nearest
// ancestor's, or the registry default.
func (l *Log) Level() Level { return Level(l.core.level.Load()) }

// Enabled reports whether a record at level lvl would be written.
func (l *Log) Enabled(lvl Level) bool { return lvl <= Level(l.core.level.Load()) }

// Child returns the registry logger named "<parent>.<name>". Unless its level
// is set, it follows the parent's level. Fields added to l with WithField
// are not carried over: the child is the registry's logger of that name.
func (l *Log) Child(name string) *Log { return l.core.reg.Get(l.core.name + "." + name) }

// WithField returns a logger that adds key=value to every record. It shares
// the name and the level of l.
func (l *Log) WithField(key string, value any) *Log {
	return &Log{core: l.core, entry: l.entry.WithField(key, value)}
}

// WithFields is WithField for several fields at once.
func (l *Log) WithFields(fields Fields) *Log {
	return &Log{core: l.core, entry: l.entry.WithFields(logrus.Fields(fields))}
}

// WithError returns a logger that adds err under the key "error".
func (l *Log) WithError(err error) *Log {
	return &Log{core: l.core, entry: l.entry.WithError(err)}
}

// Trace logs at TraceLevel; arguments are formatted as by fmt.Sprint.
func (l *Log) Trace(args ...any) {
	if l.Enabled(TraceLevel) {
		l.log(TraceLevel, args)
	}
}

// Debug logs at DebugLevel.
func (l *Log) Debug(args ...any) {
	if l.Enabled(DebugLevel) {
		l.log(DebugLevel, args)
	}
}

// Info logs at InfoLevel.
func (l *Log) Info(args ...any) {
	if l.Enabled(InfoLevel) {
		l.log(InfoLevel, args)
	}
}

// Warn logs at WarnLevel.
func (l *Log) Warn(args ...any) {
	if l.Enabled(WarnLevel) {
		l.log(WarnLevel, args)
	}
}

// Error logs at ErrorLevel.
func (l *Log) Error(args ...any) {
	if l.Enabled(ErrorLevel) {
		l.log(ErrorLevel, args)
	}
}

// Fatal logs at FatalLevel and exits the process with status 1.
func (l *Log) Fatal(args ...any) { fatal(l.entry, fmt.Sprint(args...)) }

// Panic logs at PanicLevel and panics with the message.
func (l *Log) Panic(args ...any) { panicWith(l.entry, fmt.Sprint(args...)) }

// Tracef logs at TraceLevel; arguments are formatted as by fmt.Sprintf.
func (l *Log) Tracef(format string, args ...any) {
	if l.Enabled(TraceLevel) {
		l.logf(TraceLevel, format, args)
	}
}

// Debugf logs at DebugLevel.
func (l *Log) Debugf(format string, args ...any) {
	if l.Enabled(DebugLevel) {
		l.logf(DebugLevel, format, args)
	}
}

// Infof logs at InfoLevel.
func (l *Log) Infof(format string, args ...any) {
	if l.Enabled(InfoLevel) {
		l.logf(InfoLevel, format, args)
	}
}

// Warnf logs at WarnLevel.
func (l *Log) Warnf(format string, args ...any) {
	if l.Enabled(WarnLevel) {
		l.logf(WarnLevel, format, args)
	}
}

// Errorf logs at ErrorLevel.
func (l *Log) Errorf(format string, args ...any) {
	if l.Enabled(ErrorLevel) {
		l.logf(ErrorLevel, format, args)
	}
}

// Fatalf logs at FatalLevel and exits the process with status 1.
func (l *Log) Fatalf(format string, args ...any) { fatal(l.entry, fmt.Sprintf(format, args...)) }

// Panicf logs at PanicLevel and panics with the message.
func (l *Log) Panicf(format string, args ...any) { panicWith(l.entry, fmt.Sprintf(format, args...)) }

// log and logf write an enabled record. They are kept out of line so that
// the level methods stay under the inlining budget: a disabled call then
// costs the caller a load and a compare, with no call at all.
//
//go:noinline
func (l *Log) log(lvl Level, args []any) { l.entry.Log(logrus.Level(lvl), args...) }

//go:noinline
func (l *Log) logf(lvl Level, format string, args []any) {
	l.entry.Logf(logrus.Level(lvl), format, args...)
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
