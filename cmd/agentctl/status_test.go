package main

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"gopkg.in/yaml.v3"
)

func TestStatusOfHealthyAgent(t *testing.T) {
	srv := newFakeAgent(t, &fakeAgent{readyCode: http.StatusOK, readyBody: healthyBody})
	r := agentEnv(t, srv.Listener.Addr().String()).agentctlAt(t, testNow, "status")
	want := `Agent:    OK, ready
Version:  v1.4.0 (commit 1a2b3c, built 2025-01-02)
Started:  2023-11-14T22:13:20Z, up 1h2m

PLUGIN  STATE  LAST CHANGE  ERROR
etcd    OK     2m3s ago
http    OK     1h1m ago
`
	if r.code != exitVerdictOK || r.stdout != want || r.stderr != "" {
		t.Errorf("status = (%d, %q, %q), want (0, %q, \"\")", r.code, r.stdout, r.stderr, want)
	}
}

// TestStatusOfUnhealthyAgent: /readiness answers 503 with the status in the
// body. The original agentctl failed there, exactly when the status mattered.
func TestStatusOfUnhealthyAgent(t *testing.T) {
	srv := newFakeAgent(t, &fakeAgent{readyCode: http.StatusServiceUnavailable, readyBody: unhealthyBody})
	r := agentEnv(t, srv.Listener.Addr().String()).agentctlAt(t, testNow, "status")
	want := `Agent:    ERROR, not ready
Version:  v1.4.0
Started:  2023-11-14T22:13:20Z, up 1h2m

PLUGIN  STATE              LAST CHANGE  ERROR
etcd    ERROR              23s ago      dial tcp 10.0.0.9:2379: connection refused
http    OK                 1h1m ago
kafka   ERROR (non-fatal)  12m3s ago    no brokers
`
	if r.code != exitVerdictNotOK || r.stdout != want {
		t.Errorf("status = (%d, %q), want (1, %q)", r.code, r.stdout, want)
	}
	if wantErr := "agentctl: agent is not ready: state ERROR (etcd ERROR)\n"; r.stderr != wantErr {
		t.Errorf("stderr %q, want %q", r.stderr, wantErr)
	}
}

func TestStatusJSONAndYAML(t *testing.T) {
	tests := []struct {
		name     string
		code     int
		body     string
		wantCode int
		want     statusJSON
	}{
		{"healthy", http.StatusOK, healthyBody, exitVerdictOK, statusJSON{
			Ready: true, State: "OK", BuildVersion: "v1.4.0", BuildDate: "2025-01-02", CommitHash: "1a2b3c",
			StartTime: testStart, LastChange: 1700000010, UptimeSeconds: ptr(int64(3723)),
			Plugins: []pluginJSON{
				{Name: "etcd", State: "OK", LastChange: 1700003600},
				{Name: "http", State: "OK", LastChange: 1700000005},
			},
		}},
		{"unhealthy", http.StatusServiceUnavailable, unhealthyBody, exitVerdictNotOK, statusJSON{
			Ready: false, State: "ERROR", BuildVersion: "v1.4.0",
			StartTime: testStart, LastChange: 1700003700, UptimeSeconds: ptr(int64(3723)),
			Plugins: []pluginJSON{
				{Name: "etcd", State: "ERROR", LastChange: 1700003700, Error: "dial tcp 10.0.0.9:2379:\nconnection refused"},
				{Name: "http", State: "OK", LastChange: 1700000005},
				{Name: "kafka", State: "ERROR", LastChange: 1700003000, Error: "no brokers", NonFatal: true},
			},
			NonFatalPlugins: []string{"kafka"},
		}},
		{"starting, no start time, no plugins", http.StatusServiceUnavailable, `{"state":0}`, exitVerdictNotOK, statusJSON{
			State: "INIT", Plugins: []pluginJSON{},
		}},
		{"protojson form", http.StatusOK, `{"state":"OK","start_time":"1700000000","plugins":[{"name":"etcd","state":"OK"}]}`, exitVerdictOK, statusJSON{
			Ready: true, State: "OK", StartTime: testStart, UptimeSeconds: ptr(int64(3723)),
			Plugins: []pluginJSON{{Name: "etcd", State: "OK"}},
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := newFakeAgent(t, &fakeAgent{readyCode: tt.code, readyBody: tt.body})
			e := agentEnv(t, srv.Listener.Addr().String())
			for _, format := range []string{"json", "yaml"} {
				r := e.agentctlAt(t, testNow, "status", "-o", format)
				if r.code != tt.wantCode {
					t.Errorf("status -o %s: exit %d, want %d; stderr %q", format, r.code, tt.wantCode, r.stderr)
				}
				// Decode both formats the same way: YAML through its JSON form.
				var got statusJSON
				var err error
				if format == "json" {
					err = json.Unmarshal([]byte(r.stdout), &got)
				} else {
					var v any
					if err = yaml.Unmarshal([]byte(r.stdout), &v); err == nil {
						b, _ := json.Marshal(v)
						err = json.Unmarshal(b, &got)
					}
				}
				if err != nil {
					t.Fatalf("status -o %s printed %q: %v", format, r.stdout, err)
				}
				gotJSON, _ := json.Marshal(got)
				wantJSON, _ := json.Marshal(tt.want)
				if string(gotJSON) != string(wantJSON) {
					t.Errorf("status -o %s = %s\nwant %s", format, gotJSON, wantJSON)
				}
			}
		})
	}
}

func ptr[T any](v T) *T { return &v }

// TestStatusWithoutVerdictExits2 covers every way of not getting a verdict:
// exit 2, one line on stderr saying why, nothing on stdout.
func TestStatusWithoutVerdictExits2(t *testing.T) {
	hanging := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		<-r.Context().Done()
	}))
	t.Cleanup(hanging.Close)
	tests := []struct {
		name string
		addr string
		args []string
		want []string
	}{
		{"unreachable", deadAgent, nil, []string{"agentctl: cannot reach the agent at http://127.0.0.1:1: connection refused\n"}},
		{"hanging", hanging.Listener.Addr().String(), nil, []string{"/readiness: no answer within 300ms"}},
		{"no probe plugin", newFakeAgent(t, &fakeAgent{readyCode: http.StatusNotFound, readyBody: "404 page not found"}).Listener.Addr().String(),
			nil, []string{"404 Not Found: 404 page not found (does the agent have the probe plugin?)"}},
		{"not a status", newFakeAgent(t, &fakeAgent{readyCode: http.StatusServiceUnavailable, readyBody: "<html>maintenance</html>"}).Listener.Addr().String(),
			nil, []string{"503 Service Unavailable, but the answer is not an agent status", "<html>maintenance</html>"}},
		{"server error", newFakeAgent(t, &fakeAgent{readyCode: http.StatusInternalServerError, readyBody: `{"error":"boom"}`}).Listener.Addr().String(),
			nil, []string{"500 Internal Server Error: boom"}},
		{"usage", deadAgent, []string{"extra"}, []string{"want 0 argument(s), got 1", "Run 'agentctl status --help'"}},
		{"bad flag", deadAgent, []string{"--http-port", "0"}, []string{"--http-port 0"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			begin := time.Now()
			args := append([]string{"status", "--timeout", "300ms"}, tt.args...)
			r := agentEnv(t, tt.addr).agentctlAt(t, testNow, args...)
			if r.code != exitVerdictUnknown || r.stdout != "" || !strings.HasPrefix(r.stderr, "agentctl: ") {
				t.Errorf("%v = (%d, %q, %q), want exit %d, stderr only", args, r.code, r.stdout, r.stderr, exitVerdictUnknown)
			}
			for _, w := range tt.want {
				if !strings.Contains(r.stderr, w) {
					t.Errorf("stderr %q does not contain %q", r.stderr, w)
				}
			}
			if took := time.Since(begin); took > 3*time.Second {
				t.Errorf("took %v with --timeout 300ms", took)
			}
		})
	}
}

func TestStatusSendsBasicAuth(t *testing.T) {
	var got string
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		user, pass, _ := r.BasicAuth()
		got = user + ":" + pass
		w.Write([]byte(healthyBody))
	}))
	t.Cleanup(srv.Close)
	e := agentEnv(t, srv.Listener.Addr().String())
	e["AGENTCTL_HTTP_BASIC_AUTH"] = "ops:s3:cret"
	e.agentctlAt(t, testNow, "status").ok(t)
	if got != "ops:s3:cret" {
		t.Errorf("the agent received credentials %q, want ops:s3:cret", got)
	}
}

func TestFormatAge(t *testing.T) {
	for _, c := range []struct {
		d    time.Duration
		want string
	}{
		{-time.Minute, "0s"}, // a clock behind the agent's
		{0, "0s"},
		{45*time.Second + 900*time.Millisecond, "45s"},
		{12*time.Minute + 5*time.Second, "12m5s"},
		{3*time.Hour + 2*time.Minute + 59*time.Second, "3h2m"},
		{4*24*time.Hour + 3*time.Hour + 10*time.Minute, "4d3h"},
	} {
		if got := formatAge(c.d); got != c.want {
			t.Errorf("formatAge(%v) = %q, want %q", c.d, got, c.want)
		}
	}
}
