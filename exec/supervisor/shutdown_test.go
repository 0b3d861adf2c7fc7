//go:build linux

package supervisor_test

import (
	"bytes"
	"context"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/plinth-go/plinth/agent"
	"github.com/plinth-go/plinth/agent/agenttest"
	"github.com/plinth-go/plinth/exec/processmanager"
	"github.com/plinth-go/plinth/exec/processmanager/status"
	"github.com/plinth-go/plinth/exec/supervisor"
	"github.com/plinth-go/plinth/logging"
)

func TestProgramsOfOnePriorityStopTogether(t *testing.T) {
	// a, b and c exit on their stop signal only once all three got it:
	// stopped one after the other, the first would be killed after its
	// stop-timeout. db, of a lower priority, stops once they exited.
	rep := newReports(t)
	dir := t.TempDir()
	r := start(t, writeConf(t, `
programs:
  - name: db
    priority: -10
    executable-path: %[1]s
    executable-args: [%[2]s, run]
  - name: a
    executable-path: %[1]s
    executable-args: [%[2]s, stop-together, %[3]s, "3"]
    stop-timeout: 10s
  - name: b
    executable-path: %[1]s
    executable-args: [%[2]s, stop-together, %[3]s, "3"]
    stop-timeout: 10s
  - name: c
    executable-path: %[1]s
    executable-args: [%[2]s, stop-together, %[3]s, "3"]
    stop-timeout: 10s
`, helper, rep.path, dir))
	for range 4 {
		rep.ready(t)
	}
	if err := r.stop(); err != nil {
		t.Fatal(err)
	}
	var order []string
	for _, ev := range r.events.every() {
		if ev.Type != supervisor.EventTypeStopped {
			continue
		}
		order = append(order, ev.Program)
		if ev.Program != "db" && (ev.Exit == nil || !ev.Exit.Success()) {
			t.Errorf("%s stopped with %v, want exit status 0: the three got their stop signal together", ev.Program, ev.Exit)
		}
	}
	if len(order) != 4 || order[3] != "db" || !slices.Contains(order, "a") || !slices.Contains(order, "b") || !slices.Contains(order, "c") {
		t.Errorf("stop order %v, want a, b and c in any order, then db", order)
	}
}

func TestCloseOutlastingTheAgentStopTimeoutStillCleansUp(t *testing.T) {
	// Two programs ignore SIGTERM: the supervisor's Close lasts their 2s
	// stop-timeout, 20 times the agent's stop timeout. The agent gives up on
	// it and closes the process manager, and the supervisor's Close then
	// finds the manager closed: it must still report the stops, run their
	// hooks and close the log file.
	rep := newReports(t)
	logfile := filepath.Join(t.TempDir(), "programs.log")
	conf := writeConf(t, `
programs:
  - name: first
    executable-path: %[1]s
    executable-args: [%[2]s, ignore-term]
    logfile-path: %[3]s
    stop-timeout: 2s
  - name: second
    executable-path: %[1]s
    executable-args: [%[2]s, ignore-term]
    logfile-path: %[3]s
    stop-timeout: 2s
hooks:
  - event-type: stopped
    cmd: %[1]s
    cmd-args: [%[2]s, hook, stopped]
`, helper, rep.path, logfile)
	logs := &syncBuffer{}
	pm := processmanager.NewPlugin()
	sv := supervisor.NewPlugin()
	a := agenttest.New(t, agent.AllPlugins(pm, sv), agenttest.Env(map[string]string{"SUPERVISOR_CONFIG": conf}),
		agent.StopTimeout(100*time.Millisecond), agent.Logs(logging.NewRegistry(logging.WithOutput(logs))))
	if err := a.Start(); err != nil {
		t.Fatalf("agent Start: %v", err)
	}
	pids := []int{rep.ready(t), rep.ready(t)}

	err := a.Stop()
	if pe := closeError(err, supervisor.PluginName); pe == nil || !errors.Is(pe, context.DeadlineExceeded) {
		t.Errorf("agent Stop = %v, want the supervisor's Close past the stop timeout", err)
	}
	// The agent left the Closes running; a second Close waits for the
	// first.
	if err := sv.Close(); err != nil {
		t.Errorf("supervisor Close: %v", err)
	}
	if err := pm.Close(); err != nil {
		t.Errorf("process manager Close: %v", err)
	}
	for _, pid := range pids {
		if st, err := status.ReadStat(pid); err == nil {
			t.Errorf("program %d still exists (%s) after Close", pid, st.State)
		}
	}
	if fds := descriptorsOf(t, logfile); len(fds) > 0 {
		t.Errorf("the log file is still open as descriptors %v after Close", fds)
	}
	// The stops were reported and their hooks ran.
	for range pids {
		rep.next(t, "hook stopped ")
	}
	if strings.Contains(logs.String(), "panicked") {
		t.Errorf("a Close panicked:\n%s", logs)
	}
}

// closeError returns the Close error of plugin in the error of agent.Stop,
// or nil.
func closeError(err error, plugin string) *agent.PluginError {
	var pe *agent.PluginError
	if errors.As(err, &pe) && pe.Plugin == plugin && pe.Phase == "Close" {
		return pe
	}
	if joined, ok := err.(interface{ Unwrap() []error }); ok {
		for _, e := range joined.Unwrap() {
			if pe := closeError(e, plugin); pe != nil {
				return pe
			}
		}
	}
	return nil
}

// descriptorsOf returns the descriptors of the test process open on path.
func descriptorsOf(t *testing.T, path string) []string {
	t.Helper()
	names, err := os.ReadDir("/proc/self/fd")
	if err != nil {
		t.Fatal(err)
	}
	var fds []string
	for _, e := range names {
		if target, err := os.Readlink("/proc/self/fd/" + e.Name()); err == nil && target == path {
			fds = append(fds, e.Name())
		}
	}
	return fds
}

// syncBuffer is a bytes.Buffer safe for concurrent use, for logs.
type syncBuffer struct {
	mu sync.Mutex // guards b
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}
