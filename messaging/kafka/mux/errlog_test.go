package mux

import (
	"bytes"
	"errors"
	"fmt"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/plinth-go/plinth/logging"
)

// An outage makes sarama report an error every few hundred milliseconds for
// as long as it lasts: the log gets a few lines that count them all.
func TestErrorLogBacksOffAndCountsEveryError(t *testing.T) {
	var out bytes.Buffer
	l := newErrorLog(logging.NewRegistry(logging.WithOutput(&out)).Get("kafka"), "subscription s")
	start := time.Unix(1000, 0)
	now := start
	l.now = func() time.Time { return now }
	lines := func() []string { return strings.Split(strings.TrimSpace(out.String()), "\n") }

	// 100 errors, 100 ms apart: lines at 0 s, 1 s, 3 s and 7 s (the
	// interval doubles from 1 s), then the count of the rest.
	for i := range 100 {
		now = start.Add(time.Duration(i) * 100 * time.Millisecond)
		l.add(fmt.Errorf("fetch %d: %w", i, errors.New("broker down")))
	}
	if got := len(lines()); got != 4 {
		t.Fatalf("%d lines for 100 errors in 10 s, want 4:\n%s", got, out.String())
	}
	l.flush()
	all := lines()
	if len(all) != 5 {
		t.Fatalf("%d lines after flush, want 5:\n%s", len(all), out.String())
	}
	counted := 0
	for _, line := range all {
		// "<error> (and N similar errors ...)" stands for N+1 errors,
		// "N more errors" for N.
		counted++
		if m := regexp.MustCompile(`(\d+) (similar|more) errors`).FindStringSubmatch(line); m != nil {
			n, _ := strconv.Atoi(m[1])
			counted += n
			if m[2] == "more" {
				counted--
			}
		}
	}
	if counted != 100 {
		t.Errorf("the lines count %d errors, want 100:\n%s", counted, out.String())
	}

	// After a minute without errors, the next one is logged at once and
	// the interval starts again from errorLogMin.
	out.Reset()
	now = now.Add(errorLogMax)
	l.add(errors.New("again"))
	now = now.Add(errorLogMin)
	l.add(errors.New("and again"))
	if got := lines(); len(got) != 2 || !strings.Contains(got[0], "again") {
		t.Errorf("after a quiet minute, two errors 1 s apart logged %q, want both", got)
	}
}

// sarama retries a partition about every 2 s while the brokers are down:
// errors that far apart are no lull, and the interval keeps growing.
func TestErrorLogBacksOffOnErrorsSecondsApart(t *testing.T) {
	var out bytes.Buffer
	l := newErrorLog(logging.NewRegistry(logging.WithOutput(&out)).Get("kafka"), "subscription s")
	start := time.Unix(1000, 0)
	for i := range 40 { // 100 s of errors, 2.5 s apart
		l.now = func() time.Time { return start.Add(time.Duration(i) * 2500 * time.Millisecond) }
		l.add(errors.New("broker down"))
	}
	// At 0, 2.5, 5, 10, 20, 37.5 and 70 s.
	if got := strings.Count(out.String(), "\n"); got != 7 {
		t.Errorf("%d lines for 40 errors over 100 s, want 7:\n%s", got, out.String())
	}
}
