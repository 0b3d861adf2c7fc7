package main

import (
	"context"
	"encoding/json"
	"errors"
	"net"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/plinth-go/plinth/agent"
	"github.com/plinth-go/plinth/agent/agenttest"
	"github.com/plinth-go/plinth/health/probe"
	"github.com/plinth-go/plinth/health/statuscheck"
	"github.com/plinth-go/plinth/infra/rest"
	"github.com/plinth-go/plinth/logging/logmanager"
)

// realAgent is an agent with the HTTP server, the status check, the probes
// and the log manager, serving on a free loopback port.
type realAgent struct {
	env    env
	status *statuscheck.Plugin
}

func startRealAgent(t *testing.T, cfg rest.Config) realAgent {
	t.Helper()
	cfg.Endpoint = "127.0.0.1:0"
	server := rest.NewPlugin(rest.UseConf(cfg))
	sc := statuscheck.NewPlugin(statuscheck.WithBuildInfo("v9.8.7", "2025-01-02", "abc123"))
	agenttest.Start(t, agent.AllPlugins(server, sc, probe.NewPlugin(), logmanager.NewPlugin()))
	addr := server.Addr()
	if addr == nil {
		t.Fatal("the HTTP server of the agent listens on nothing")
	}
	return realAgent{env: env{"AGENTCTL_HOST": "127.0.0.1", "AGENTCTL_HTTP_PORT": strconv.Itoa(addr.(*net.TCPAddr).Port)}, status: sc}
}

// waitReadiness waits until /readiness answers code: the probe renders the
// status check's snapshot, which follows reports at once or nearly.
func (a realAgent) waitReadiness(t *testing.T, code int) {
	t.Helper()
	g := &globalOptions{host: a.env["AGENTCTL_HOST"], timeout: time.Second}
	g.httpPort, _ = strconv.Atoi(a.env["AGENTCTL_HTTP_PORT"])
	ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
	defer cancel()
	last := 0
	for ctx.Err() == nil {
		resp, err := g.agentClient().do(ctx, http.MethodGet, readinessPath, nil)
		if err == nil && resp.Status == code {
			return
		}
		if err == nil {
			last = resp.Status
		}
		time.Sleep(20 * time.Millisecond)
	}
	t.Fatalf("/readiness answered %d, want %d", last, code)
}

// TestAgainstRealAgent runs status, log list and log set against an agent
// built from Plinth's plugins, in text and JSON.
func TestAgainstRealAgent(t *testing.T) {
	a := startRealAgent(t, rest.Config{})
	a.waitReadiness(t, http.StatusOK)
	e := a.env

	t.Run("status ready", func(t *testing.T) {
		out := e.agentctl(t, "", "status").ok(t)
		for _, want := range []string{"Agent:    OK, ready\n", "Version:  v9.8.7 (commit abc123, built 2025-01-02)\n",
			", up ", "PLUGIN", "STATE", "LAST CHANGE", "ERROR"} {
			if !strings.Contains(out, want) {
				t.Errorf("status printed\n%s\nwithout %q", out, want)
			}
		}
		var s statusJSON
		if err := json.Unmarshal([]byte(e.agentctl(t, "", "status", "-o", "json").ok(t)), &s); err != nil {
			t.Fatal(err)
		}
		if !s.Ready || s.State != "OK" || s.BuildVersion != "v9.8.7" || s.StartTime == 0 || s.UptimeSeconds == nil {
			t.Errorf("status -o json = %+v, want a ready agent v9.8.7 with a start time", s)
		}
	})

	t.Run("status not ready", func(t *testing.T) {
		if err := a.status.ReportStateChange("db", statuscheck.StateError, errors.New("disk full")); err != nil {
			t.Fatal(err)
		}
		a.waitReadiness(t, http.StatusServiceUnavailable)
		r := e.agentctl(t, "", "status")
		if r.code != exitVerdictNotOK || !strings.Contains(r.stdout, "Agent:    ERROR, not ready\n") ||
			!strings.Contains(r.stdout, "disk full") || !strings.Contains(r.stderr, "agent is not ready: state ERROR (db ERROR)") {
			t.Errorf("status = (%d, %q, %q), want exit 1, the table with db's error, the reason on stderr", r.code, r.stdout, r.stderr)
		}
		r = e.agentctl(t, "", "status", "-o", "json")
		var s statusJSON
		if err := json.Unmarshal([]byte(r.stdout), &s); err != nil || r.code != exitVerdictNotOK || s.Ready {
			t.Errorf("status -o json = (%d, %q), want exit 1 and ready false", r.code, r.stdout)
		}
		found := false
		for _, p := range s.Plugins {
			found = found || p.Name == "db" && p.State == "ERROR" && p.Error == "disk full"
		}
		if !found {
			t.Errorf("status -o json plugins = %+v, want db ERROR disk full", s.Plugins)
		}
		if err := a.status.ReportStateChange("db", statuscheck.StateOK, nil); err != nil {
			t.Fatal(err)
		}
		a.waitReadiness(t, http.StatusOK)
	})

	t.Run("log list and set", func(t *testing.T) {
		out := e.agentctl(t, "", "log", "list").ok(t)
		if !strings.HasPrefix(out, "LOGGER") || !strings.Contains(out, "\nhttp ") {
			t.Fatalf("log list printed\n%s", out)
		}
		if got := e.agentctl(t, "", "log", "set", "http", "debug").ok(t); got != "logger \"http\" set to debug\n" {
			t.Errorf("log set http debug printed %q", got)
		}
		var list []loggerLevel
		if err := json.Unmarshal([]byte(e.agentctl(t, "", "log", "list", "http", "-o", "json").ok(t)), &list); err != nil {
			t.Fatal(err)
		}
		if len(list) == 0 || list[0] != (loggerLevel{"http", "debug"}) {
			t.Errorf("log list http -o json = %+v, want http at debug first", list)
		}
		var set loggerLevel
		if err := json.Unmarshal([]byte(e.agentctl(t, "", "log", "set", "http", "WARN", "-o", "json").ok(t)), &set); err != nil {
			t.Fatal(err)
		}
		if set != (loggerLevel{"http", "warning"}) {
			t.Errorf("log set http WARN -o json = %+v, want the agent's canonical level", set)
		}
	})

	t.Run("log errors", func(t *testing.T) {
		for _, c := range []struct {
			args []string
			want string
		}{
			{[]string{"log", "set", "no-such-logger", "debug"}, `agentctl: unknown logger "no-such-logger" (agentctl log list shows the loggers)`},
			{[]string{"log", "set", "http", "loud"}, `agentctl: the agent rejected logger "http" level "loud": logging: unknown level "loud"`},
			{[]string{"log", "list", "no-such-logger"}, `agentctl: no logger name contains "no-such-logger"`},
		} {
			r := e.agentctl(t, "", c.args...)
			if r.code != exitError || !strings.HasPrefix(r.stderr, c.want) {
				t.Errorf("%v = (%d, %q), want exit 1 and %q", c.args, r.code, r.stderr, c.want)
			}
		}
	})
}

// TestAgainstRealAgentWithBasicAuth: /readiness stays open, the log paths
// need --http-basic-auth.
func TestAgainstRealAgentWithBasicAuth(t *testing.T) {
	a := startRealAgent(t, rest.Config{BasicAuth: []string{"ops:pa:ss"}})
	a.waitReadiness(t, http.StatusOK)
	e := a.env
	e.agentctl(t, "", "status").ok(t)

	r := e.agentctl(t, "", "log", "list")
	if r.code != exitError || !strings.Contains(r.stderr, "401 Unauthorized") || !strings.Contains(r.stderr, "--http-basic-auth") {
		t.Errorf("log list without credentials = (%d, %q), want a 401 pointing at --http-basic-auth", r.code, r.stderr)
	}
	e["AGENTCTL_HTTP_BASIC_AUTH"] = "ops:pa:ss"
	e.agentctl(t, "", "log", "list").ok(t)
	e.agentctl(t, "", "log", "set", "http", "debug", "-o", "json").ok(t)
	if r := e.agentctl(t, "", "log", "set", "http", "info", "--http-basic-auth", "ops:wrong"); r.code != exitError {
		t.Errorf("log set with a wrong password: exit %d, want 1; stderr %q", r.code, r.stderr)
	}
}
