package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"slices"
	"strings"

	"github.com/spf13/cobra"
)

// Paths of the log manager plugin of the agent.
const (
	logListPath   = "/log/list"
	logSetPathFmt = "/log/%s/%s" // logger, level; each path-escaped
)

// logLevels are the level names the agent accepts, for completion and
// help; the agent checks the level it receives.
var logLevels = []string{"trace", "debug", "info", "warning", "error", "fatal", "panic"}

// loggerLevel is one logger as GET /log/list lists it and as
// POST /log/{logger}/{level} answers.
type loggerLevel struct {
	Logger string `json:"logger"`
	Level  string `json:"level"`
}

func newLogCmd(g *globalOptions) *cobra.Command {
	cmd := &cobra.Command{
		Use:     "log",
		GroupID: "agent",
		Short:   "List the agent's loggers and set their levels",
		Long: `List the agent's loggers and set their levels at run time, through the
agent's HTTP API (the agent needs the log manager plugin).`,
		Args: noArgs,
		RunE: func(cmd *cobra.Command, _ []string) error { return cmd.Help() },
	}
	cmd.AddCommand(newLogListCmd(g), newLogSetCmd(g))
	return cmd
}

func newLogListCmd(g *globalOptions) *cobra.Command {
	return &cobra.Command{
		Use:     "list [FILTER]",
		Aliases: []string{"ls", "l"},
		Short:   "List the loggers and their levels, optionally those whose name contains FILTER",
		Long: `List the agent's loggers and their levels, sorted by name. With FILTER,
only the loggers whose name contains it (ignoring case); it is an error
when none does.`,
		Example: `  agentctl log list
  agentctl log list etcd
  agentctl log list -o json`,
		Args: argsRange(0, 1),
		RunE: func(cmd *cobra.Command, args []string) error {
			filter := ""
			if len(args) == 1 {
				filter = args[0]
			}
			return g.logList(cmd.Context(), filter)
		},
	}
}

func (g *globalOptions) logList(ctx context.Context, filter string) error {
	var all []loggerLevel
	if err := g.agentClient().getJSON(ctx, logListPath, &all); err != nil {
		return logManagerHint(err)
	}
	rows := make([]loggerLevel, 0, len(all))
	for _, l := range all {
		if strings.Contains(strings.ToLower(l.Logger), strings.ToLower(filter)) {
			rows = append(rows, l)
		}
	}
	// The agent sorts; agentctl does too, so that an older agent's list
	// reads the same.
	slices.SortFunc(rows, func(a, b loggerLevel) int { return strings.Compare(a.Logger, b.Logger) })
	if filter != "" && len(rows) == 0 {
		return fmt.Errorf("no logger name contains %q (the agent has %d loggers; agentctl log list shows them)", filter, len(all))
	}
	return g.printer().print(rows, func(w io.Writer) error {
		table := make([][]string, len(rows))
		for i, l := range rows {
			table[i] = []string{l.Logger, l.Level}
		}
		return writeTable(w, []string{"LOGGER", "LEVEL"}, table)
	})
}

func newLogSetCmd(g *globalOptions) *cobra.Command {
	return &cobra.Command{
		Use:   "set LOGGER LEVEL",
		Short: "Set the level of a logger: " + strings.Join(logLevels, ", "),
		Long: `Set the level of a logger at run time. LEVEL is one of
` + strings.Join(logLevels, ", ") + ` (the agent also accepts "warn").
The level applies to the logger's children ("etcd.watch" for "etcd")
that have no level of their own. The agent checks both names: an unknown
logger or a bad level is an error that says so.`,
		Example: `  agentctl log set etcd debug
  agentctl log set kvscheduler warning -o json`,
		Args: argsRange(2, 2),
		RunE: func(cmd *cobra.Command, args []string) error {
			for i, what := range []string{"LOGGER", "LEVEL"} {
				if strings.TrimSpace(args[i]) == "" {
					return usagef("%s: %s is empty (usage: %s)", commandName(cmd), what, cmd.UseLine())
				}
			}
			return g.logSet(cmd.Context(), args[0], args[1])
		},
	}
}

func (g *globalOptions) logSet(ctx context.Context, logger, level string) error {
	c := g.agentClient()
	path := fmt.Sprintf(logSetPathFmt, url.PathEscape(logger), url.PathEscape(level))
	method := http.MethodPost
	resp, err := c.do(ctx, method, path, http.NoBody)
	if err == nil && resp.Status == http.StatusMethodNotAllowed {
		// Agents built on cn-infra serve the same path for PUT only.
		method = http.MethodPut
		resp, err = c.do(ctx, method, path, http.NoBody)
	}
	if err != nil {
		return err
	}
	switch resp.Status {
	case http.StatusOK:
	case http.StatusNotFound:
		if _, ok := resp.message(); ok {
			// The log manager answered (a JSON error): it does not know
			// the logger. Otherwise the agent does not serve the path.
			return fmt.Errorf("unknown logger %q (agentctl log list shows the loggers)", logger)
		}
		return logManagerHint(resp.error(method, path))
	case http.StatusBadRequest:
		msg, _ := resp.message()
		return fmt.Errorf("the agent rejected logger %q level %q: %s", logger, level, msg)
	default:
		return resp.error(method, path)
	}
	var got loggerLevel
	if err := json.Unmarshal(resp.Body, &got); err != nil || got.Logger == "" {
		// An agent that answers 200 without the new state (cn-infra's
		// did) still set the level.
		got = loggerLevel{Logger: logger, Level: level}
	}
	return g.printer().print(got, func(w io.Writer) error {
		_, err := fmt.Fprintf(w, "logger %q set to %s\n", got.Logger, got.Level)
		return err
	})
}

// logManagerHint adds, to an error for a path the agent does not serve,
// the likely reason.
func logManagerHint(err error) error {
	var se *statusError
	if errors.As(err, &se) && se.status == http.StatusNotFound {
		return fmt.Errorf("%w (does the agent have the log manager plugin?)", err)
	}
	return err
}
