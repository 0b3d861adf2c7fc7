//go:build linux

package supervisor_test

import (
	"errors"
	"fmt"
	"syscall"

	"github.com/plinth-go/plinth/exec/processmanager"
	"github.com/plinth-go/plinth/exec/supervisor"
	"github.com/plinth-go/plinth/infra/config"
)

func ExampleParseConfig() {
	c, err := supervisor.ParseConfig("supervisor.conf", []byte(`
programs:
  - executable-path: sleep
    executable-args: ["1000"]
    cpu-affinity-mask: "not hex"
  - name: db
    priority: -1
    executable-path: sleep
    executable-args: ["1000"]
`))
	if err != nil {
		fmt.Println(err)
		return
	}
	for _, p := range c.Programs {
		fmt.Println(p.Name, p.Priority)
	}
	// An invalid affinity is only a warning: the program runs unbound.
	for _, w := range c.Warnings() {
		fmt.Println(w)
	}
	// Output:
	// sleep 0
	// db -1
	// supervisor.conf:5: key "programs[0].cpu-affinity-mask": cpu mask "not hex": 'x' is not hexadecimal: affinity ignored
}

func ExampleParseConfig_errors() {
	_, err := supervisor.ParseConfig("supervisor.conf", []byte("programs:\n  - executable-path: /opt/missing\n"))
	var ce *config.Error
	if errors.As(err, &ce) {
		fmt.Println(ce.File, ce.Line, ce.Key)
	}
	// Output: supervisor.conf 2 programs[0].executable-path
}

func ExampleEvent_Env() {
	ev := supervisor.Event{
		Program:    "vpp",
		Type:       supervisor.EventTypeTerminated,
		State:      "terminated",
		Pid:        4242,
		Executable: "/usr/bin/vpp",
		Exit:       &processmanager.ExitStatus{Pid: 4242, Signal: syscall.SIGSEGV},
		Restarts:   1,
	}
	for _, kv := range ev.Env() {
		fmt.Println(kv)
	}
	// Output:
	// SUPERVISOR_PROCESS_NAME=vpp
	// SUPERVISOR_PROCESS_STATE=terminated
	// SUPERVISOR_EVENT_TYPE=terminated
	// SUPERVISOR_PROCESS_PATH=/usr/bin/vpp
	// SUPERVISOR_RESTARTS=1
	// SUPERVISOR_PROCESS_PID=4242
	// SUPERVISOR_EXIT_SIGNAL=SIGSEGV
}

func ExamplePlugin_RestartProgram() {
	// A plugin without programs: every name is unknown.
	sv := supervisor.NewPlugin()
	err := sv.RestartProgram("vpp")
	switch {
	case errors.Is(err, supervisor.ErrUnknownProgram):
		fmt.Println("404:", err)
	case errors.Is(err, supervisor.ErrStateConflict):
		fmt.Println("409:", err)
	}
	// Output: 404: supervisor: unknown program "vpp" (GET /supervisor/programs lists them)
}
