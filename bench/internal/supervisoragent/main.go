// Command supervisoragent is the smallest agent that supervises programs:
// the supervisor plugin and the process manager it needs, nothing else. The
// supervisor benchmarks run it as a process of its own, so that its memory
// can be compared with that of supervisord.
//
// It reads the supervisor conf as any agent does (-supervisor-config or
// SUPERVISOR_CONFIG), starts the programs, prints "ready" on its standard
// output once every program is running, and stops them on SIGTERM or
// SIGINT. Its own log goes to standard error.
//
//	supervisoragent -supervisor-config supervisor.conf
package main

import (
	"context"
	"fmt"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/plinth-go/plinth/agent"
	"github.com/plinth-go/plinth/exec/processmanager"
	"github.com/plinth-go/plinth/exec/supervisor"
)

func main() {
	if err := run(); err != nil {
		fmt.Fprintln(os.Stderr, "supervisoragent:", err)
		os.Exit(1)
	}
}

func run() error {
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, syscall.SIGINT)
	defer stop()
	sv := supervisor.NewPlugin()
	a, err := agent.New(agent.AllPlugins(processmanager.NewPlugin(), sv), agent.QuitSignals())
	if err != nil {
		return err
	}
	if err := a.Start(); err != nil {
		return err
	}
	// A millisecond's poll: the benchmark that reads "ready" times the start.
	for !allRunning(sv) && ctx.Err() == nil {
		time.Sleep(time.Millisecond)
	}
	if ctx.Err() == nil {
		fmt.Println("ready")
	}
	<-ctx.Done()
	return a.Stop()
}

func allRunning(sv *supervisor.Plugin) bool {
	for _, p := range sv.Programs() {
		if p.State != supervisor.ProgramStateRunning {
			return false
		}
	}
	return true
}
