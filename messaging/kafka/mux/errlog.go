package mux

import (
	"sync"
	"time"

	"github.com/plinth-go/plinth/internal/backoff"
	"github.com/plinth-go/plinth/logging"
)

// Intervals of errorLog. A partition read by sarama while the brokers are
// down fails about every 2 s (its retry backoff) and a consumer group
// member several times a second: without a limit a long outage writes
// thousands of lines that say the same thing.
const (
	errorLogMin = time.Second
	errorLogMax = time.Minute
)

// errorLog logs the errors of one source (a partition subscription, the
// consumer group member) at warning level without flooding the log: the
// first error at once, then at most one line per interval, which doubles
// from errorLogMin up to errorLogMax while errors keep coming and starts
// again from errorLogMin after errorLogMax without any. Each line says how
// many errors were not logged since the previous one, and flush logs the
// count of the last ones, so every error is counted in the log.
type errorLog struct {
	log  logging.Logger
	what string // prefix of each line, such as "subscription x"
	now  func() time.Time

	mu         sync.Mutex // guards the fields below
	intervals  backoff.Backoff
	interval   time.Duration
	lastLine   time.Time
	lastErr    time.Time
	suppressed int // errors since lastLine, not logged
}

func newErrorLog(log logging.Logger, what string) *errorLog {
	return &errorLog{log: log, what: what, now: time.Now, interval: errorLogMin,
		intervals: backoff.Backoff{Min: errorLogMin, Max: errorLogMax}}
}

// add counts err and logs it unless a line was written less than an
// interval ago.
func (l *errorLog) add(err error) {
	l.mu.Lock()
	now := l.now()
	// Measured against errorLogMax, not the interval: sarama retries a
	// partition every 2 s, which a short interval would take for a lull.
	quiet := l.lastErr.IsZero() || now.Sub(l.lastErr) >= errorLogMax
	l.lastErr = now
	if !quiet && now.Sub(l.lastLine) < l.interval {
		l.suppressed++
		l.mu.Unlock()
		return
	}
	if quiet {
		l.intervals.Reset()
	}
	l.interval = l.intervals.Next()
	suppressed := l.suppressed
	l.suppressed, l.lastLine = 0, now
	next := l.interval
	l.mu.Unlock()
	if suppressed > 0 {
		l.log.Warnf("%s: %v (and %d similar errors since the last report; next report in %s at the earliest)", l.what, err, suppressed, next)
	} else {
		l.log.Warnf("%s: %v", l.what, err)
	}
}

// flush logs how many errors were not logged since the last line.
func (l *errorLog) flush() {
	l.mu.Lock()
	suppressed := l.suppressed
	l.suppressed = 0
	l.mu.Unlock()
	if suppressed > 0 {
		l.log.Warnf("%s: %d more errors since the last report", l.what, suppressed)
	}
}
