package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"time"

	"github.com/spf13/cobra"
)

// supervisorProgramsPath is served by the supervisor plugin of the agent.
const supervisorProgramsPath = "/supervisor/programs"

// programJSON is a program as GET /supervisor/programs lists it and as
// agentctl process list -o json prints it. agentctl keeps its own copy of
// the fields it shows, so that it reads agents of other versions.
type programJSON struct {
	Name           string   `json:"name"`
	State          string   `json:"state"`
	ProcessState   string   `json:"process_state,omitempty"`
	Pid            int      `json:"pid"`
	Restarts       int      `json:"restarts"`
	RestartLimit   int      `json:"restart_limit"`
	StartTime      string   `json:"start_time,omitempty"`
	UpTimeNs       int64    `json:"up_time_ns"`
	LastExitCode   *int     `json:"last_exit_code,omitempty"`
	LastExitSignal string   `json:"last_exit_signal,omitempty"`
	LastError      string   `json:"last_error,omitempty"`
	Executable     string   `json:"executable"`
	Args           []string `json:"args,omitempty"`
}

func newProcessCmd(g *globalOptions) *cobra.Command {
	cmd := &cobra.Command{
		Use:     "process",
		GroupID: "agent",
		Short:   "Show the programs the agent's supervisor runs",
		Long: `Show the programs that the agent's supervisor runs, through the agent's
HTTP API (the agent needs the supervisor plugin).`,
		Args: noArgs,
		RunE: func(cmd *cobra.Command, _ []string) error { return cmd.Help() },
	}
	cmd.AddCommand(newProcessListCmd(g))
	return cmd
}

func newProcessListCmd(g *globalOptions) *cobra.Command {
	return &cobra.Command{
		Use:     "list",
		Aliases: []string{"ls", "l"},
		Short:   "List the supervised programs: state, pid, restarts, uptime, last exit",
		Long: `List the programs of the agent's supervisor in their start order, with
their state (running, backoff, exited, gave-up, failed, stopped), pid,
automatic restarts out of the configured ones, uptime and how their last
run ended, as GET /supervisor/programs reports them.`,
		Example: `  agentctl process list
  agentctl process list -o json`,
		Args: argsRange(0, 0),
		RunE: func(cmd *cobra.Command, _ []string) error {
			return g.processList(cmd.Context())
		},
	}
}

func (g *globalOptions) processList(ctx context.Context) error {
	var programs []programJSON
	if err := g.agentClient().getJSON(ctx, supervisorProgramsPath, &programs); err != nil {
		var se *statusError
		if errors.As(err, &se) && se.status == http.StatusNotFound {
			return fmt.Errorf("%w (does the agent have the supervisor plugin?)", err)
		}
		return err
	}
	if programs == nil {
		programs = []programJSON{}
	}
	return g.printer().print(programs, func(w io.Writer) error {
		return writePrograms(w, programs)
	})
}

// writePrograms prints the text form of agentctl process list:
//
//	NAME  STATE    PID   RESTARTS  UPTIME  LAST EXIT
//	vpp   running  4242  1/4       1h2m    signal SIGKILL
func writePrograms(w io.Writer, programs []programJSON) error {
	rows := make([][]string, 0, len(programs))
	for _, p := range programs {
		pid, uptime := "-", "-"
		if p.Pid > 0 {
			pid = strconv.Itoa(p.Pid)
			uptime = formatAge(time.Duration(p.UpTimeNs))
		}
		restarts := strconv.Itoa(p.Restarts)
		switch {
		case p.RestartLimit < 0:
			restarts += "/always"
		default:
			restarts += "/" + strconv.Itoa(p.RestartLimit)
		}
		last := "-"
		switch {
		case p.LastExitSignal != "":
			last = "signal " + p.LastExitSignal
		case p.LastExitCode != nil:
			last = "exit " + strconv.Itoa(*p.LastExitCode)
		}
		if p.LastError != "" {
			last += ": " + oneLine(p.LastError)
		}
		rows = append(rows, []string{p.Name, p.State, pid, restarts, uptime, last})
	}
	return writeTable(w, []string{"NAME", "STATE", "PID", "RESTARTS", "UPTIME", "LAST EXIT"}, rows)
}
