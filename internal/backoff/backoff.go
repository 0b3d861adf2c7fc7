package backoff

import (
	"math"
	"math/rand/v2"
	"time"
)

// Backoff is a capped exponential backoff. Set Min and Max (and Jitter if
// wanted) before the first call to Next; the zero value waits zero every
// time.
type Backoff struct {
	// Min is the first wait, and the wait after Reset. If it is zero or
	// negative, every wait is zero.
	Min time.Duration
	// Max caps the waits after the first one: a Max below Min makes every
	// wait after the first equal to Max. If it is zero or negative, Min is
	// used, and every wait is Min.
	Max time.Duration
	// Jitter, between 0 and 1, shortens each wait by a random amount of up
	// to Jitter times the wait, so that many processes that failed together
	// do not retry in step. 0 keeps the schedule exact; values outside
	// [0, 1] are clamped.
	Jitter float64

	cur time.Duration // the last wait before jitter; 0 before the first
}

// Next returns the next wait: Min first, then twice the previous one, up
// to Max, each shortened by the jitter.
func (b *Backoff) Next() time.Duration {
	limit := b.Max
	if limit <= 0 {
		limit = b.Min
	}
	switch {
	case b.cur <= 0:
		b.cur = max(b.Min, 0)
	case b.cur > limit/2: // also keeps 2*cur from overflowing
		b.cur = limit
	default:
		b.cur *= 2
	}
	return b.cur - b.jitter()
}

// jitter returns the random amount to take off the current wait.
func (b *Backoff) jitter() time.Duration {
	j := min(max(b.Jitter, 0), 1)
	if j == 0 || b.cur <= 0 {
		return 0
	}
	n := int64(b.cur)
	if j < 1 {
		n = min(int64(float64(n)*j), n)
	}
	// Uniform in [0, j*cur], both ends included (but for the largest cur).
	if n < math.MaxInt64 {
		n++
	}
	return time.Duration(rand.Int64N(n))
}

// Reset makes the next wait Min again.
func (b *Backoff) Reset() { b.cur = 0 }

// Sleep waits for the next wait (Next) or until done is closed, whichever
// comes first; it reports whether the whole wait passed. Pass ctx.Done() to
// stop when a context ends.
func (b *Backoff) Sleep(done <-chan struct{}) bool { return Sleep(done, b.Next()) }

// Sleep waits for d or until done is closed, whichever comes first; it
// reports whether d passed. When both happen together it may report
// either. A nil done never closes.
func Sleep(done <-chan struct{}, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-done:
		return false
	}
}
