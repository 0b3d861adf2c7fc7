//go:build linux

package porting_test

import (
	"fmt"

	"github.com/plinth-go/plinth/exec/processmanager"
	"github.com/plinth-go/plinth/exec/processmanager/status"
)

// runSleeper creates a process, starts it, follows its state and stops it.
func runSleeper(pm processmanager.ProcessManager) error {
	events := make(chan processmanager.Notification, 16)
	p, err := pm.NewProcess("sleep",
		processmanager.WithName("sleeper"),
		processmanager.Args("60"),
		processmanager.Restarts(-1), // restart whenever it exits on its own
		processmanager.Notify(events),
		processmanager.AutoTerminate())
	if err != nil {
		return err
	}
	if err := p.Start(); err != nil {
		return err
	}
	fmt.Println(p.GetName(), p.GetCommand(), p.GetArguments(), "alive:", p.IsAlive())

	exit, err := p.StopAndWait() // SIGTERM, SIGKILL after the stop timeout; no restart
	if err != nil {
		return err
	}
	fmt.Println("stopped:", exit, "alive:", p.IsAlive())
	for n := range events {
		if n.State == status.Terminated {
			fmt.Println("notified:", n.Name, n.State, n.Exit)
			break
		}
	}
	return pm.Delete(p.GetName())
}

func Example_processManager() {
	pm := processmanager.NewPlugin() // in an agent, inject processmanager.ProcessManager
	if err := pm.Init(); err != nil {
		fmt.Println(err)
		return
	}
	defer pm.Close()
	if err := runSleeper(pm); err != nil {
		fmt.Println(err)
	}
	fmt.Println("left:", len(pm.List()))
	// Output:
	// sleeper sleep [60] alive: true
	// stopped: signal: terminated alive: false
	// notified: sleeper terminated signal: terminated
	// left: 0
}
