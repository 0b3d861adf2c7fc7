package main

import (
	"bytes"
	"testing"

	"go.uber.org/goleak"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

func TestRunShowsTemplatesRestartsAttachAndREST(t *testing.T) {
	var out bytes.Buffer
	if err := run(&out); err != nil {
		t.Fatal(err)
	}
	want := `ticker started from its template: alive=true
crasher: exit status 2, restart 1 in 50ms
crasher: exit status 2, restart 2 in 100ms
crasher: exit status 2, no restarts left
attached to other: alive=true, command ""
GET /process/list: crasher alive=false restarts=2
GET /process/list: other alive=true restarts=0
GET /process/list: ticker alive=true restarts=0
other stopped: alive=false
`
	if got := out.String(); got != want {
		t.Errorf("output:\n%s\nwant:\n%s", got, want)
	}
}
