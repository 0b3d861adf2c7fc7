package measure

import (
	"encoding/json"
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
// modify it. Its JSON form is described in [Stat.MarshalJSON].
type Trace struct {
	// Name is the tracer's name.
	Name string `json:"name"`
	// Entries are the kept individual timings, oldest first.
	Entries []Entry `json:"entries"`
	// Stats aggregate every recorded timing per entity, sorted by entity.
	Stats []Stat `json:"stats"`
	// Overall is the sum of all recorded durations.
	Overall time.Duration `json:"overall_ns"`
	// Dropped counts the entries recorded but no longer kept because of the
	// entry cap; they still count in Stats and Overall.
	Dropped int `json:"dropped"`
}

// Entry is one recorded timing. Its JSON form is described in
// [Stat.MarshalJSON]; Start is RFC 3339 with nanoseconds.
type Entry struct {
	// Index numbers entries from 0 in recording order, so gaps left by
	// dropped entries show.
	Index    int           `json:"index"`
	Entity   string        `json:"entity"`
	Start    time.Time     `json:"start"`
	Duration time.Duration `json:"duration_ns"`
}

// Stat aggregates the timings of one entity.
type Stat struct {
	Entity  string        `json:"entity"`
	Count   int           `json:"count"`
	Total   time.Duration `json:"total_ns"`
	Min     time.Duration `json:"min_ns"`
	Max     time.Duration `json:"max_ns"`
	Average time.Duration `json:"average_ns"`
}

// MarshalJSON encodes s with snake_case keys and every duration twice: as
// an integer number of nanoseconds under "<name>_ns", exact and easy to
// compute with, and as text such as "1.5ms" under "<name>", for people:
//
//	{"entity":"etcd init","count":2,"total_ns":3000000,"total":"3ms",
//	 "min_ns":1000000,"min":"1ms","max_ns":2000000,"max":"2ms",
//	 "average_ns":1500000,"average":"1.5ms"}
//
// The text is [time.Duration.String], which [time.ParseDuration] reads back.
// [Trace] and [Entry] encode their durations the same way ("overall_ns" and
// "overall", "duration_ns" and "duration").
func (s Stat) MarshalJSON() ([]byte, error) {
	return json.Marshal(struct {
		Entity    string `json:"entity"`
		Count     int    `json:"count"`
		TotalNS   int64  `json:"total_ns"`
		Total     string `json:"total"`
		MinNS     int64  `json:"min_ns"`
		Min       string `json:"min"`
		MaxNS     int64  `json:"max_ns"`
		Max       string `json:"max"`
		AverageNS int64  `json:"average_ns"`
		Average   string `json:"average"`
	}{
		s.Entity, s.Count,
		int64(s.Total), s.Total.String(),
		int64(s.Min), s.Min.String(),
		int64(s.Max), s.Max.String(),
		int64(s.Average), s.Average.String(),
	})
}

// UnmarshalJSON decodes the form MarshalJSON writes. The "_ns" integers are
// authoritative; the text forms are ignored.
func (s *Stat) UnmarshalJSON(data []byte) error {
	type plain Stat // the same fields and tags, without these methods
	return json.Unmarshal(data, (*plain)(s))
}

// MarshalJSON encodes e as described in [Stat.MarshalJSON].
func (e Entry) MarshalJSON() ([]byte, error) {
	type plain Entry
	return json.Marshal(struct {
		plain
		Duration string `json:"duration"`
	}{plain(e), e.Duration.String()})
}

// UnmarshalJSON decodes the form MarshalJSON writes, from "duration_ns".
func (e *Entry) UnmarshalJSON(data []byte) error {
	type plain Entry
	return json.Unmarshal(data, (*plain)(e))
}

// MarshalJSON encodes t as described in [Stat.MarshalJSON].
func (t Trace) MarshalJSON() ([]byte, error) {
	type plain Trace
	return json.Marshal(struct {
		plain
		Overall string `json:"overall"`
	}{plain(t), t.Overall.String()})
}

// UnmarshalJSON decodes the form MarshalJSON writes, from "overall_ns".
func (t *Trace) UnmarshalJSON(data []byte) error {
	type plain Trace
	return json.Unmarshal(data, (*plain)(t))
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
