package logging

import (
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"slices"
	"strings"
	"sync"

	"github.com/sirupsen/logrus"
)

// ErrUnknownLogger is returned (wrapped, naming the logger) by
// [Registry.SetLevel] when no logger of that name exists. Use
// [Registry.Preset] for a logger that is created later.
var ErrUnknownLogger = errors.New("unknown logger")

// LoggerLevel is one row of [Registry.List]. In JSON it reads
// {"logger":"etcd","level":"debug"}.
type LoggerLevel struct {
	Logger string `json:"logger"`
	Level  Level  `json:"level"`
}

// RegistryOption configures [NewRegistry].
type RegistryOption func(*registryConfig)

type registryConfig struct {
	out          io.Writer
	json         bool
	noTimestamps bool
	defaultLevel Level
}

// WithOutput sets where records are written. If not given, os.Stderr is used.
// Writes are serialized, so w need not be safe for concurrent use.
func WithOutput(w io.Writer) RegistryOption {
	return func(c *registryConfig) { c.out = w }
}

// WithJSON writes one JSON object per record instead of logfmt-style text.
func WithJSON() RegistryOption {
	return func(c *registryConfig) { c.json = true }
}

// WithoutTimestamps leaves the time out of records, for deterministic output
// in tests and examples, or when a supervisor adds its own timestamps.
func WithoutTimestamps() RegistryOption {
	return func(c *registryConfig) { c.noTimestamps = true }
}

// WithDefaultLevel sets the level of loggers without an explicit level. If
// not given, InfoLevel is used.
func WithDefaultLevel(l Level) RegistryOption {
	return func(c *registryConfig) { c.defaultLevel = l }
}

// Registry owns named loggers and their levels. The zero value is not
// usable; create one with [NewRegistry]. A Registry is safe for concurrent
// use.
//
// The effective level of logger "a.b.c" is its explicit level, else the
// explicit level of the nearest ancestor ("a.b", then "a"), else the
// registry default. Ancestors need not exist as loggers: a preset for "a"
// applies to "a.b".
type Registry struct {
	// out writes every record of the registry. Its own level is TraceLevel
	// so that only our per-logger levels filter.
	out *logrus.Logger

	mu sync.Mutex // guards loggers, explicit and defaultLevel
	// loggers holds every logger created by Get, by name.
	loggers map[string]*Log
	// explicit holds levels set by SetLevel or Preset, by name, whether or
	// not the logger exists yet.
	explicit     map[string]Level
	defaultLevel Level

	// hooks receive the records of every logger; see AddHook.
	hooks hooks
}

// NewRegistry returns a registry writing text records to os.Stderr at
// InfoLevel, unless options say otherwise.
func NewRegistry(opts ...RegistryOption) *Registry {
	cfg := registryConfig{out: os.Stderr, defaultLevel: InfoLevel}
	for _, opt := range opts {
		opt(&cfg)
	}
	var f logrus.Formatter
	if cfg.json {
		f = &logrus.JSONFormatter{
			DisableTimestamp: cfg.noTimestamps,
			TimestampFormat:  timestampFormat,
		}
	} else {
		f = &logrus.TextFormatter{
			DisableTimestamp: cfg.noTimestamps,
			FullTimestamp:    true,
			TimestampFormat:  timestampFormat,
		}
	}
	return &Registry{
		out: &logrus.Logger{
			Out:       cfg.out,
			Formatter: f,
			Hooks:     make(logrus.LevelHooks),
			Level:     logrus.TraceLevel,
			ExitFunc:  os.Exit,
		},
		loggers:      make(map[string]*Log),
		explicit:     make(map[string]Level),
		defaultLevel: cfg.defaultLevel.clamp(),
	}
}

// timestampFormat is RFC 3339 with microseconds: sortable, unambiguous and
// precise enough to order records of one process.
const timestampFormat = "2006-01-02T15:04:05.000000Z07:00"

// Get returns the logger named name, creating it on first use. It returns
// the same *Log for the same name. Dots in the name make a hierarchy: "a.b"
// follows the level of "a" unless its own level is set.
func (r *Registry) Get(name string) *Log {
	r.mu.Lock()
	defer r.mu.Unlock()
	if l, ok := r.loggers[name]; ok {
		return l
	}
	l := &Log{
		core:  &core{name: name, reg: r},
		entry: logrus.NewEntry(r.out).WithField("logger", name),
	}
	l.core.level.Store(uint32(r.effectiveLocked(name)))
	r.loggers[name] = l
	return l
}

// ForPlugin returns the logger of the named plugin; it is Get.
func (r *Registry) ForPlugin(name string) *Log { return r.Get(name) }

// Lookup returns the logger named name if it exists.
func (r *Registry) Lookup(name string) (*Log, bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	l, ok := r.loggers[name]
	return l, ok
}

// Slog returns an [slog.Logger] writing through the logger named name; it is
// Get(name).Slog().
func (r *Registry) Slog(name string) *slog.Logger { return r.Get(name).Slog() }

// List returns every logger with its effective level, sorted by name.
func (r *Registry) List() []LoggerLevel {
	r.mu.Lock()
	list := make([]LoggerLevel, 0, len(r.loggers))
	for name, l := range r.loggers {
		list = append(list, LoggerLevel{Logger: name, Level: l.Level()})
	}
	r.mu.Unlock()
	slices.SortFunc(list, func(a, b LoggerLevel) int { return strings.Compare(a.Logger, b.Logger) })
	return list
}

// SetLevel sets the explicit level of an existing logger; its descendants
// without a level of their own follow. For a name that does not exist it
// returns an error wrapping [ErrUnknownLogger].
func (r *Registry) SetLevel(name string, l Level) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	if _, ok := r.loggers[name]; !ok {
		return fmt.Errorf("logging: set level of %q: %w", name, ErrUnknownLogger)
	}
	r.explicit[name] = l.clamp()
	r.recomputeLocked()
	return nil
}

// Preset sets the explicit level of the logger named name, which may be
// created later. If it exists, the level applies at once.
func (r *Registry) Preset(name string, l Level) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.explicit[name] = l.clamp()
	r.recomputeLocked()
}

// SetDefaultLevel sets the level of loggers that have no explicit level and
// no ancestor with one.
func (r *Registry) SetDefaultLevel(l Level) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.defaultLevel = l.clamp()
	r.recomputeLocked()
}

// SetGlobalLevel puts every logger, existing or future, at level l: it
// clears all explicit levels and presets and makes l the default. Later
// calls to SetLevel and Preset apply again. The agent uses it for
// INITIAL_LOGLVL.
func (r *Registry) SetGlobalLevel(l Level) {
	r.mu.Lock()
	defer r.mu.Unlock()
	clear(r.explicit)
	r.defaultLevel = l.clamp()
	r.recomputeLocked()
}

// DefaultLevel returns the level of loggers without an explicit level.
func (r *Registry) DefaultLevel() Level {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.defaultLevel
}

// effectiveLocked returns the level of the logger named name: its explicit
// level, the nearest ancestor's, or the default.
func (r *Registry) effectiveLocked(name string) Level {
	for {
		if l, ok := r.explicit[name]; ok {
			return l
		}
		i := strings.LastIndexByte(name, '.')
		if i < 0 {
			return r.defaultLevel
		}
		name = name[:i]
	}
}

// recomputeLocked stores the effective level of every logger. Doing it on
// each change, under the lock, keeps the logging path to a single atomic
// load; level changes are rare and registries hold few loggers.
func (r *Registry) recomputeLocked() {
	for name, l := range r.loggers {
		l.core.level.Store(uint32(r.effectiveLocked(name)))
	}
}
