package status_test

import (
	"testing"

	"github.com/plinth-go/plinth/infra/status"
)

func TestStateStringNamesEveryState(t *testing.T) {
	for s, want := range map[status.State]string{
		status.StateInit: "INIT", status.StateOK: "OK", status.StateError: "ERROR",
		3: "State(3)", -1: "State(-1)",
	} {
		if got := s.String(); got != want {
			t.Errorf("State(%d).String() = %q, want %q", int32(s), got, want)
		}
	}
}

// The numbers are published in the status JSON ("state":2), so they are part
// of the compatibility contract.
func TestStateValuesArePublishedNumbers(t *testing.T) {
	for _, tc := range []struct {
		s    status.State
		want int32
	}{{status.StateInit, 0}, {status.StateOK, 1}, {status.StateError, 2}} {
		if int32(tc.s) != tc.want {
			t.Errorf("%v = %d, want %d", tc.s, int32(tc.s), tc.want)
		}
	}
}
