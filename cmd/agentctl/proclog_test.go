package main

import (
	"context"
	"encoding/json"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/plinth-go/plinth/internal/testwait"
)

func TestProcessLogPrintsTheLastLines(t *testing.T) {
	e, f := supervisorEnv(t)
	tests := []struct {
		name    string
		args    []string
		want    string
		request string
	}{
		{"default", []string{"process", "log", "vpp"}, "out 1\nout 2\nout 3\nout 4\nout 5\n",
			"GET /supervisor/programs/vpp/log?tail=100&stream=stdout"},
		{"last lines", []string{"process", "log", "vpp", "-n", "2"}, "out 4\nout 5\n",
			"GET /supervisor/programs/vpp/log?tail=2&stream=stdout"},
		{"standard error", []string{"process", "log", "vpp", "--stderr", "--lines", "1"}, "err 2\n",
			"GET /supervisor/programs/vpp/log?tail=1&stream=stderr"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := e.agentctl(t, "", tt.args...).ok(t); got != tt.want {
				t.Errorf("%v printed %q, want %q", tt.args, got, tt.want)
			}
			if got := f.lastRequest(); got != tt.request {
				t.Errorf("%v: the agent received %q, want %q", tt.args, got, tt.request)
			}
		})
	}

	var got logJSON
	if err := json.Unmarshal([]byte(e.agentctl(t, "", "process", "log", "vpp", "-n", "2", "-o", "json").ok(t)), &got); err != nil {
		t.Fatal(err)
	}
	if got.Program != "vpp" || got.Stream != "stdout" || strings.Join(got.Lines, "|") != "out 4|out 5" {
		t.Errorf("process log -o json = %+v", got)
	}
	f.mu.Lock()
	f.logs["vpp/stderr"] = nil
	f.mu.Unlock()
	if out := e.agentctl(t, "", "process", "log", "vpp", "--stderr", "-o", "json").ok(t); !strings.Contains(out, `"lines": []`) {
		t.Errorf("process log of an empty log -o json = %s, want \"lines\": []", out)
	}
}

// followLog runs agentctl process log -f in the background. Cancelling
// interrupts it, as Ctrl-C does; its result then comes on done.
func followLog(t *testing.T, e env, args ...string) (out *syncBuffer, done <-chan result, cancel context.CancelFunc) {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), 60*time.Second)
	t.Cleanup(cancel)
	out = &syncBuffer{}
	ch := make(chan result, 1)
	go func() {
		var stderr syncBuffer
		code := run(ctx, append([]string{"process", "log", "-f"}, args...), func(k string) string { return e[k] },
			strings.NewReader(""), out, &stderr)
		ch <- result{code: code, stdout: out.String(), stderr: stderr.String()}
	}()
	return out, ch, cancel
}

// waitUntil polls cond until it holds, or fails the test after a bound
// that orders nothing.
func waitUntil(t *testing.T, what string, cond func() bool) {
	t.Helper()
	testwait.For(t, 20*time.Second, what, func() (bool, string) { return cond(), "" })
}

func TestProcessLogFollowPrintsNewLinesUntilInterrupted(t *testing.T) {
	e, f := supervisorEnv(t)
	// A short --timeout: it bounds the connection, not the stream.
	e["AGENTCTL_TIMEOUT"] = "300ms"
	out, done, stop := followLog(t, e, "vpp", "-n", "2")
	waitFor(t, out, "out 4\nout 5\n")
	waitUntil(t, "agentctl to follow", func() bool { return f.following("vpp", "stdout") == 1 })
	// Let --timeout pass: the stream goes on.
	<-time.After(900 * time.Millisecond)
	f.write("vpp", "stdout", "out 6")
	f.write("vpp", "stderr", "err 3") // another stream
	f.write("vpp", "stdout", "out 7")
	waitFor(t, out, "out 7\n")
	stop()
	r := <-done
	if r.code != exitOK || r.stdout != "out 4\nout 5\nout 6\nout 7\n" || r.stderr != "" {
		t.Errorf("interrupted process log -f = (%d, %q, %q), want (0, the two last lines and the two new ones, \"\")", r.code, r.stdout, r.stderr)
	}
	if got := f.lastRequest(); got != "GET /supervisor/programs/vpp/log?tail=2&stream=stdout&follow=1" {
		t.Errorf("the agent received %q", got)
	}
	waitUntil(t, "the stream to end at the agent", func() bool { return f.following("vpp", "stdout") == 0 })
}

func TestProcessLogFollowJSONLines(t *testing.T) {
	e, f := supervisorEnv(t)
	out, done, stop := followLog(t, e, "vpp", "--stderr", "-o", "json")
	waitFor(t, out, `"line":"err 2"`)
	waitUntil(t, "agentctl to follow", func() bool { return f.following("vpp", "stderr") == 1 })
	f.write("vpp", "stderr", `a "quoted" line`)
	waitFor(t, out, `quoted`)
	stop()
	r := <-done
	var lines []string
	for _, l := range strings.Split(strings.TrimSpace(r.stdout), "\n") {
		var ev logLineJSON
		if err := json.Unmarshal([]byte(l), &ev); err != nil {
			t.Fatalf("process log -f -o json line %q: %v", l, err)
		}
		if ev.Program != "vpp" || ev.Stream != "stderr" {
			t.Errorf("process log -f -o json line %q: want program vpp, stream stderr", l)
		}
		lines = append(lines, ev.Line)
	}
	if strings.Join(lines, "|") != `err 1|err 2|a "quoted" line` {
		t.Errorf("process log -f -o json lines = %q", lines)
	}
}

func TestProcessLogFollowEndedByTheAgentIsAnError(t *testing.T) {
	e, f := supervisorEnv(t)
	out, done, _ := followLog(t, e, "vpp")
	waitFor(t, out, "out 5\n")
	waitUntil(t, "agentctl to follow", func() bool { return f.following("vpp", "stdout") == 1 })
	close(f.endFollow)
	var r result
	select {
	case r = <-done:
	case <-time.After(20 * time.Second):
		t.Fatal("process log -f did not end with the stream")
	}
	if r.code != exitError || !strings.Contains(r.stderr, `the stdout log stream of program "vpp" ended`) {
		t.Errorf("process log -f ended by the agent = (%d, %q)", r.code, r.stderr)
	}
}

func TestProcessLogErrorsSayWhy(t *testing.T) {
	e, _ := supervisorEnv(t)
	noSupervisor := newFakeSupervisorlessAgent(t, http.StatusNotFound, "404 page not found\n")
	older := newFakeSupervisorlessAgent(t, http.StatusMethodNotAllowed, "")
	tests := []struct {
		name   string
		e      env
		args   []string
		exit   int
		stderr string
	}{
		{"unknown program", e, []string{"vp"}, exitError,
			`agentctl: unknown program "vp" (agentctl process list shows the programs)` + "\n"},
		{"no log file", e, []string{"quiet"}, exitError,
			`agentctl: program "quiet" has no stdout log: supervisor: program "quiet" has no logfile-path (set its logfile-path in supervisor.conf)` + "\n"},
		{"no supervisor", noSupervisor, []string{"vpp"}, exitError, "does the agent have the supervisor plugin, in a version that serves program logs?"},
		{"older supervisor", older, []string{"vpp"}, exitError, "405 Method Not Allowed"},
		{"agent unreachable", agentEnv(t, deadAgent), []string{"vpp"}, exitUnavailable,
			"agentctl: cannot reach the agent at http://127.0.0.1:1: connection refused\n"},
		{"agent silent", agentEnv(t, silentServer(t)), []string{"vpp", "--timeout", "300ms"}, exitUnavailable, "no answer within 300ms"},
	}
	for _, tt := range tests {
		for _, follow := range []bool{false, true} {
			args := append([]string{"process", "log"}, tt.args...)
			if follow {
				args = append(args, "-f")
			}
			t.Run(strings.Join(args[2:], " "), func(t *testing.T) {
				r := runBounded(t, tt.e, args...)
				if r.code != tt.exit || r.stdout != "" || !strings.Contains(r.stderr, tt.stderr) {
					t.Errorf("agentctl %q = (%d, %q, %q), want (%d, \"\", containing %q)", args, r.code, r.stdout, r.stderr, tt.exit, tt.stderr)
				}
				checkOneLineError(t, args, r.stderr)
			})
		}
	}
}

// newFakeSupervisorlessAgent is an agent that answers every request with
// code and body: a router's 404 without the supervisor, a 405 from a
// supervisor that only controls programs at /supervisor/programs/{name}/….
func newFakeSupervisorlessAgent(t *testing.T, code int, body string) env {
	t.Helper()
	srv := newFakeSupervisorAPIWith(t, http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		w.WriteHeader(code)
		w.Write([]byte(body))
	}))
	return agentEnv(t, srv)
}
