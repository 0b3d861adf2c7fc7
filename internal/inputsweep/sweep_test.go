package inputsweep_test

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/plinth-go/plinth/agent"
	"github.com/plinth-go/plinth/agent/agenttest"
	"github.com/plinth-go/plinth/dashboard"
	"github.com/plinth-go/plinth/exec/processmanager"
	"github.com/plinth-go/plinth/exec/supervisor"
	"github.com/plinth-go/plinth/health/probe"
	"github.com/plinth-go/plinth/health/statuscheck"
	"github.com/plinth-go/plinth/infra/config"
	"github.com/plinth-go/plinth/infra/rest"
	"github.com/plinth-go/plinth/logging/logmanager"
	"github.com/plinth-go/plinth/servicelabel"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// requestTimeout bounds one request: every handler answers at once but
// GET /events, which streams until the client leaves.
const requestTimeout = 200 * time.Millisecond

// idleProgram is the one supervised program, so that program actions reach
// a real program and not only "unknown program".
const idleProgram = "idle"

// sweptAgent is a started agent with every plugin of Plinth that serves HTTP.
type sweptAgent struct {
	server  *rest.Plugin
	handler http.Handler
}

func startAgent(t testing.TB) sweptAgent {
	t.Helper()
	server := rest.NewPlugin(rest.UseConf(rest.Config{Endpoint: "127.0.0.1:0"}))
	sup := supervisor.NewPlugin(supervisor.UseConf(supervisor.Config{Programs: []supervisor.Program{
		{Name: idleProgram, ExecutablePath: "sleep", ExecutableArgs: []string{"3600"}},
	}}))
	agenttest.Start(t,
		agenttest.Env(map[string]string{config.DirEnv: t.TempDir()}),
		agent.AllPlugins(server, servicelabel.NewPlugin(), statuscheck.NewPlugin(), probe.NewPlugin(),
			logmanager.NewPlugin(), processmanager.NewPlugin(), sup, dashboard.NewPlugin()))
	if server.Addr() == nil {
		t.Fatal("the HTTP server of the agent listens on nothing")
	}
	return sweptAgent{server: server, handler: server.Handler()}
}

// answer is what the agent replied to one request.
type answer struct {
	status int
	body   string
	allow  string // the Allow header
}

// serve sends one request through the server's handler, in process.
func (a sweptAgent) serve(t testing.TB, method, target string, body []byte) answer {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), requestTimeout)
	defer cancel()
	u, err := url.ParseRequestURI(target)
	if err != nil {
		t.Fatalf("bad target %q: %v", target, err)
	}
	r := (&http.Request{
		Method: method, URL: u, RequestURI: target, Proto: "HTTP/1.1", ProtoMajor: 1, ProtoMinor: 1,
		Header: http.Header{}, Host: "agent", RemoteAddr: "127.0.0.1:1234",
		Body: io.NopCloser(bytes.NewReader(body)), ContentLength: int64(len(body)),
	}).WithContext(ctx)
	w := httptest.NewRecorder()
	a.handler.ServeHTTP(w, r)
	return answer{status: w.Code, body: w.Body.String(), allow: w.Header().Get("Allow")}
}

// serveSocket sends one request to the agent's listening socket.
func (a sweptAgent) serveSocket(t testing.TB, method, target string, body []byte) answer {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), requestTimeout)
	defer cancel()
	r, err := http.NewRequestWithContext(ctx, method, "http://"+a.server.Addr().String()+target, bytes.NewReader(body))
	if err != nil {
		t.Fatalf("NewRequest %s %s: %v", method, target, err)
	}
	c := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	defer c.CloseIdleConnections()
	resp, err := c.Do(r)
	if err != nil {
		t.Fatalf("%s %s: %v", method, target, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil && !strings.HasPrefix(target, dashboard.EventsPath) {
		t.Fatalf("%s %s: read body: %v", method, target, err)
	}
	return answer{status: resp.StatusCode, body: string(b), allow: resp.Header.Get("Allow")}
}

// servedRoots are the first path segments some plugin serves; the answer to
// any other path must be 404.
var servedRoots = map[string]bool{
	"liveness": true, "readiness": true, "metrics": true, "log": true, "process": true,
	"supervisor": true, "ui": true, "events": true,
}

// check applies the rules of the package doc to one answer.
func check(t testing.TB, method, target string, got answer) {
	t.Helper()
	path, _, _ := strings.Cut(target, "?")
	switch {
	case got.status >= 500 && !documented5xx(path, got.status):
		t.Errorf("%s %q: %d %q, want no 5xx", method, target, got.status, got.body)
	case got.status >= 400 && got.status < 500 && method != http.MethodHead && strings.TrimSpace(got.body) == "":
		t.Errorf("%s %q: %d with an empty body, want a body saying what was wrong", method, target, got.status)
	case got.status == http.StatusMethodNotAllowed && got.allow == "":
		t.Errorf("%s %q: 405 without an Allow header", method, target)
	case got.status >= 300 && got.status < 400:
		// The router redirects unclean paths ("//x", "/a/../b") to their
		// clean form, whatever they name.
	case !servedRoots[firstSegment(path)] && got.status != http.StatusNotFound:
		t.Errorf("%s %q: %d %q, want 404 for a path no plugin serves", method, target, got.status, got.body)
	}
}

// documented5xx reports whether a 5xx is one the plugins document: the
// probes (and the dashboard's status stream) answer 503 once a plugin is in
// ERROR, which the environment or a request of the sweep may cause.
func documented5xx(path string, status int) bool {
	return status == http.StatusServiceUnavailable &&
		(path == probe.LivenessPath || path == probe.ReadinessPath || path == dashboard.EventsPath)
}

func firstSegment(path string) string {
	seg, _, _ := strings.Cut(strings.TrimPrefix(path, "/"), "/")
	return seg
}

// badRequests are requests a client may get wrong, with the status each must
// get.
var badRequests = []struct {
	name, method, target, body string
	want                       int
}{
	{"root", http.MethodGet, "/", "", http.StatusNotFound},
	{"unknown path", http.MethodGet, "/nope", "", http.StatusNotFound},
	{"unknown nested path", http.MethodPost, "/api/v1/../../etc/passwd", "x", http.StatusMovedPermanently},
	{"log name with NUL", http.MethodPost, "/log/%00/debug", "", http.StatusBadRequest},
	{"liveness with DELETE", http.MethodDelete, probe.LivenessPath, "", http.StatusMethodNotAllowed},
	{"readiness with POST", http.MethodPost, probe.ReadinessPath, "{}", http.StatusMethodNotAllowed},
	{"metrics with PUT", http.MethodPut, probe.MetricsPath, "", http.StatusMethodNotAllowed},
	{"liveness with a body and a query", http.MethodGet, probe.LivenessPath + "?x=%zz&y", "\x00\xff", http.StatusOK},
	{"log list with POST", http.MethodPost, logmanager.ListPath, "", http.StatusMethodNotAllowed},
	{"log level unknown", http.MethodPost, "/log/http/loud", "", http.StatusBadRequest},
	{"log level empty", http.MethodPut, "/log/http/%20", "", http.StatusBadRequest},
	{"log name with a space", http.MethodPost, "/log/a%20b/debug", "", http.StatusBadRequest},
	{"log name not UTF-8", http.MethodPost, "/log/%ff%fe/debug", "", http.StatusBadRequest},
	{"log name too long", http.MethodPost, "/log/" + strings.Repeat("a", 10000) + "/debug", "", http.StatusBadRequest},
	{"log unknown logger", http.MethodPost, "/log/no-such-logger/debug", "", http.StatusNotFound},
	{"log level with GET", http.MethodGet, "/log/http/debug", "", http.StatusMethodNotAllowed},
	{"process unknown", http.MethodGet, "/process/nope", "", http.StatusNotFound},
	{"process list with DELETE", http.MethodDelete, processmanager.ListPath, "", http.StatusMethodNotAllowed},
	{"process start unknown", http.MethodPost, "/process/nope/start", "", http.StatusNotFound},
	{"process start with GET", http.MethodGet, "/process/nope/start", "", http.StatusMethodNotAllowed},
	{"process unknown action", http.MethodPost, "/process/nope/jump", "", http.StatusNotFound},
	{"supervised process stopped behind the supervisor", http.MethodPost, "/process/" + idleProgram + "/stop", "", http.StatusConflict},
	{"programs with POST", http.MethodPost, supervisor.ProgramsPath, "[]", http.StatusMethodNotAllowed},
	{"program unknown action", http.MethodPost, supervisor.ProgramsPath + "/" + idleProgram + "/jump", "", http.StatusBadRequest},
	{"program unknown", http.MethodPost, supervisor.ProgramsPath + "/nope/stop", "", http.StatusNotFound},
	{"program action with GET", http.MethodGet, supervisor.ProgramsPath + "/" + idleProgram + "/stop", "", http.StatusMethodNotAllowed},
	{"dashboard program unknown action", http.MethodPost, "/ui/api/programs/" + idleProgram + "/jump", "", http.StatusBadRequest},
	{"dashboard program unknown", http.MethodPost, "/ui/api/programs/nope/start", "", http.StatusNotFound},
	{"dashboard unknown file", http.MethodGet, "/ui/nope.js", "", http.StatusNotFound},
	{"dashboard file not UTF-8", http.MethodHead, "/ui/%eb", "", http.StatusNotFound},
	{"dashboard panels with DELETE", http.MethodDelete, dashboard.PanelsPath, "", http.StatusMethodNotAllowed},
	{"dashboard status keys without a store", http.MethodGet, dashboard.StatusKeysPath, "", http.StatusNotFound},
	{"events with PATCH", http.MethodPatch, dashboard.EventsPath, "{", http.StatusMethodNotAllowed},
	{"unknown method", "BREW", probe.LivenessPath, "", http.StatusMethodNotAllowed},
}

// TestBadRequests sends each bad request in process and over the socket and
// checks the status and the rules of the package doc.
func TestBadRequests(t *testing.T) {
	a := startAgent(t)
	for _, transport := range []struct {
		name string
		send func(testing.TB, string, string, []byte) answer
	}{{"in process", a.serve}, {"socket", a.serveSocket}} {
		t.Run(transport.name, func(t *testing.T) {
			for _, tc := range badRequests {
				got := transport.send(t, tc.method, tc.target, []byte(tc.body))
				if got.status != tc.want {
					t.Errorf("%s: %s %.80q = %d %.200q, want %d", tc.name, tc.method, tc.target, got.status, got.body, tc.want)
				}
				check(t, tc.method, tc.target, got)
			}
		})
	}
}

// FuzzRESTSweep sends random methods, paths, queries and bodies to the agent
// and checks the rules of the package doc. Requests the HTTP server rejects
// before any handler sees them (a method that is not a token, a target
// that is not a path) are skipped.
func FuzzRESTSweep(f *testing.F) {
	for _, tc := range badRequests {
		f.Add(tc.method, tc.target, []byte(tc.body))
	}
	f.Add(http.MethodGet, logmanager.ListPath, []byte(nil))
	f.Add(http.MethodPost, supervisor.ProgramsPath+"/"+idleProgram+"/restart", []byte(nil))
	f.Add(http.MethodPost, "/process/"+idleProgram+"/stop", []byte("{}"))
	f.Add(http.MethodHead, dashboard.UIPath, []byte(nil))
	f.Add(http.MethodGet, dashboard.PanelsPath+"?panel=%ff", []byte(nil))
	a := startAgent(f)
	f.Fuzz(func(t *testing.T, method, target string, body []byte) {
		if !isToken(method) || !strings.HasPrefix(target, "/") || len(target) > 1<<16 {
			return
		}
		if _, err := url.ParseRequestURI(target); err != nil {
			return
		}
		check(t, method, target, a.serve(t, method, target, body))
	})
}

// isToken reports whether s is an HTTP token, as a method must be.
func isToken(s string) bool {
	if s == "" {
		return false
	}
	for _, c := range []byte(s) {
		if c <= ' ' || c >= 0x7f || strings.IndexByte(`"(),/:;<=>?@[\]{}`, c) >= 0 {
			return false
		}
	}
	return true
}
