//go:build linux

package porting_test

import (
	"fmt"
	"time"

	"github.com/plinth-go/plinth/agent"
	"github.com/plinth-go/plinth/exec/processmanager"
	"github.com/plinth-go/plinth/exec/supervisor"
)

// A supervisor.conf written for cn-infra: its keys are unchanged, a bare
// number is still read as nanoseconds, and the hook filters now apply.
const cnInfraConf = `
programs:
  - name: "sleeper"
    executable-path: "sleep"
    executable-args: ["60"]
    restarts: 4
    cpu-affinity-list: "0"
    cpu-affinity-setup-delay: 1000000000
hooks:
  - program-name: "sleeper"
    event-type: "terminated"
    cmd: "true"
    cmd-args: ["sleeper ended"]
`

func Example_supervisorConf() {
	conf, err := supervisor.ParseConfig("supervisor.conf", []byte(cnInfraConf))
	if err != nil {
		fmt.Println(err)
		return
	}
	p := conf.Programs[0]
	fmt.Println(p.Name, p.ExecutableArgs, p.Restarts, time.Duration(p.CPUAffinitySetupDelay))
	h := conf.Hooks[0]
	fmt.Println(h.ProgramName, h.EventType, h.Cmd, h.CmdArgs)
	// Output:
	// sleeper [60] 4 1s
	// sleeper terminated true [sleeper ended]
}

// newSupervisor runs one program, restarted whenever it exits, and hands
// the events cn-infra had to events.
func newSupervisor(events chan<- supervisor.Event) *supervisor.Plugin {
	return supervisor.NewPlugin(
		supervisor.UseConf(supervisor.Config{
			Programs: []supervisor.Program{{
				Name:           "sleeper",
				ExecutablePath: "sleep",
				ExecutableArgs: []string{"60"},
				Restarts:       -1,
				StopTimeout:    2 * time.Second,
			}},
			Hooks: []supervisor.Hook{{
				ProgramName: "sleeper",
				EventType:   supervisor.EventTypeTerminated,
				Cmd:         "true", // gets SUPERVISOR_PROCESS_NAME, _STATE, _EVENT_TYPE, _EXIT_CODE…
			}},
		}),
		supervisor.WithEventHandler(func(ev supervisor.Event) {
			switch ev.Type { // the events cn-infra had; not the kernel states
			case supervisor.EventTypeStarted, supervisor.EventTypeStopped, supervisor.EventTypeTerminated,
				supervisor.EventTypeGaveUp, supervisor.EventTypeFailed:
				events <- ev // buffered: the handler must not block
			}
		}))
}

func Example_supervisor() {
	events := make(chan supervisor.Event, 16)
	sv := newSupervisor(events)
	a := newAgent(agent.AllPlugins(processmanager.NewPlugin(), sv))
	if err := a.Start(); err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println((<-events).Type)
	st, _ := sv.Program("sleeper")
	fmt.Println(sv.GetProgramNames(), st.State, sv.GetProgramByName("sleeper").IsAlive())

	if err := sv.RestartProgram("sleeper"); err != nil {
		fmt.Println(err)
	}
	fmt.Println((<-events).Type, (<-events).Type)

	if err := a.Stop(); err != nil { // stops the program: SIGTERM, SIGKILL after 2s
		fmt.Println(err)
	}
	fmt.Println((<-events).Type)
	// Output:
	// started
	// [sleeper] running true
	// stopped started
	// stopped
}
