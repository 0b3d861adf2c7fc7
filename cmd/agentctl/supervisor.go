package main

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"

	"github.com/spf13/cobra"
)

// supervisorReloadPath is served by the supervisor plugin: POST reads
// supervisor.conf again and applies the difference.
const supervisorReloadPath = "/supervisor/reload"

// reloadJSON is the answer of POST /supervisor/reload, and what agentctl
// supervisor reload -o json prints: the names of the programs in each
// group, sorted, never null.
type reloadJSON struct {
	Added     []string `json:"added"`
	Removed   []string `json:"removed"`
	Changed   []string `json:"changed"`
	Unchanged []string `json:"unchanged"`
}

// reloadRefusedError is a reload the supervisor refused: the new conf has
// an error, and nothing changed.
type reloadRefusedError struct{ msg string }

func (e reloadRefusedError) Error() string {
	return "supervisor reload refused, nothing changed: " + e.msg
}

func newSupervisorCmd(g *globalOptions) *cobra.Command {
	cmd := &cobra.Command{
		Use:     "supervisor",
		GroupID: "agent",
		Short:   "Reload the configuration of the agent's supervisor",
		Long: `Act on the agent's supervisor as a whole, through the agent's HTTP API
(the agent needs the supervisor plugin). agentctl process acts on one program.`,
		Args: noArgs,
		RunE: func(cmd *cobra.Command, _ []string) error { return cmd.Help() },
	}
	cmd.AddCommand(newSupervisorReloadCmd(g))
	return cmd
}

func newSupervisorReloadCmd(g *globalOptions) *cobra.Command {
	return &cobra.Command{
		Use:   "reload",
		Short: "Read supervisor.conf again and apply what changed",
		Long: `Make the agent's supervisor read its conf file again and apply the
difference: start the programs added, stop the programs removed, restart
the programs whose settings changed, and leave the others running. Prints
the four lists of program names. When the new file has an error, the
supervisor changes nothing, and agentctl prints the error, with the file
and line, and exits 1. Stopping the removed and changed programs waits for
their stop timeouts: allow for them in --timeout.`,
		Example: `  agentctl supervisor reload
  agentctl supervisor reload -o json
  agentctl supervisor reload --timeout 30s`,
		Args: argsRange(0, 0),
		RunE: func(cmd *cobra.Command, _ []string) error {
			return g.supervisorReload(cmd)
		},
	}
}

func (g *globalOptions) supervisorReload(cmd *cobra.Command) error {
	resp, err := g.agentClient().do(cmd.Context(), http.MethodPost, supervisorReloadPath, http.NoBody)
	if err != nil {
		return err
	}
	switch resp.Status {
	case http.StatusOK:
	case http.StatusBadRequest:
		if msg, ok := resp.message(); ok {
			return reloadRefusedError{msg: msg}
		}
		return resp.error(http.MethodPost, supervisorReloadPath)
	case http.StatusNotFound, http.StatusMethodNotAllowed:
		return fmt.Errorf("%w (does the agent have the supervisor plugin, in a version that reloads its conf?)",
			resp.error(http.MethodPost, supervisorReloadPath))
	default:
		return resp.error(http.MethodPost, supervisorReloadPath)
	}
	var r reloadJSON
	if err := json.Unmarshal(resp.Body, &r); err != nil {
		return fmt.Errorf("agent: POST %s: decode the answer: %w", supervisorReloadPath, err)
	}
	for _, l := range []*[]string{&r.Added, &r.Removed, &r.Changed, &r.Unchanged} {
		if *l == nil {
			*l = []string{}
		}
	}
	return g.printer().print(r, func(w io.Writer) error {
		return writeReload(w, r)
	})
}

// writeReload prints the text form of agentctl supervisor reload:
//
//	Added:      web
//	Removed:    -
//	Changed:    vpp
//	Unchanged:  agent, tool
func writeReload(w io.Writer, r reloadJSON) error {
	var b strings.Builder
	for _, group := range []struct {
		label string
		names []string
	}{{"Added:", r.Added}, {"Removed:", r.Removed}, {"Changed:", r.Changed}, {"Unchanged:", r.Unchanged}} {
		list := "-"
		if len(group.names) > 0 {
			list = strings.Join(group.names, ", ")
		}
		fmt.Fprintf(&b, "%-12s%s\n", group.label, list)
	}
	_, err := io.WriteString(w, b.String())
	return err
}
