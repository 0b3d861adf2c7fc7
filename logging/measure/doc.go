// Package measure records how long named operations take, keeping the
// individual timings and exact per-operation aggregates.
//
// # Usage
//
// The agent times each plugin's start with a [Tracer]:
//
//	t := measure.NewTracer("agent-start", log)
//	start := time.Now()
//	err := p.Init()
//	t.LogTime(p.String()+" init", start)
//	...
//	trace := t.Get() // entries, per-entity stats, overall duration
//
// Each LogTime also logs "<entity> took <duration>" at debug level with the
// field tracer=<name>, when a logger is given and debug is enabled.
//
// # JSON
//
// [Trace], [Entry] and [Stat] encode to JSON with snake_case keys, and each
// duration both as integer nanoseconds ("total_ns") and as text ("total":
// "1.5ms"); see [Stat.MarshalJSON].
//
// # Memory
//
// A tracer keeps at most [WithMaxEntries] individual entries (10000 unless
// set). When full it keeps the newest ones, dropping the oldest and counting
// them in [Trace].Dropped; the aggregates in [Trace].Stats and
// [Trace].Overall always cover every recorded duration since the last
// Clear, so a long-running agent can trace without bound on memory.
//
// # Concurrency
//
// A Tracer is safe for concurrent use. Its methods are also safe on a nil
// *Tracer, which records nothing, so optional tracing needs no checks.
package measure
