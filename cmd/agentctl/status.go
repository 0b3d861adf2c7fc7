package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/plinth-go/plinth/health/statuscheck/model"
)

// readinessPath is served by the probe plugin of the agent: 200 when the
// agent is ready, 503 when it is not, the agent status as JSON either way.
const readinessPath = "/readiness"

// statusOptions are the flags of agentctl status.
type statusOptions struct {
	all   bool
	watch bool
}

func newStatusCmd(g *globalOptions) *cobra.Command {
	var o statusOptions
	cmd := &cobra.Command{
		Use:     "status",
		GroupID: "agent",
		Short:   "Show whether the agent is ready, or with --all the state of every agent in etcd",
		Long: `Show whether the agent is ready, its version and uptime, and the state,
last change and error of each plugin, as the agent's GET /readiness reports
them (the agent needs the probe plugin).

Exit codes: 0 when the agent is ready, 1 when it answered that it is not
(the status is printed all the same), 2 when there is no verdict: the agent
is unreachable or did not answer within --timeout, the answer is not a
status, or the command line is wrong.

With --all, show every agent that has a status in etcd
(/vnf-agent/<label>/check/status/v1/agent), one line each, worst first:
its label, state, when the state last changed, and its plugins in ERROR.
It reads etcd only, so it also shows agents whose HTTP port is out of
reach. It exits 0 when every agent is OK, 1 when one or more is not, 2 when
there is no verdict (etcd unreachable, wrong command line) and 3 when etcd
holds no agent status. --watch then prints a line for each change as it
happens, agents that disappear included, until interrupted; it then exits
with the code of the fleet as last seen.`,
		Example: `  agentctl status
  agentctl status -H 10.0.0.5 --http-port 9191 -o json
  agentctl status >/dev/null && echo ready
  agentctl status --all -e 10.0.0.9:2379
  agentctl status --all --watch
  agentctl status --all -o json | jq -r '.[] | select(.state != "OK") | .label'`,
		Args:        argsRange(0, 0),
		Annotations: map[string]string{verdictAnnotation: "status"},
		RunE: func(cmd *cobra.Command, _ []string) error {
			if o.watch && !o.all {
				return usagef("%s: --watch needs --all", commandName(cmd))
			}
			if o.all {
				return g.statusAll(cmd.Context(), o.watch)
			}
			return g.status(cmd.Context())
		},
	}
	cmd.Flags().BoolVarP(&o.all, "all", "A", false, "show every agent that has a status in etcd, worst first (reads etcd, not the agents)")
	cmd.Flags().BoolVarP(&o.watch, "watch", "w", false, "with --all: then print each change as it happens, until interrupted")
	return cmd
}

// statusJSON is the agent status as -o json and -o yaml show it: the
// agent's document with states by name and the uptime computed.
type statusJSON struct {
	// Ready is the verdict of /readiness; the agent is ready with State
	// ERROR when only non-fatal plugins fail.
	Ready        bool   `json:"ready"`
	State        string `json:"state"`
	BuildVersion string `json:"build_version,omitempty"`
	BuildDate    string `json:"build_date,omitempty"`
	CommitHash   string `json:"commit_hash,omitempty"`
	// StartTime and LastChange are Unix seconds, as the agent sends them;
	// zero when unknown.
	StartTime  int64 `json:"start_time"`
	LastChange int64 `json:"last_change"`
	// UptimeSeconds is absent when the agent sent no start time.
	UptimeSeconds   *int64       `json:"uptime_seconds,omitempty"`
	Plugins         []pluginJSON `json:"plugins"`
	NonFatalPlugins []string     `json:"non_fatal_plugins,omitempty"`
}

type pluginJSON struct {
	Name       string `json:"name"`
	State      string `json:"state"`
	LastChange int64  `json:"last_change"`
	Error      string `json:"error,omitempty"`
	// NonFatal is true when the agent ignores the plugin's ERROR.
	NonFatal bool `json:"non_fatal,omitempty"`
}

// readiness is what GET /readiness answered.
type readiness struct {
	ready    bool
	status   *model.AgentStatus
	nonFatal []string
}

// getReadiness asks the agent for its status. A 503 is an answer like 200:
// its body is the status of an agent that is not ready.
func (c *agentClient) getReadiness(ctx context.Context) (*readiness, error) {
	resp, err := c.do(ctx, http.MethodGet, readinessPath, nil)
	if err != nil {
		return nil, err
	}
	if resp.Status != http.StatusOK && resp.Status != http.StatusServiceUnavailable {
		err := resp.error(http.MethodGet, readinessPath)
		if resp.Status == http.StatusNotFound {
			// Not the probe's answer: it would be 200 or 503.
			err = fmt.Errorf("%w (does the agent have the probe plugin?)", err)
		}
		return nil, err
	}
	r := &readiness{ready: resp.Status == http.StatusOK, status: new(model.AgentStatus)}
	var extra struct {
		NonFatal []string `json:"non_fatal_plugins"`
	}
	if err := json.Unmarshal(resp.Body, r.status); err != nil {
		return nil, fmt.Errorf("agent: GET %s: %d %s, but the answer is not an agent status: %v: %s",
			readinessPath, resp.Status, http.StatusText(resp.Status), err, snippet(resp.Body))
	}
	_ = json.Unmarshal(resp.Body, &extra) // the body decoded above
	r.nonFatal = extra.NonFatal
	return r, nil
}

func (g *globalOptions) status(ctx context.Context) error {
	r, err := g.agentClient().getReadiness(ctx)
	if err != nil {
		return err
	}
	out := newStatusJSON(r, g.now())
	if err := g.printer().print(out, func(w io.Writer) error {
		return writeStatus(w, out, g.now())
	}); err != nil {
		return err
	}
	if !r.ready {
		return notReadyError{notReadyReason(out)}
	}
	return nil
}

func newStatusJSON(r *readiness, now time.Time) statusJSON {
	s := r.status
	out := statusJSON{
		Ready:           r.ready,
		State:           s.GetState().String(),
		BuildVersion:    s.GetBuildVersion(),
		BuildDate:       s.GetBuildDate(),
		CommitHash:      s.GetCommitHash(),
		StartTime:       s.GetStartTime(),
		LastChange:      s.GetLastChange(),
		Plugins:         make([]pluginJSON, 0, len(s.GetPlugins())),
		NonFatalPlugins: r.nonFatal,
	}
	if out.StartTime != 0 {
		up := max(int64(now.Sub(time.Unix(out.StartTime, 0))/time.Second), 0)
		out.UptimeSeconds = &up
	}
	nonFatal := make(map[string]bool, len(r.nonFatal))
	for _, n := range r.nonFatal {
		nonFatal[n] = true
	}
	for _, p := range s.GetPlugins() {
		out.Plugins = append(out.Plugins, pluginJSON{
			Name:       p.GetName(),
			State:      p.GetState().String(),
			LastChange: p.GetLastChange(),
			Error:      p.GetError(),
			NonFatal:   nonFatal[p.GetName()],
		})
	}
	return out
}

// notReadyReason says why the agent is not ready, for stderr: the state
// and the plugins that hold readiness.
func notReadyReason(s statusJSON) error {
	var failing []string
	for _, p := range s.Plugins {
		if p.State != model.OperationalState_OK.String() && !(p.NonFatal && p.State == model.OperationalState_ERROR.String()) {
			failing = append(failing, p.Name+" "+p.State)
		}
	}
	if len(failing) == 0 {
		return fmt.Errorf("agent is not ready: state %s", s.State)
	}
	return fmt.Errorf("agent is not ready: state %s (%s)", s.State, strings.Join(failing, ", "))
}

// writeStatus prints the text form of agentctl status:
//
//	Agent:    OK, ready
//	Version:  v1.2.0 (commit 1a2b3c, built 2025-01-02)
//	Started:  2025-01-02T10:00:00Z, up 1h2m
//
//	PLUGIN  STATE  LAST CHANGE  ERROR
//	etcd    OK     1h2m ago
func writeStatus(w io.Writer, s statusJSON, now time.Time) error {
	verdict := "ready"
	if !s.Ready {
		verdict = "not ready"
	}
	started := "unknown"
	if s.UptimeSeconds != nil {
		started = fmt.Sprintf("%s, up %s", time.Unix(s.StartTime, 0).UTC().Format(time.RFC3339),
			formatAge(time.Duration(*s.UptimeSeconds)*time.Second))
	}
	version := s.BuildVersion
	if version == "" {
		version = "unknown"
	}
	var build []string
	if s.CommitHash != "" {
		build = append(build, "commit "+s.CommitHash)
	}
	if s.BuildDate != "" {
		build = append(build, "built "+s.BuildDate)
	}
	if len(build) > 0 {
		version += " (" + strings.Join(build, ", ") + ")"
	}
	if _, err := fmt.Fprintf(w, "Agent:    %s, %s\nVersion:  %s\nStarted:  %s\n\n", s.State, verdict, version, started); err != nil {
		return err
	}
	rows := make([][]string, 0, len(s.Plugins))
	for _, p := range s.Plugins {
		state := p.State
		if p.NonFatal {
			state += " (non-fatal)"
		}
		changed := "-"
		if p.LastChange != 0 {
			changed = formatAge(now.Sub(time.Unix(p.LastChange, 0))) + " ago"
		}
		rows = append(rows, []string{p.Name, state, changed, oneLine(p.Error)})
	}
	return writeTable(w, []string{"PLUGIN", "STATE", "LAST CHANGE", "ERROR"}, rows)
}

// formatAge prints a duration the way operators read ages: at most two
// units, down to seconds ("45s", "12m5s", "3h2m", "4d3h").
func formatAge(d time.Duration) string {
	if d < 0 {
		d = 0
	}
	s := int64(d / time.Second)
	days, hours, mins, secs := s/86400, s/3600%24, s/60%60, s%60
	switch {
	case days > 0:
		return fmt.Sprintf("%dd%dh", days, hours)
	case hours > 0:
		return fmt.Sprintf("%dh%dm", hours, mins)
	case mins > 0:
		return fmt.Sprintf("%dm%ds", mins, secs)
	default:
		return fmt.Sprintf("%ds", secs)
	}
}

// oneLine makes s fit in a table cell: line breaks and tabs become spaces.
func oneLine(s string) string {
	return strings.Join(strings.Fields(s), " ")
}

// writeTable prints rows under header in columns two spaces apart, with no
// trailing white space.
func writeTable(w io.Writer, header []string, rows [][]string) error {
	widths := make([]int, len(header))
	for _, row := range append([][]string{header}, rows...) {
		for i, cell := range row {
			widths[i] = max(widths[i], len([]rune(cell)))
		}
	}
	var b strings.Builder
	for _, row := range append([][]string{header}, rows...) {
		var line strings.Builder
		for i, cell := range row {
			line.WriteString(cell)
			if i < len(row)-1 {
				line.WriteString(strings.Repeat(" ", widths[i]-len([]rune(cell))+2))
			}
		}
		b.WriteString(strings.TrimRight(line.String(), " "))
		b.WriteByte('\n')
	}
	_, err := io.WriteString(w, b.String())
	return err
}
