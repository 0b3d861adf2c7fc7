package measure

import (
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/plinth-go/plinth/logging"
)

// DefaultMaxEntries is the number of individual entries a tracer keeps when
// [WithMaxEntries] is not given: enough for every plugin start of a large
// agent many times over, small enough (under 1 MB) to keep around.
const DefaultMaxEntries = 10000

// Option configures [NewTracer].
type Option func(*Tracer)

// WithMaxEntries caps the number of individual entries kept. When the cap is
// reached the oldest entry is dropped for each new one. If n <= 0, no
// individual entries are kept and only the aggregates are recorded.
func WithMaxEntries(n int) Option {
	return func(t *Tracer) { t.max = max(n, 0) }
}

// Tracer records durations of named operations (entities). Create one with
// [NewTracer]; a nil *Tracer does nothing.
type Tracer struct {
	name string
	log  logging.Logger // nil means no logging
	max  int
	now  func() time.Time // time.Now, replaced in tests

	mu sync.Mutex // guards everything below
	// ring holds the newest entries; once len(ring) == max, head is the
	// index of the oldest, which the next entry overwrites.
	ring    []Entry
	head    int
	index   int // Index of the next entry
	stats   map[string]*Stat
	overall time.Duration
	dropped int
}

// Trace is a snapshot of a tracer. It is a copy: the caller may keep and
// modify it.
type Trace struct {
	// Name is the tracer's name.
	Name string
	// Entries are the kept individual timings, oldest first.
	Entries []Entry
	// Stats aggregate every recorded timing per entity, sorted by entity.
	Stats []Stat
	// Overall is the sum of all recorded durations.
	Overall time.Duration
	// Dropped counts the entries recorded but no longer kept because of the
	// entry cap; they still count in Stats and Overall.
	Dropped int
}

// Entry is one recorded timing.
type Entry struct {
	// Index numbers entries from 0 in recording order, so gaps left by
	// dropped entries show.
	Index    int
	Entity   string
	Start    time.Time
	Duration time.Duration
}

// Stat aggregates the timings of one entity.
type Stat struct {
	Entity                   string
	Count                    int
	Total, Min, Max, Average time.Duration
}

// NewTracer returns a tracer named name. If log is not nil, every
// [Tracer.LogTime] is also logged there at debug level.
func NewTracer(name string, log logging.Logger, opts ...Option) *Tracer {
	t := &Tracer{name: name, log: log, max: DefaultMaxEntries, now: time.Now}
	for _, opt := range opts {
		opt(t)
	}
	t.stats = make(map[string]*Stat)
	return t
}

// LogTime records the time elapsed since start as a timing of entity.
func (t *Tracer) LogTime(entity string, start time.Time) {
	if t == nil {
		return
	}
	d := t.now().Sub(start)

	t.mu.Lock()
	e := Entry{Index: t.index, Entity: entity, Start: start, Duration: d}
	t.index++
	switch {
	case len(t.ring) < t.max:
		t.ring = append(t.ring, e)
	case t.max > 0:
		t.ring[t.head] = e
		t.head = (t.head + 1) % t.max
		t.dropped++
	default:
		t.dropped++
	}
	s, ok := t.stats[entity]
	if !ok {
		s = &Stat{Entity: entity, Min: d, Max: d}
		t.stats[entity] = s
	}
	s.Count++
	s.Total += d
	s.Min = min(s.Min, d)
	s.Max = max(s.Max, d)
	t.overall += d
	t.mu.Unlock()

	// Logged outside the lock: the logger may be slow, and tracing must not
	// serialize callers on it.
	if t.log != nil && t.log.Enabled(logging.DebugLevel) {
		t.log.WithField("tracer", t.name).Debugf("%s took %v", entity, d)
	}
}

// Get returns a snapshot of everything recorded since the tracer was created
// or last cleared. On a nil tracer it returns an empty Trace.
func (t *Tracer) Get() *Trace {
	if t == nil {
		return &Trace{}
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	tr := &Trace{
		Name:    t.name,
		Entries: make([]Entry, 0, len(t.ring)),
		Stats:   make([]Stat, 0, len(t.stats)),
		Overall: t.overall,
		Dropped: t.dropped,
	}
	tr.Entries = append(tr.Entries, t.ring[t.head:]...)
	tr.Entries = append(tr.Entries, t.ring[:t.head]...)
	for _, s := range t.stats {
		st := *s
		st.Average = st.Total / time.Duration(st.Count)
		tr.Stats = append(tr.Stats, st)
	}
	slices.SortFunc(tr.Stats, func(a, b Stat) int { return strings.Compare(a.Entity, b.Entity) })
	return tr
}

// Clear forgets everything recorded; entry indexes start again at 0.
func (t *Tracer) Clear() {
	if t == nil {
		return
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	t.ring = nil
	t.head = 0
	t.index = 0
	clear(t.stats)
	t.overall = 0
	t.dropped = 0
}
