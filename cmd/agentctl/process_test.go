package main

import (
	"encoding/json"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"

	"github.com/plinth-go/plinth/agent"
	"github.com/plinth-go/plinth/agent/agenttest"
	"github.com/plinth-go/plinth/exec/processmanager"
	"github.com/plinth-go/plinth/exec/supervisor"
	"github.com/plinth-go/plinth/infra/rest"
)

const programsBody = `[
 {"name":"vpp","state":"running","process_state":"sleeping","pid":4242,"restarts":1,"restart_limit":4,
  "up_time_ns":3723000000000,"last_exit_signal":"SIGKILL","executable":"/usr/bin/vpp","hook_events_dropped":0},
 {"name":"agent","state":"gave-up","process_state":"terminated","pid":0,"restarts":2,"restart_limit":2,
  "up_time_ns":0,"last_exit_code":3,"executable":"/usr/bin/agent"},
 {"name":"tool","state":"failed","pid":0,"restarts":0,"restart_limit":-1,"up_time_ns":0,
  "last_error":"fork/exec /usr/bin/tool:\nno such file","executable":"/usr/bin/tool"}
]`

func programsServer(t *testing.T, code int, body string) env {
	t.Helper()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodGet || r.URL.Path != supervisorProgramsPath {
			http.NotFound(w, r)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(code)
		w.Write([]byte(body))
	}))
	t.Cleanup(srv.Close)
	return agentEnv(t, srv.Listener.Addr().String())
}

func TestProcessListShowsATable(t *testing.T) {
	e := programsServer(t, http.StatusOK, programsBody)
	want := `NAME   STATE    PID   RESTARTS  LIMIT   UPTIME  LAST EXIT
vpp    running  4242  1         4       1h2m    signal SIGKILL
agent  gave-up  -     2         2       -       exit 3
tool   failed   -     0         always  -       -: fork/exec /usr/bin/tool: no such file
`
	for _, args := range [][]string{{"process", "list"}, {"process", "ls"}} {
		if got := e.agentctl(t, "", args...).ok(t); got != want {
			t.Errorf("%v printed\n%s\nwant\n%s", args, got, want)
		}
	}
}

func TestProcessListJSON(t *testing.T) {
	e := programsServer(t, http.StatusOK, programsBody)
	var got []programJSON
	if err := json.Unmarshal([]byte(e.agentctl(t, "", "process", "list", "-o", "json").ok(t)), &got); err != nil {
		t.Fatal(err)
	}
	if len(got) != 3 || got[0].Name != "vpp" || got[0].Pid != 4242 || got[1].LastExitCode == nil || *got[1].LastExitCode != 3 {
		t.Errorf("process list -o json = %+v", got)
	}
	empty := programsServer(t, http.StatusOK, "[]")
	if got := empty.agentctl(t, "", "process", "list", "-o", "json").ok(t); got != "[]\n" {
		t.Errorf("process list -o json of no program = %q, want []", got)
	}
}

func TestProcessListWithoutSupervisorSaysSo(t *testing.T) {
	r := programsServer(t, http.StatusOK, "[]")
	noSupervisor := httptest.NewServer(http.NotFoundHandler())
	defer noSupervisor.Close()
	res := agentEnv(t, noSupervisor.Listener.Addr().String()).agentctl(t, "", "process", "list")
	if res.code != exitError || !strings.Contains(res.stderr, "does the agent have the supervisor plugin?") {
		t.Errorf("process list against an agent without supervisor = (%d, %q)", res.code, res.stderr)
	}
	dead := env{"AGENTCTL_HOST": "127.0.0.1", "AGENTCTL_HTTP_PORT": "1"}
	if res := dead.agentctl(t, "", "process", "list", "--timeout", "1s"); res.code != exitUnavailable {
		t.Errorf("process list against no agent exited %d, want %d: %s", res.code, exitUnavailable, res.stderr)
	}
	if res := r.agentctl(t, "", "process", "list", "extra"); res.code != exitUsage {
		t.Errorf("process list extra exited %d, want %d", res.code, exitUsage)
	}
}

// TestProcessListAgainstARealSupervisor reads what the supervisor plugin
// serves, so that the two keep agreeing on the fields.
func TestProcessListAgainstARealSupervisor(t *testing.T) {
	dir := t.TempDir()
	conf := filepath.Join(dir, "supervisor.conf")
	if err := os.WriteFile(conf, []byte("programs:\n  - name: sleeper\n    executable-path: sleep\n    executable-args: [\"1000\"]\n    restarts: 3\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	server := rest.NewPlugin(rest.UseConf(rest.Config{Endpoint: "127.0.0.1:0"}))
	sv := supervisor.NewPlugin()
	agenttest.Start(t, agent.AllPlugins(server, processmanager.NewPlugin(), sv),
		agenttest.Env(map[string]string{"SUPERVISOR_CONFIG": conf}))
	e := env{"AGENTCTL_HOST": "127.0.0.1", "AGENTCTL_HTTP_PORT": strconv.Itoa(server.Addr().(*net.TCPAddr).Port)}

	pid := sv.GetProgramByName("sleeper").GetPid()
	var got []programJSON
	if err := json.Unmarshal([]byte(e.agentctl(t, "", "process", "list", "-o", "json").ok(t)), &got); err != nil {
		t.Fatal(err)
	}
	if len(got) != 1 || got[0].Name != "sleeper" || got[0].State != "running" || got[0].Pid != pid || got[0].RestartLimit != 3 {
		t.Errorf("process list -o json = %+v, want sleeper running as pid %d", got, pid)
	}
	out := e.agentctl(t, "", "process", "list").ok(t)
	if !strings.Contains(out, "sleeper  running  "+strconv.Itoa(pid)+"  0         3") {
		t.Errorf("process list printed\n%s", out)
	}

	// Every start after the first counts, whoever asked for it.
	var p programJSON
	if err := json.Unmarshal([]byte(e.agentctl(t, "", "process", "restart", "sleeper", "-o", "json").ok(t)), &p); err != nil {
		t.Fatal(err)
	}
	if p.State != "running" || p.Pid == pid || p.Pid == 0 || p.Restarts != 1 {
		t.Errorf("process restart -o json = %+v, want running with a new pid and restarts 1", p)
	}
	if out := e.agentctl(t, "", "process", "stop", "sleeper").ok(t); !strings.Contains(out, "sleeper  stopped  -") {
		t.Errorf("process stop printed\n%s", out)
	}
	if sv.GetProgramByName("sleeper").IsAlive() {
		t.Error("sleeper runs after process stop")
	}
	if out := e.agentctl(t, "", "process", "start", "sleeper").ok(t); !strings.Contains(out, "sleeper  running") || !strings.Contains(out, "  2         3") {
		t.Errorf("process start printed\n%s", out)
	}
	if res := e.agentctl(t, "", "process", "start", "sleeper"); res.code != exitError || !strings.Contains(res.stderr, `cannot start program "sleeper"`) || !strings.Contains(res.stderr, "restart it instead") {
		t.Errorf("process start of a running program = (%d, %q)", res.code, res.stderr)
	}
	if res := e.agentctl(t, "", "process", "restart", "nope"); res.code != exitError || !strings.Contains(res.stderr, `unknown program "nope"`) {
		t.Errorf("process restart nope = (%d, %q)", res.code, res.stderr)
	}
}

// actionServer is an agent whose supervisor answers every program action
// with code and body; first returns the first request it received.
func actionServer(t *testing.T, code int, body string) (e env, first func() string) {
	t.Helper()
	var (
		mu   sync.Mutex
		reqs []string
	)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		reqs = append(reqs, r.Method+" "+r.URL.EscapedPath())
		mu.Unlock()
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(code)
		w.Write([]byte(body))
	}))
	t.Cleanup(srv.Close)
	return agentEnv(t, srv.Listener.Addr().String()), func() string {
		mu.Lock()
		defer mu.Unlock()
		if len(reqs) == 0 {
			return ""
		}
		return reqs[0]
	}
}

const stoppedBody = `{"name":"vpp","state":"stopped","pid":0,"restarts":3,"restart_limit":4,"up_time_ns":0,
 "last_exit_signal":"SIGTERM","executable":"/usr/bin/vpp"}`

func TestProcessStartStopRestartPostToTheSupervisor(t *testing.T) {
	for _, action := range []string{"start", "stop", "restart"} {
		t.Run(action, func(t *testing.T) {
			e, first := actionServer(t, http.StatusOK, stoppedBody)
			want := `NAME  STATE    PID  RESTARTS  LIMIT  UPTIME  LAST EXIT
vpp   stopped  -    3         4      -       signal SIGTERM
`
			if got := e.agentctl(t, "", "process", action, "vpp").ok(t); got != want {
				t.Errorf("process %s printed\n%s\nwant\n%s", action, got, want)
			}
			var p programJSON
			if err := json.Unmarshal([]byte(e.agentctl(t, "", "process", action, "vpp", "-o", "json").ok(t)), &p); err != nil || p.Name != "vpp" || p.Restarts != 3 {
				t.Errorf("process %s -o json = %+v, %v", action, p, err)
			}
			if got, want := first(), "POST /supervisor/programs/vpp/"+action; got != want {
				t.Errorf("the agent received %q, want %q", got, want)
			}
		})
	}
	e, first := actionServer(t, http.StatusOK, stoppedBody)
	e.agentctl(t, "", "process", "restart", "a/b c").ok(t)
	if got, want := first(), "POST /supervisor/programs/a%2Fb%20c/restart"; got != want {
		t.Errorf("the agent received %q, want %q", got, want)
	}
}

func TestProcessActionErrorsSayWhatToDo(t *testing.T) {
	for _, tc := range []struct {
		name   string
		code   int
		body   string
		args   []string
		exit   int
		stderr string
	}{
		{"unknown program", http.StatusNotFound, `{"error":"supervisor: unknown program \"nope\""}`,
			[]string{"process", "stop", "nope"}, exitError, `unknown program "nope" (agentctl process list shows the programs)`},
		{"no supervisor", http.StatusNotFound, "404 page not found",
			[]string{"process", "stop", "vpp"}, exitError, "does the agent have the supervisor plugin"},
		{"conflict", http.StatusConflict, `{"error":"supervisor: start vpp: state conflict: the program runs (pid 7); restart it instead"}`,
			[]string{"process", "start", "vpp"}, exitError, `cannot start program "vpp": supervisor: start vpp: state conflict`},
		{"failure", http.StatusInternalServerError, `{"error":"supervisor: start vpp: fork/exec: no such file"}`,
			[]string{"process", "start", "vpp"}, exitError, "500 Internal Server Error: supervisor: start vpp: fork/exec"},
		{"no program", http.StatusOK, stoppedBody, []string{"process", "restart"}, exitUsage, ""},
		{"empty program", http.StatusOK, stoppedBody, []string{"process", "restart", " "}, exitUsage, "PROGRAM is empty"},
		{"two programs", http.StatusOK, stoppedBody, []string{"process", "restart", "a", "b"}, exitUsage, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e, _ := actionServer(t, tc.code, tc.body)
			res := e.agentctl(t, "", tc.args...)
			if res.code != tc.exit || !strings.Contains(res.stderr, tc.stderr) {
				t.Errorf("agentctl %v = (%d, %q), want (%d, containing %q)", tc.args, res.code, res.stderr, tc.exit, tc.stderr)
			}
		})
	}
}

// programsWithAffinityBody has a program whose CPU affinity failed, one
// whose affinity_error is empty, and one from an agent that does not send
// the field.
const programsWithAffinityBody = `[
 {"name":"vpp","state":"running","pid":4242,"restarts":0,"restart_limit":4,"up_time_ns":3723000000000,
  "executable":"/usr/bin/vpp","affinity_error":"sched_setaffinity pid 4242:\ninvalid argument (CPUs 8-9 not online)"},
 {"name":"agent","state":"running","pid":4243,"restarts":0,"restart_limit":4,"up_time_ns":3723000000000,
  "executable":"/usr/bin/agent","affinity_error":""},
 {"name":"tool","state":"stopped","pid":0,"restarts":0,"restart_limit":0,"up_time_ns":0,"executable":"/usr/bin/tool"}
]`

func TestProcessListShowsTheLastAffinityError(t *testing.T) {
	e := programsServer(t, http.StatusOK, programsWithAffinityBody)
	want := `NAME   STATE    PID   RESTARTS  LIMIT  UPTIME  LAST EXIT
vpp    running  4242  0         4      1h2m    -
agent  running  4243  0         4      1h2m    -
tool   stopped  -     0         0      -       -

vpp: last CPU affinity error: sched_setaffinity pid 4242: invalid argument (CPUs 8-9 not online)
`
	if got := e.agentctl(t, "", "process", "list").ok(t); got != want {
		t.Errorf("process list printed\n%s\nwant\n%s", got, want)
	}
	var got []programJSON
	if err := json.Unmarshal([]byte(e.agentctl(t, "", "process", "list", "-o", "json").ok(t)), &got); err != nil {
		t.Fatal(err)
	}
	if len(got) != 3 || got[0].AffinityError != "sched_setaffinity pid 4242:\ninvalid argument (CPUs 8-9 not online)" || got[1].AffinityError != "" || got[2].AffinityError != "" {
		t.Errorf("process list -o json = %+v", got)
	}
	// Without an affinity error, nothing follows the table.
	plain := programsServer(t, http.StatusOK, `[{"name":"agent","state":"running","pid":7,"restarts":0,"restart_limit":1,"up_time_ns":0,"executable":"/a","affinity_error":""}]`)
	if got := plain.agentctl(t, "", "process", "list").ok(t); strings.Count(got, "\n") != 2 {
		t.Errorf("process list printed\n%s\nwant a header and one line", got)
	}
}
