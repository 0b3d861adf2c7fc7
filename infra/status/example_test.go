package status_test

import (
	"errors"
	"fmt"

	"github.com/plinth-go/plinth/infra/status"
)

// server is a plugin that reports whether it serves. Its field of type
// status.Writer is filled by the agent with the status check, if any.
type server struct {
	StatusCheck status.Writer
}

func (s *server) serving(err error) {
	if s.StatusCheck == nil {
		return // an agent without a status check
	}
	state := status.StateOK
	if err != nil {
		state = status.StateError
	}
	_ = s.StatusCheck.ReportStateChange("http", state, err)
}

// printer stands in for the status check: it prints every report.
type printer struct{}

func (printer) Register(name string, probe status.Probe) error { return nil }

func (printer) ReportStateChange(name string, state status.State, err error) error {
	fmt.Println(name, state, err)
	return nil
}

// A plugin reports its state through the Writer the agent gave it.
func ExampleWriter() {
	s := &server{StatusCheck: printer{}}
	s.serving(nil)
	s.serving(errors.New("listener closed"))
	// Output:
	// http OK <nil>
	// http ERROR listener closed
}
