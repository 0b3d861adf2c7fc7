package logging

import (
	"context"
	"errors"
	"fmt"
	"io"
	"sync"
	"sync/atomic"
	"time"

	"github.com/plinth-go/plinth/internal/backoff"
)

// Defaults of [NewAsyncHook].
const (
	// DefaultQueueSize bounds the records waiting for a slow hook. At a few
	// hundred bytes each, 1024 records hold a burst of errors without
	// costing much memory.
	DefaultQueueSize = 1024
	// DefaultMaxAttempts is how often one record is tried before it is
	// counted as failed and the next one is tried.
	DefaultMaxAttempts = 3
	// DefaultMinBackoff and DefaultMaxBackoff bound the wait between
	// attempts while the hook fails; the wait doubles from one to the other
	// and is reset by a success.
	DefaultMinBackoff = 100 * time.Millisecond
	DefaultMaxBackoff = 10 * time.Second
)

// AsyncHook runs a [Hook] on its own goroutine, behind a bounded queue, so
// that logging never waits for the hook's network or disk. Build it with
// [NewAsyncHook], add it with [Registry.AddHook], and Close it when done.
//
// # Delivery
//
// Records reach the wrapped hook in the order they were queued, one at a
// time. When the queue is full, new records are dropped and counted
// (Stats.Dropped); nothing waits. When the wrapped hook fails, the record
// is retried with an exponential backoff (the hook is expected to reconnect
// on its next Fire); after the last attempt it is counted as failed
// (Stats.Failed) and the next record is tried. The backoff carries over
// from record to record until one succeeds, so an endpoint that is down
// costs one attempt per backoff period, not a flood, and a record reaches
// an endpoint that comes back within the current backoff: at most the
// length of the outage plus the first backoff, and never more than the
// longest backoff.
//
// # Counting
//
// Every record given to Fire is counted once: Sent, Dropped or Failed, or
// Queued until it is one of these. So Sent + Dropped + Failed + Queued is
// the number of records fired, and after Close, Queued is zero. Sent means
// the wrapped hook returned nil: what that guarantees (a write into a socket
// buffer, an acknowledgement) is the wrapped hook's to document.
//
// An AsyncHook is safe for concurrent use.
type AsyncHook struct {
	hook        Hook
	levels      []Level
	maxAttempts int
	minBackoff  time.Duration
	maxBackoff  time.Duration
	onError     func(error)

	queue chan *Record
	// stop is closed by Close: drain the queue, then exit.
	stop chan struct{}
	// abort is closed when Close's deadline passes: exit now.
	abort chan struct{}
	// done is closed when the worker goroutine has returned.
	done chan struct{}

	closing   atomic.Bool
	closeOnce sync.Once
	closeErr  error

	// accepted counts the records Fire took while open; Queued is accepted
	// minus those of them counted as sent, failed or dropped since.
	accepted, sent, failed atomic.Uint64
	// dropped counts every record given up; droppedAccepted is its part
	// that Fire had accepted (the others arrived after Close began).
	dropped, droppedAccepted atomic.Uint64
}

// AsyncStats are the counters of an [AsyncHook].
type AsyncStats struct {
	// Sent counts records the wrapped hook accepted.
	Sent uint64 `json:"sent"`
	// Dropped counts records given up without being tried to the end: the
	// queue was full, the hook was closed, or Close's deadline passed while
	// they waited or were retried.
	Dropped uint64 `json:"dropped"`
	// Failed counts records the hook returned an error for on every
	// attempt.
	Failed uint64 `json:"failed"`
	// Queued is the number of records accepted and not yet counted as sent,
	// dropped or failed: those waiting and the one being tried.
	Queued int `json:"queued"`
}

// AsyncOption configures [NewAsyncHook].
type AsyncOption func(*AsyncHook)

// WithQueueSize sets how many records may wait for the hook. If n <= 0,
// DefaultQueueSize is used.
func WithQueueSize(n int) AsyncOption {
	return func(a *AsyncHook) {
		if n <= 0 {
			n = DefaultQueueSize
		}
		a.queue = make(chan *Record, n)
	}
}

// WithMaxAttempts sets how often a record is tried before it is counted as
// failed. If n <= 0, DefaultMaxAttempts is used.
func WithMaxAttempts(n int) AsyncOption {
	return func(a *AsyncHook) {
		if n <= 0 {
			n = DefaultMaxAttempts
		}
		a.maxAttempts = n
	}
}

// WithBackoff sets the first and the longest wait between attempts. Zero or
// negative values select DefaultMinBackoff and DefaultMaxBackoff; max is
// raised to min if lower.
func WithBackoff(minWait, maxWait time.Duration) AsyncOption {
	return func(a *AsyncHook) {
		if minWait <= 0 {
			minWait = DefaultMinBackoff
		}
		if maxWait <= 0 {
			maxWait = DefaultMaxBackoff
		}
		a.minBackoff, a.maxBackoff = minWait, max(minWait, maxWait)
	}
}

// WithLevels replaces the levels of the wrapped hook, for example with those
// chosen in a config file.
func WithLevels(levels ...Level) AsyncOption {
	return func(a *AsyncHook) { a.levels = append([]Level(nil), levels...) }
}

// WithErrorHandler sets a function called, on the hook's goroutine, with
// the error of the first failed attempt after a success (or after the
// start), so an outage is reported once rather than once per record. The
// function must not block. If it logs, it should log below the levels the
// hook receives, or the report itself is queued for the failing hook.
func WithErrorHandler(f func(error)) AsyncOption {
	return func(a *AsyncHook) { a.onError = f }
}

// NewAsyncHook wraps h and starts the goroutine that feeds it; [AsyncHook.Close]
// stops it. h.Fire is only ever called from that goroutine.
func NewAsyncHook(h Hook, opts ...AsyncOption) *AsyncHook {
	if h == nil {
		panic("logging: NewAsyncHook with a nil hook")
	}
	a := &AsyncHook{
		hook:        h,
		maxAttempts: DefaultMaxAttempts,
		minBackoff:  DefaultMinBackoff,
		maxBackoff:  DefaultMaxBackoff,
		stop:        make(chan struct{}),
		abort:       make(chan struct{}),
		done:        make(chan struct{}),
	}
	for _, opt := range opts {
		opt(a)
	}
	if a.queue == nil {
		a.queue = make(chan *Record, DefaultQueueSize)
	}
	if a.levels == nil {
		a.levels = h.Levels()
	}
	go a.run()
	return a
}

// Levels returns the levels given with WithLevels, else those of the
// wrapped hook.
func (a *AsyncHook) Levels() []Level { return append([]Level(nil), a.levels...) }

// Fire queues r and returns nil at once. When the queue is full or the hook
// is closed, r is dropped and counted.
func (a *AsyncHook) Fire(r *Record) error {
	if a.closing.Load() {
		a.dropped.Add(1)
		return nil
	}
	// Counted before it enters the queue, so that the worker never counts
	// a record out before it was counted in.
	a.accepted.Add(1)
	select {
	case a.queue <- r:
	default:
		a.dropAccepted()
		return nil
	}
	// A Fire that passed the check above while Close ran may queue r after
	// Close emptied the queue for the last time; nobody would then count
	// it. Close marks closing before the worker stops, and empties the
	// queue after, so a Fire that sees the worker stopped empties it
	// itself; one that does not see it stopped queued r before Close's
	// last look.
	if a.closing.Load() {
		select {
		case <-a.done:
			a.discardQueued()
		default:
		}
	}
	return nil
}

// Stats returns the current counters. While records flow, their sum
// may lag the records fired by those being counted during the call.
func (a *AsyncHook) Stats() AsyncStats {
	// Counters that records leave by are read before the one they enter
	// by, so that Queued is never negative.
	sent, failed, droppedAccepted := a.sent.Load(), a.failed.Load(), a.droppedAccepted.Load()
	dropped := a.dropped.Load()
	return AsyncStats{
		Sent:    sent,
		Dropped: dropped,
		Failed:  failed,
		Queued:  int(a.accepted.Load() - sent - failed - droppedAccepted),
	}
}

// Close stops accepting records, gives the queued ones to the hook until ctx
// ends, stops the goroutine and waits for it, and then closes the wrapped
// hook if it implements [io.Closer]. When ctx ends, the attempt in progress
// is let finish and no other starts: records still queued, and one waiting
// to be retried, are counted as dropped and Close returns an error
// wrapping ctx.Err(). So Close returns at most one attempt of the wrapped
// hook after ctx ends; hooks that do I/O should bound their attempts with
// timeouts. Close is idempotent; later calls return the first result.
func (a *AsyncHook) Close(ctx context.Context) error {
	a.closeOnce.Do(func() {
		a.closing.Store(true)
		close(a.stop)
		var errs []error
		select {
		case <-a.done:
		case <-ctx.Done():
			close(a.abort)
			<-a.done
		}
		// The worker has returned; whatever is left (including records
		// queued by a Fire racing with Close) is lost.
		if n := a.discardQueued(); n > 0 {
			errs = append(errs, fmt.Errorf("logging: async hook closed with %d records unsent: %w", n, context.Cause(ctx)))
		}
		if c, ok := a.hook.(io.Closer); ok {
			if err := c.Close(); err != nil {
				errs = append(errs, fmt.Errorf("logging: close hook: %w", err))
			}
		}
		a.closeErr = errors.Join(errs...)
	})
	return a.closeErr
}

func (a *AsyncHook) discardQueued() int {
	n := 0
	for {
		select {
		case <-a.queue:
			n++
			a.dropAccepted()
		default:
			return n
		}
	}
}

// dropAccepted counts an accepted record as dropped.
func (a *AsyncHook) dropAccepted() {
	a.droppedAccepted.Add(1)
	a.dropped.Add(1)
}

// run feeds the hook until Close: after stop it keeps going until the queue
// is empty, after abort it returns at once.
func (a *AsyncHook) run() {
	defer close(a.done)
	bo := backoff.Backoff{Min: a.minBackoff, Max: a.maxBackoff} // reset while the hook works
	healthy := true
	for {
		// A select picks at random among ready cases: without this check
		// a worker aborted with records queued would go on sending some,
		// each up to the hook's own timeout, and hold Close past its
		// deadline.
		select {
		case <-a.abort:
			return
		default:
		}
		var r *Record
		select {
		case <-a.abort:
			return
		case r = <-a.queue:
		case <-a.stop:
			select {
			case r = <-a.queue:
			default:
				return
			}
		}
		for attempt := 1; ; attempt++ {
			err := a.hook.Fire(r)
			if err == nil {
				a.sent.Add(1)
				healthy = true
				bo.Reset()
				break
			}
			if healthy {
				healthy = false
				if a.onError != nil {
					a.onError(err)
				}
			}
			if !bo.Sleep(a.abort) {
				a.dropAccepted()
				return
			}
			if attempt >= a.maxAttempts {
				a.failed.Add(1)
				break
			}
		}
	}
}
