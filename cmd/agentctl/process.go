package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/spf13/cobra"
)

// Paths of the supervisor plugin of the agent.
const (
	supervisorProgramsPath     = "/supervisor/programs"
	supervisorProgramActionFmt = "/supervisor/programs/%s/%s" // name (path-escaped), action
)

// processListPath is served by the process manager plugin: the processes
// it runs, with their names (completion falls back on it).
const processListPath = "/process/list"

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
	// AffinityError is the last error of setting the CPU affinity of the
	// program's process; agents that do not report it leave it out.
	AffinityError string `json:"affinity_error,omitempty"`
}

func newProcessCmd(g *globalOptions) *cobra.Command {
	cmd := &cobra.Command{
		Use:     "process",
		GroupID: "agent",
		Short:   "Show, start, stop and restart the programs the agent's supervisor runs, and their logs",
		Long: `Show the programs that the agent's supervisor runs, start, stop or
restart them, and print or follow their logs, through the agent's HTTP API
(the agent needs the supervisor plugin).`,
		Args: noArgs,
		RunE: func(cmd *cobra.Command, _ []string) error { return cmd.Help() },
	}
	cmd.AddCommand(newProcessListCmd(g), newProcessStartCmd(g), newProcessStopCmd(g), newProcessRestartCmd(g),
		newProcessLogCmd(g))
	return cmd
}

func newProcessListCmd(g *globalOptions) *cobra.Command {
	return &cobra.Command{
		Use:     "list",
		Aliases: []string{"ls", "l"},
		Short:   "List the supervised programs: state, pid, restarts, uptime, last exit",
		Long: `List the programs of the agent's supervisor in their start order, with
their state (running, backoff, exited, gave-up, failed, stopped), pid,
restarts, restart limit, uptime and how their last run ended, as
GET /supervisor/programs reports them. RESTARTS counts every run after a
program's first, automatic or started by an operator (agentctl process
start or restart, the dashboard); LIMIT is the restarts setting, which
bounds only the automatic restarts in a row.`,
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

// writePrograms prints the text form of agentctl process list, and after
// the table a line for each program that reports a CPU affinity error:
//
//	NAME  STATE    PID   RESTARTS  LIMIT  UPTIME  LAST EXIT
//	vpp   running  4242  7         4      1h2m    signal SIGKILL
//
//	vpp: last CPU affinity error: sched_setaffinity: invalid argument
func writePrograms(w io.Writer, programs []programJSON) error {
	rows := make([][]string, 0, len(programs))
	for _, p := range programs {
		pid, uptime := "-", "-"
		if p.Pid > 0 {
			pid = strconv.Itoa(p.Pid)
			uptime = formatAge(time.Duration(p.UpTimeNs))
		}
		limit := strconv.Itoa(p.RestartLimit)
		if p.RestartLimit < 0 {
			limit = "always"
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
		rows = append(rows, []string{p.Name, p.State, pid, strconv.Itoa(p.Restarts), limit, uptime, last})
	}
	if err := writeTable(w, []string{"NAME", "STATE", "PID", "RESTARTS", "LIMIT", "UPTIME", "LAST EXIT"}, rows); err != nil {
		return err
	}
	// A note below the table rather than a column: the error is rare, long,
	// and would widen every row.
	var notes strings.Builder
	for _, p := range programs {
		if msg := oneLine(p.AffinityError); msg != "" {
			fmt.Fprintf(&notes, "%s: last CPU affinity error: %s\n", p.Name, msg)
		}
	}
	if notes.Len() == 0 {
		return nil
	}
	_, err := io.WriteString(w, "\n"+notes.String())
	return err
}

func newProcessStartCmd(g *globalOptions) *cobra.Command {
	return &cobra.Command{
		Use:   "start PROGRAM",
		Short: "Start a supervised program that does not run",
		Long: `Start a program of the agent's supervisor that does not run (stopped,
exited, gave up, failed, or waiting for an automatic restart), with its
automatic restarts turned on again, and print its state once it runs.
Starting a program that runs is an error: restart it instead. Every start
after a program's first counts in its restarts.`,
		Example: `  agentctl process start vpp
  agentctl process start vpp -o json`,
		Args: argsRange(1, 1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return g.processAction(cmd, args[0], "start")
		},
	}
}

func newProcessStopCmd(g *globalOptions) *cobra.Command {
	return &cobra.Command{
		Use:   "stop PROGRAM",
		Short: "Stop a supervised program and keep it stopped",
		Long: `Stop a program of the agent's supervisor: its stop signal to its process
group, SIGKILL after its stop timeout. agentctl returns once the program has
exited; it stays stopped, without automatic restarts, until agentctl process
start or restart. Stopping a program that does not run does nothing.
Allow for the program's stop timeout in --timeout.`,
		Example: `  agentctl process stop vpp
  agentctl process stop vpp --timeout 30s`,
		Args: argsRange(1, 1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return g.processAction(cmd, args[0], "stop")
		},
	}
}

func newProcessRestartCmd(g *globalOptions) *cobra.Command {
	return &cobra.Command{
		Use:   "restart PROGRAM",
		Short: "Stop a supervised program, then start it",
		Long: `Stop a program of the agent's supervisor as agentctl process stop does,
then start it as agentctl process start does, and print its state once the
new run has started; a program that does not run is just started. The new
run counts in the program's restarts. Allow for the program's stop timeout
in --timeout.`,
		Example: `  agentctl process restart vpp
  agentctl process restart vpp -o json`,
		Args: argsRange(1, 1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return g.processAction(cmd, args[0], "restart")
		},
	}
}

// processAction POSTs action for the program and prints the program's
// state from the answer.
func (g *globalOptions) processAction(cmd *cobra.Command, name, action string) error {
	if strings.TrimSpace(name) == "" {
		return usagef("%s: PROGRAM is empty (usage: %s)", commandName(cmd), cmd.UseLine())
	}
	path := fmt.Sprintf(supervisorProgramActionFmt, url.PathEscape(name), action)
	resp, err := g.agentClient().do(cmd.Context(), http.MethodPost, path, http.NoBody)
	if err != nil {
		return err
	}
	switch resp.Status {
	case http.StatusOK:
	case http.StatusNotFound:
		if _, ok := resp.message(); ok {
			// The supervisor answered (a JSON error): it has no such
			// program. Otherwise the agent does not serve the path.
			return fmt.Errorf("unknown program %q (agentctl process list shows the programs)", name)
		}
		return fmt.Errorf("%w (does the agent have the supervisor plugin, in a version that controls programs?)",
			resp.error(http.MethodPost, path))
	case http.StatusMethodNotAllowed:
		return fmt.Errorf("%w (the agent's supervisor cannot %s programs: an older version?)",
			resp.error(http.MethodPost, path), action)
	case http.StatusConflict:
		msg, _ := resp.message()
		return fmt.Errorf("cannot %s program %q: %s", action, name, msg)
	default:
		return resp.error(http.MethodPost, path)
	}
	var p programJSON
	if err := json.Unmarshal(resp.Body, &p); err != nil {
		return fmt.Errorf("agent: POST %s: decode the answer: %w", path, err)
	}
	return g.printer().print(p, func(w io.Writer) error {
		return writePrograms(w, []programJSON{p})
	})
}
