package main

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

// complete asks agentctl for the completions of args, as the shell scripts
// of agentctl completion do, and returns what it offers and its directive.
func (e env) complete(t *testing.T, args ...string) (offers []string, directive string) {
	t.Helper()
	r := runBounded(t, e, append([]string{"__complete"}, args...)...)
	if r.code != exitOK {
		t.Fatalf("__complete %q: exit %d, stderr %q", args, r.code, r.stderr)
	}
	lines := strings.Split(strings.TrimSuffix(r.stdout, "\n"), "\n")
	return lines[:len(lines)-1], lines[len(lines)-1]
}

func TestCompletionOffersValues(t *testing.T) {
	e := testEnv(t)
	cli := newClient(t)
	prefix := "/vnf-agent/" + label(t) + "/"
	for _, k := range []string{"check/status/v1/agent", "check/status/v1/plugin/ETCD", "config/a", "config/b/c", "top"} {
		etcdPut(t, cli, prefix+k, "v")
	}
	agent := newFakeAgent(t, &fakeAgent{})
	for k, v := range agentEnv(t, agent.Listener.Addr().String()) {
		e[k] = v
	}
	supervisor := programsServer(t, http.StatusOK, programsBody)
	// An agent with the process manager and no supervisor.
	pm := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != processListPath {
			http.NotFound(w, r)
			return
		}
		w.Write([]byte(`[{"name":"web","pid":7,"state":"sleeping"},{"name":"db","pid":8,"state":"sleeping"}]`))
	}))
	t.Cleanup(pm.Close)
	processManager := agentEnv(t, pm.Listener.Addr().String())

	const (
		noFile       = ":4"
		noFileNoSpce = ":6"
	)
	tests := []struct {
		name      string
		e         env
		args      []string
		want      []string
		directive string
	}{
		{"output formats", e, []string{"kvdb", "list", "-o", ""}, []string{"table", "json", "yaml"}, noFile},
		{"output formats, long flag", e, []string{"status", "--output", "j"}, []string{"table", "json", "yaml"}, noFile},
		{"programs of the supervisor", supervisor, []string{"process", "restart", ""}, []string{"vpp", "agent", "tool"}, noFile},
		{"nothing after the program", supervisor, []string{"process", "stop", "vpp", ""}, nil, noFile},
		{"programs of process log", supervisor, []string{"process", "log", "-f", ""}, []string{"vpp", "agent", "tool"}, noFile},
		{"processes of the process manager", processManager, []string{"process", "start", ""}, []string{"web", "db"}, noFile},
		{"loggers with their levels", e, []string{"log", "set", ""}, []string{"agent\tinfo", "etcd\twarning", "etcd.watch\twarning", "http\tinfo"}, noFile},
		{"levels", e, []string{"log", "set", "etcd", ""}, logLevels, noFile},
		{"logger filter", e, []string{"log", "list", ""}, []string{"agent\tinfo", "etcd\twarning", "etcd.watch\twarning", "http\tinfo"}, noFile},
		{"first segments of relative keys", e, []string{"kvdb", "get", ""}, []string{"check/", "config/", "top"}, noFileNoSpce},
		{"deeper segments", e, []string{"kvdb", "del", "check/status/v1/"}, []string{"check/status/v1/agent", "check/status/v1/plugin/"}, noFileNoSpce},
		{"whole keys", e, []string{"kvdb", "watch", "config/b/"}, []string{"config/b/c"}, noFile},
		{"absolute keys", e, []string{"kvdb", "list", prefix + "co"}, []string{prefix + "config/"}, noFileNoSpce},
		{"the key of put, not its value", e, []string{"kvdb", "put", "top", ""}, nil, noFile},
		{"label from the flag", e, []string{"kvdb", "get", "--service-label", "nobody-" + label(t), ""}, nil, noFile},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			offers, directive := tt.e.complete(t, tt.args...)
			if strings.Join(offers, "|") != strings.Join(tt.want, "|") || directive != tt.directive {
				t.Errorf("__complete %q = %q %s, want %q %s", tt.args, offers, directive, tt.want, tt.directive)
			}
		})
	}
}

// TestCompletionOffersNothingWhenUnreachable: a completion that cannot ask
// etcd or the agent offers nothing, prints no error where the shell would
// show it, and never waits for --timeout (an hour here).
func TestCompletionOffersNothingWhenUnreachable(t *testing.T) {
	hanging := silentServer(t)
	tests := []struct {
		name string
		e    env
		args []string
	}{
		{"agent refuses", env{"AGENTCTL_HTTP_PORT": "1"}, []string{"process", "start", ""}},
		{"agent hangs", agentEnv(t, hanging), []string{"process", "start", ""}},
		{"agent hangs, loggers", agentEnv(t, hanging), []string{"log", "set", ""}},
		{"etcd refuses", env{"AGENTCTL_ETCD_ENDPOINTS": "127.0.0.1:1"}, []string{"kvdb", "get", ""}},
		{"etcd hangs", env{"AGENTCTL_ETCD_ENDPOINTS": hanging}, []string{"kvdb", "get", ""}},
		{"bad options", env{"AGENTCTL_HTTP_PORT": "x"}, []string{"process", "start", ""}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tt.e["AGENTCTL_TIMEOUT"] = "1h"
			tt.e["AGENT_HOST"] = "127.0.0.1" // deprecated: no note amid the completion either
			r := runBounded(t, tt.e, append([]string{"__complete"}, tt.args...)...)
			if r.code != exitOK || r.stdout != ":4\n" || strings.Contains(r.stderr, "agentctl:") {
				t.Errorf("__complete %q = (%d, %q, %q), want (0, \":4\\n\", no error)", tt.args, r.code, r.stdout, r.stderr)
			}
		})
	}
}
