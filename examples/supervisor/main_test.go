package main

import (
	"bytes"
	"testing"

	"go.uber.org/goleak"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

func TestRunRestartsVppRunsItsHookAndStopsInReverseOrder(t *testing.T) {
	var out bytes.Buffer
	if err := run(&out); err != nil {
		t.Fatal(err)
	}
	want := `started in order: vpp, agent
vpp terminated (signal: killed), restarting: true
vpp started again: new pid true, restarts 1
GET /supervisor/programs: vpp running restarts=1
GET /supervisor/programs: agent running restarts=0
agent stopped (signal: terminated)
vpp stopped (signal: terminated)
supervisor.log: agent up
supervisor-hook.log: vpp terminated (signal SIGKILL)
`
	if got := out.String(); got != want {
		t.Errorf("output:\n%s\nwant:\n%s", got, want)
	}
}
