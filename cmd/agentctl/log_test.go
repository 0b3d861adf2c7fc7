package main

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

func TestLogListSortsAndFilters(t *testing.T) {
	srv := newFakeAgent(t, &fakeAgent{})
	e := agentEnv(t, srv.Listener.Addr().String())
	tests := []struct {
		name string
		args []string
		want string
	}{
		{"all", []string{"log", "list"}, "LOGGER      LEVEL\nagent       info\netcd        warning\netcd.watch  warning\nhttp        info\n"},
		{"filter", []string{"log", "ls", "etcd"}, "LOGGER      LEVEL\netcd        warning\netcd.watch  warning\n"},
		{"filter ignores case", []string{"log", "l", "WATCH"}, "LOGGER      LEVEL\netcd.watch  warning\n"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := e.agentctl(t, "", tt.args...).ok(t); got != tt.want {
				t.Errorf("%v printed\n%s\nwant\n%s", tt.args, got, tt.want)
			}
		})
	}
}

func TestLogListJSON(t *testing.T) {
	srv := newFakeAgent(t, &fakeAgent{})
	e := agentEnv(t, srv.Listener.Addr().String())
	var got []loggerLevel
	if err := json.Unmarshal([]byte(e.agentctl(t, "", "log", "list", "etcd", "-o", "json").ok(t)), &got); err != nil {
		t.Fatal(err)
	}
	want := []loggerLevel{{"etcd", "warning"}, {"etcd.watch", "warning"}}
	if len(got) != len(want) || got[0] != want[0] || got[1] != want[1] {
		t.Errorf("log list etcd -o json = %+v, want %+v", got, want)
	}
}

func TestLogListWithoutMatchFails(t *testing.T) {
	srv := newFakeAgent(t, &fakeAgent{})
	r := agentEnv(t, srv.Listener.Addr().String()).agentctl(t, "", "log", "list", "kafka")
	want := "agentctl: no logger name contains \"kafka\" (the agent has 4 loggers; agentctl log list shows them)\n"
	if r.code != exitError || r.stdout != "" || r.stderr != want {
		t.Errorf("log list kafka = (%d, %q, %q), want (1, \"\", %q)", r.code, r.stdout, r.stderr, want)
	}
}

func TestLogSet(t *testing.T) {
	f := &fakeAgent{}
	srv := newFakeAgent(t, f)
	e := agentEnv(t, srv.Listener.Addr().String())
	if got := e.agentctl(t, "", "log", "set", "etcd", "debug").ok(t); got != "logger \"etcd\" set to debug\n" {
		t.Errorf("log set etcd debug printed %q", got)
	}
	req := f.lastRequest(t)
	if req.method != http.MethodPost || req.path != "/log/etcd/debug" || req.body != "" {
		t.Errorf("the agent received %s %s with body %q, want POST /log/etcd/debug with no body", req.method, req.path, req.body)
	}
	if f.level("etcd") != "debug" {
		t.Errorf("level of etcd = %q, want debug", f.level("etcd"))
	}

	var got loggerLevel
	if err := json.Unmarshal([]byte(e.agentctl(t, "", "log", "set", "http", "trace", "-o", "json").ok(t)), &got); err != nil {
		t.Fatal(err)
	}
	if got != (loggerLevel{"http", "trace"}) {
		t.Errorf("log set http trace -o json = %+v", got)
	}
}

// TestLogSetEscapesTheLoggerName: a name is one path segment whatever it
// contains.
func TestLogSetEscapesTheLoggerName(t *testing.T) {
	f := &fakeAgent{levels: map[string]string{"my plugin?#x": "info"}}
	srv := newFakeAgent(t, f)
	agentEnv(t, srv.Listener.Addr().String()).agentctl(t, "", "log", "set", "my plugin?#x", "debug").ok(t)
	req := f.lastRequest(t)
	if req.path != "/log/my plugin?#x/debug" || req.rawPath != "" && req.rawPath != "/log/my%20plugin%3F%23x/debug" {
		t.Errorf("the agent received path %q (raw %q)", req.path, req.rawPath)
	}
	if f.level("my plugin?#x") != "debug" {
		t.Errorf("level = %q, want debug", f.level("my plugin?#x"))
	}
}

// TestLogSetFallsBackToPUT: agents built on cn-infra serve only PUT.
func TestLogSetFallsBackToPUT(t *testing.T) {
	f := &fakeAgent{putOnly: true}
	srv := newFakeAgent(t, f)
	agentEnv(t, srv.Listener.Addr().String()).agentctl(t, "", "log", "set", "etcd", "error").ok(t)
	if req := f.lastRequest(t); req.method != http.MethodPut || f.level("etcd") != "error" {
		t.Errorf("last request %s, level %q; want PUT and error", req.method, f.level("etcd"))
	}
}

func TestLogErrors(t *testing.T) {
	agent := newFakeAgent(t, &fakeAgent{}).Listener.Addr().String()
	withAuth := newFakeAgent(t, &fakeAgent{auth: "ops:pw"}).Listener.Addr().String()
	plain := httptest.NewServer(http.NotFoundHandler()) // an agent without the log manager
	t.Cleanup(plain.Close)
	noLogManager := plain.Listener.Addr().String()
	dead := deadAgent
	tests := []struct {
		name     string
		addr     string
		args     []string
		wantCode int
		want     string
	}{
		{"unknown logger", agent, []string{"log", "set", "kvscheduler", "debug"}, exitError,
			`agentctl: unknown logger "kvscheduler" (agentctl log list shows the loggers)` + "\n"},
		{"bad level", agent, []string{"log", "set", "etcd", "loud"}, exitError,
			`agentctl: the agent rejected logger "etcd" level "loud": logging: unknown level "loud" (valid: trace, debug, info, warning (or warn), error, fatal, panic)` + "\n"},
		{"empty logger", agent, []string{"log", "set", "", "debug"}, exitUsage, "LOGGER is empty"},
		{"set without credentials", withAuth, []string{"log", "set", "etcd", "debug"}, exitError,
			"agent: POST /log/etcd/debug: 401 Unauthorized: Unauthorized (check --http-basic-auth)"},
		{"list without credentials", withAuth, []string{"log", "list"}, exitError,
			"agent: GET /log/list: 401 Unauthorized: Unauthorized (check --http-basic-auth)"},
		{"list, no log manager", noLogManager, []string{"log", "list"}, exitError,
			"agent: GET /log/list: 404 Not Found: 404 page not found (does the agent have the log manager plugin?)"},
		{"set, no log manager", noLogManager, []string{"log", "set", "etcd", "debug"}, exitError,
			"agent: POST /log/etcd/debug: 404 Not Found: 404 page not found (does the agent have the log manager plugin?)"},
		{"list unreachable", dead, []string{"log", "list"}, exitUnavailable,
			"agentctl: cannot reach the agent at http://" + dead + ": connection refused\n"},
		{"set unreachable", dead, []string{"log", "set", "etcd", "debug"}, exitUnavailable,
			"agentctl: cannot reach the agent at http://" + dead + ": connection refused\n"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := agentEnv(t, tt.addr).agentctl(t, "", append(tt.args, "--timeout", "300ms")...)
			if r.code != tt.wantCode || r.stdout != "" || !strings.Contains(r.stderr, tt.want) {
				t.Errorf("%v = (%d, %q, %q), want (%d, \"\", containing %q)", tt.args, r.code, r.stdout, r.stderr, tt.wantCode, tt.want)
			}
		})
	}
}
