//go:build linux

package processmanager_test

import (
	"errors"
	"strconv"
	"sync"
	"testing"

	pm "github.com/plinth-go/plinth/exec/processmanager"
)

// flakyWriter refuses every write until it has refused failFor bytes, then
// accepts every write: a log shipper whose connection is down for a while.
type flakyWriter struct {
	failFor int

	mu       sync.Mutex // guards refused and accepted
	refused  int
	accepted int
}

var errWriterDown = errors.New("writer down")

func (w *flakyWriter) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.refused < w.failFor {
		w.refused += len(p)
		return 0, errWriterDown
	}
	w.accepted += len(p)
	return len(p), nil
}

func (w *flakyWriter) counts() (refused, accepted int) {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.refused, w.accepted
}

func TestFailingWriterNeitherBlocksTheProcessNorItsRestartsAndDropsAreCounted(t *testing.T) {
	// 2 MiB per run, 32 times what a pipe holds: a child whose output
	// nobody reads blocks long before the end.
	const size = 2 << 20
	// The writer fails for the first 1.5 MiB of the first run, then
	// recovers while that run still writes.
	w := &flakyWriter{failFor: 3 << 19}
	m := newManager(t)
	events := make(chan pm.Notification, 64)
	p := newHelper(t, m, "chatty", []string{"flood", strconv.Itoa(size)}, pm.Writer(w, nil), pm.Notify(events))
	for run := 1; run <= 2; run++ {
		mustStart(t, p)
		if n := nextTerminated(t, events); n.Exit == nil || !n.Exit.Success() {
			t.Fatalf("run %d ended with %v, want exit status 0", run, n.Exit)
		}
		// The process wrote everything; the manager may still be reading
		// the last of it.
		waitFor(t, "the output of run "+strconv.Itoa(run)+" to be read", func() bool {
			refused, accepted := w.counts()
			return refused+accepted == run*size
		})
	}
	refused, accepted := w.counts()
	if refused < w.failFor || refused >= size {
		t.Errorf("the writer refused %d bytes, want from %d (its failFor) to less than the %d of the first run", refused, w.failFor, size)
	}
	// What the writer refused is dropped and counted, nothing more: the
	// rest of the first run and all of the second reached it.
	if got := p.Info().OutputBytesDropped; got != uint64(refused) {
		t.Errorf("Info().OutputBytesDropped = %d, want %d, the bytes the writer refused", got, refused)
	}
	if want := 2*size - refused; accepted != want {
		t.Errorf("the writer accepted %d bytes, want %d: everything it did not refuse", accepted, want)
	}
}
