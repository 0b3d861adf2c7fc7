package logging

import (
	"errors"
	"sync"
	"sync/atomic"
	"time"

	"github.com/sirupsen/logrus"
)

// Record is one log record as a [Hook] sees it.
//
// The same Record is passed to every hook fired for one call, so hooks must
// not modify it. A hook may keep it (an asynchronous hook queues it): the
// registry never reuses or changes a Record after the hooks return.
type Record struct {
	// Time is when the record was made.
	Time time.Time
	// Level is the record's level, not the logger's.
	Level Level
	// Logger is the registry name of the logger that wrote the record.
	Logger string
	// Message is the formatted message.
	Message string
	// Fields are the fields of the record without "logger"; nil when there
	// are none. An error added with WithError is under "error".
	Fields Fields
}

// Hook receives records from every logger of a registry, to forward them
// to another system (syslog, Logstash, Fluentd…). Add one with
// [Registry.AddHook].
//
// Fire runs on the goroutine that logs, before the record is written, so it
// must be quick: a hook that does I/O belongs inside [NewAsyncHook], which
// queues records and never makes callers wait. An error returned by Fire is
// reported on standard error and otherwise ignored.
type Hook interface {
	// Levels returns the levels the hook receives. It is called once, when
	// the hook is added.
	Levels() []Level
	// Fire handles one record. It may be called concurrently.
	Fire(r *Record) error
}

// HookFunc adapts a function to [Hook]; it receives records of every level.
type HookFunc func(r *Record) error

// Levels returns every level.
func (f HookFunc) Levels() []Level { return AllLevels() }

// Fire calls f(r).
func (f HookFunc) Fire(r *Record) error { return f(r) }

// AllLevels returns every level, from PanicLevel to TraceLevel.
func AllLevels() []Level {
	return []Level{PanicLevel, FatalLevel, ErrorLevel, WarnLevel, InfoLevel, DebugLevel, TraceLevel}
}

// hookSet is an immutable list of hooks. Adding or removing a hook builds a
// new set and swaps it in, so that firing is one atomic load and no lock.
type hookSet struct {
	entries []hookEntry
}

type hookEntry struct {
	id   uint64
	hook Hook
	// mask has bit 1<<level set for every level the hook receives.
	mask uint8
}

// hooks are the registry's hooks and the bridge that feeds them from
// logrus.
type hooks struct {
	set atomic.Pointer[hookSet]

	mu        sync.Mutex // guards nextID, installed and swapping set
	nextID    uint64
	installed bool // the bridge is attached to the logrus logger
}

// AddHook makes every logger of the registry, existing or created later and
// including derived and slog loggers, pass the records it writes to h, for
// the levels h.Levels returns. Records below a logger's level are not
// written and do not reach hooks.
//
// The returned function removes the hook; it is idempotent. Calls of Fire
// already in progress on other goroutines may still finish after it
// returns, but no call starts afterwards.
func (r *Registry) AddHook(h Hook) (remove func()) {
	if h == nil {
		panic("logging: AddHook with a nil hook")
	}
	var mask uint8
	for _, l := range h.Levels() {
		mask |= 1 << l.clamp()
	}
	r.hooks.mu.Lock()
	defer r.hooks.mu.Unlock()
	// Logrus copies nothing for a logger without hooks, so the bridge is
	// attached only once a hook exists: registries without hooks keep their
	// cost.
	if !r.hooks.installed {
		r.out.AddHook(&hookBridge{hooks: &r.hooks})
		r.hooks.installed = true
	}
	r.hooks.nextID++
	id := r.hooks.nextID
	var entries []hookEntry
	if old := r.hooks.set.Load(); old != nil {
		entries = append(entries, old.entries...)
	}
	entries = append(entries, hookEntry{id: id, hook: h, mask: mask})
	r.hooks.set.Store(&hookSet{entries: entries})

	var once sync.Once
	return func() { once.Do(func() { r.removeHook(id) }) }
}

func (r *Registry) removeHook(id uint64) {
	r.hooks.mu.Lock()
	defer r.hooks.mu.Unlock()
	old := r.hooks.set.Load()
	if old == nil {
		return
	}
	entries := make([]hookEntry, 0, len(old.entries))
	for _, e := range old.entries {
		if e.id != id {
			entries = append(entries, e)
		}
	}
	if len(entries) == 0 {
		r.hooks.set.Store(nil)
		return
	}
	r.hooks.set.Store(&hookSet{entries: entries})
}

// hookBridge is the one logrus hook of a registry; it turns logrus entries
// into Records for our hooks, so no logrus type reaches users.
type hookBridge struct {
	hooks *hooks
}

func (b *hookBridge) Levels() []logrus.Level { return logrus.AllLevels }

func (b *hookBridge) Fire(e *logrus.Entry) error {
	set := b.hooks.set.Load()
	if set == nil {
		return nil
	}
	bit := uint8(1) << Level(e.Level).clamp()
	var rec *Record
	var errs []error
	for _, h := range set.entries {
		if h.mask&bit == 0 {
			continue
		}
		if rec == nil {
			rec = newRecord(e)
		}
		if err := h.hook.Fire(rec); err != nil {
			errs = append(errs, err)
		}
	}
	if len(errs) > 0 {
		return errors.Join(errs...)
	}
	return nil
}

// newRecord copies what hooks need out of e; e.Data belongs to logrus and
// the record may outlive the call.
func newRecord(e *logrus.Entry) *Record {
	rec := &Record{Time: e.Time, Level: Level(e.Level), Message: e.Message}
	for k, v := range e.Data {
		if k == "logger" {
			rec.Logger, _ = v.(string)
			continue
		}
		if rec.Fields == nil {
			rec.Fields = make(Fields, len(e.Data))
		}
		rec.Fields[k] = v
	}
	return rec
}
