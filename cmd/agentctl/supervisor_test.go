package main

import (
	"encoding/json"
	"net/http"
	"strings"
	"testing"
)

func TestSupervisorReloadPrintsTheFourLists(t *testing.T) {
	e, f := supervisorEnv(t)
	want := `Added:      web
Removed:    -
Changed:    api, vpp
Unchanged:  agent
`
	if got := e.agentctl(t, "", "supervisor", "reload").ok(t); got != want {
		t.Errorf("supervisor reload printed\n%s\nwant\n%s", got, want)
	}
	if got := f.lastRequest(); got != "POST /supervisor/reload" {
		t.Errorf("the agent received %q, want POST /supervisor/reload", got)
	}

	// -o json: every list, the empty ones as [].
	var got map[string][]string
	out := e.agentctl(t, "", "supervisor", "reload", "-o", "json").ok(t)
	if err := json.Unmarshal([]byte(out), &got); err != nil {
		t.Fatal(err)
	}
	if len(got) != 4 || strings.Join(got["added"], ",") != "web" || got["removed"] == nil || len(got["removed"]) != 0 ||
		strings.Join(got["changed"], ",") != "api,vpp" || strings.Join(got["unchanged"], ",") != "agent" {
		t.Errorf("supervisor reload -o json = %s", out)
	}
	if !strings.Contains(out, `"removed": []`) {
		t.Errorf("supervisor reload -o json = %s, want \"removed\": []", out)
	}
	wantYAML := "added:\n    - web\nremoved: []\nchanged:\n    - api\n    - vpp\nunchanged:\n    - agent\n"
	if got := e.agentctl(t, "", "supervisor", "reload", "-o", "yaml").ok(t); got != wantYAML {
		t.Errorf("supervisor reload -o yaml printed\n%s\nwant\n%s", got, wantYAML)
	}

	// An agent that leaves empty lists out still gets four.
	f.mu.Lock()
	f.reloadBody = `{"unchanged":["agent","vpp"]}`
	f.mu.Unlock()
	if got := e.agentctl(t, "", "supervisor", "reload", "-o", "json").ok(t); !strings.Contains(got, `"added": []`) {
		t.Errorf("supervisor reload -o json of a partial answer = %s", got)
	}
	if got := e.agentctl(t, "", "supervisor", "reload").ok(t); got != "Added:      -\nRemoved:    -\nChanged:    -\nUnchanged:  agent, vpp\n" {
		t.Errorf("supervisor reload of nothing new printed %q", got)
	}
}

func TestSupervisorReloadErrorsSayWhy(t *testing.T) {
	refused, f := supervisorEnv(t)
	f.reloadCode, f.reloadBody = http.StatusBadRequest, `{"error":"supervisor.conf:12: programs[1].restarts: cannot unmarshal !!str `+"`often`"+` into int"}`
	tests := []struct {
		name   string
		e      env
		exit   int
		stderr string
	}{
		{"bad file", refused, exitError,
			"agentctl: supervisor reload refused, nothing changed: supervisor.conf:12: programs[1].restarts: cannot unmarshal !!str `often` into int\n"},
		{"no supervisor", newFakeSupervisorlessAgent(t, http.StatusNotFound, "404 page not found\n"), exitError,
			"agentctl: agent: POST /supervisor/reload: 404 Not Found: 404 page not found (does the agent have the supervisor plugin, in a version that reloads its conf?)\n"},
		{"failure", newFakeSupervisorlessAgent(t, http.StatusInternalServerError, `{"error":"supervisor: reload: read supervisor.conf: permission denied"}`), exitError,
			"agentctl: agent: POST /supervisor/reload: 500 Internal Server Error: supervisor: reload: read supervisor.conf: permission denied\n"},
		{"agent unreachable", agentEnv(t, deadAgent), exitUnavailable,
			"agentctl: cannot reach the agent at http://127.0.0.1:1: connection refused\n"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := runBounded(t, tt.e, "supervisor", "reload")
			if r.code != tt.exit || r.stdout != "" || r.stderr != tt.stderr {
				t.Errorf("supervisor reload = (%d, %q, %q), want (%d, \"\", %q)", r.code, r.stdout, r.stderr, tt.exit, tt.stderr)
			}
		})
	}
}
