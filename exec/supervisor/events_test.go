//go:build linux

package supervisor_test

import (
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"testing"

	"golang.org/x/sys/unix"

	"github.com/plinth-go/plinth/exec/supervisor"
)

func TestStateChangeEventsFollowTheProgramsLife(t *testing.T) {
	rep := newReports(t)
	mark := filepath.Join(t.TempDir(), "ran")
	// life runs until killed the first time, then exits at once: it
	// starts, runs, exits, backs off, fails its retried start and is
	// fatal. svc runs until the agent stops it.
	conf := `
hooks-shutdown-timeout: 30s
programs:
  - name: life
    executable-path: sh
    executable-args: ["-c", "if [ -e %[3]s ]; then exit 1; fi; : > %[3]s; exec %[1]s %[2]s run"]
    start-seconds: 1
    start-retries: 1
    autorestart: unexpected
    restart-delay: 0s
  - name: svc
    executable-path: %[1]s
    executable-args: [%[2]s, run]
hooks:
`
	for _, typ := range []string{"starting", "running", "backoff", "stopping", "exited", "stopped", "fatal"} {
		conf += "  - event-type: " + typ + "\n    cmd: %[1]s\n    cmd-args: [%[2]s, hook, " + typ + "]\n"
	}
	r := start(t, writeConf(t, conf, helper, rep.path, mark))

	// sh execs the helper: the run keeps its pid.
	first := r.events.next(t, "life", supervisor.EventTypeRunning).Pid
	if err := unix.Kill(first, syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	fatal := r.events.next(t, "life", supervisor.EventTypeFatal)
	if fatal.Err == nil || !strings.Contains(fatal.Err.Error(), "start-retries: 1") {
		t.Errorf("fatal event error %v, want the cause of the start-retries", fatal.Err)
	}
	r.events.next(t, "svc", supervisor.EventTypeRunning)
	if err := r.stop(); err != nil {
		t.Fatal(err)
	}

	got := map[string][]string{}
	envs := map[string]map[string]string{}
	for _, h := range hookReports(t, rep.drain(t)) {
		name := h.env["SUPERVISOR_PROCESS_NAME"]
		if h.env["SUPERVISOR_EVENT_TYPE"] != h.id || h.env["SUPERVISOR_PROCESS_STATE"] != h.id {
			t.Errorf("hook %s got event %s, state %s", h.id, h.env["SUPERVISOR_EVENT_TYPE"], h.env["SUPERVISOR_PROCESS_STATE"])
		}
		got[name] = append(got[name], h.id)
		if _, ok := envs[name+" "+h.id]; !ok {
			envs[name+" "+h.id] = h.env
		}
	}
	wantLife := []string{"starting", "running", "exited", "backoff", "starting", "backoff", "starting", "fatal"}
	if !slices.Equal(got["life"], wantLife) {
		t.Errorf("hooks of life ran for %v, want %v", got["life"], wantLife)
	}
	wantSvc := []string{"starting", "running", "stopping", "stopped"}
	if !slices.Equal(got["svc"], wantSvc) {
		t.Errorf("hooks of svc ran for %v, want %v", got["svc"], wantSvc)
	}
	for _, c := range []struct{ event, key, want string }{
		{"life exited", "SUPERVISOR_EXIT_SIGNAL", "SIGKILL"},
		{"life backoff", "SUPERVISOR_RESTART_IN", "0s"},
		{"life fatal", "SUPERVISOR_ERROR", "2 failed starts in a row (start-retries: 1)"},
		{"svc stopped", "SUPERVISOR_EXIT_SIGNAL", "SIGTERM"},
		{"svc stopping", "SUPERVISOR_PROCESS_PID", ""},
	} {
		v, ok := envs[c.event][c.key]
		if !ok || !strings.Contains(v, c.want) {
			t.Errorf("%s hook: %s=%q (set: %v), want it to contain %q", c.event, c.key, v, ok, c.want)
		}
	}
}
