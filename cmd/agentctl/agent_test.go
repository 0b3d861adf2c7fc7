package main

import (
	"bytes"
	"encoding/json"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"
)

// testNow is the clock of the agent commands in these tests: 3723s (1h2m3s)
// after the start time of the fake agents.
var testNow = time.Unix(1_700_003_723, 0)

const testStart = 1_700_000_000

// deadAgent is an address where no agent listens: port 1 is privileged and
// unused, unlike a port freed by a test, which another process may take.
const deadAgent = "127.0.0.1:1"

// agentEnv points agentctl at an HTTP server, as AGENTCTL_HOST and
// AGENTCTL_HTTP_PORT would.
func agentEnv(t *testing.T, addr string) env {
	t.Helper()
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		t.Fatal(err)
	}
	return env{"AGENTCTL_HOST": host, "AGENTCTL_HTTP_PORT": port}
}

// agentctlAt runs agentctl with its clock stopped at now.
func (e env) agentctlAt(t *testing.T, now time.Time, args ...string) result {
	t.Helper()
	var stdout, stderr bytes.Buffer
	g := &globalOptions{
		now:    func() time.Time { return now },
		getenv: func(k string) string { return e[k] },
		stdin:  strings.NewReader(""),
		stdout: &stdout,
		stderr: &stderr,
	}
	code := g.execute(t.Context(), args)
	return result{code: code, stdout: stdout.String(), stderr: stderr.String()}
}

// request is what the fake agent received.
type request struct {
	method, path, rawPath string
	body                  string
	user, password        string
}

// fakeAgent serves /readiness and the log manager's paths the way a Plinth
// agent does, from fields the test sets.
type fakeAgent struct {
	readyCode int    // answer of /readiness
	readyBody string // body of /readiness
	auth      string // user:pass required on /log/ paths, if set
	// putOnly makes /log/{logger}/{level} answer 405 to anything but PUT,
	// as cn-infra agents did.
	putOnly bool

	mu       sync.Mutex
	levels   map[string]string // guarded by mu
	requests []request         // guarded by mu
}

const healthyBody = `{"build_version":"v1.4.0","build_date":"2025-01-02","commit_hash":"1a2b3c",` +
	`"state":1,"start_time":1700000000,"last_change":1700000010,"last_update":1700000010,"plugins":[` +
	`{"name":"etcd","state":1,"last_change":1700003600,"last_update":1700003600},` +
	`{"name":"http","state":1,"last_change":1700000005,"last_update":1700000005}]}`

const unhealthyBody = `{"build_version":"v1.4.0","state":2,"start_time":1700000000,"last_change":1700003700,"plugins":[` +
	`{"name":"etcd","state":2,"last_change":1700003700,"error":"dial tcp 10.0.0.9:2379:\nconnection refused"},` +
	`{"name":"http","state":1,"last_change":1700000005},` +
	`{"name":"kafka","state":2,"last_change":1700003000,"error":"no brokers"}],` +
	`"non_fatal_plugins":["kafka"]}`

func newFakeAgent(t *testing.T, f *fakeAgent) *httptest.Server {
	t.Helper()
	if f.levels == nil {
		f.levels = map[string]string{"agent": "info", "etcd": "warning", "etcd.watch": "warning", "http": "info"}
	}
	srv := httptest.NewServer(f)
	t.Cleanup(srv.Close)
	return srv
}

func (f *fakeAgent) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	body := new(bytes.Buffer)
	body.ReadFrom(r.Body)
	user, pass, _ := r.BasicAuth()
	f.mu.Lock()
	defer f.mu.Unlock()
	f.requests = append(f.requests, request{r.Method, r.URL.Path, r.URL.RawPath, body.String(), user, pass})

	writeJSON := func(code int, v any) {
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(code)
		json.NewEncoder(w).Encode(v)
	}
	if r.URL.Path == readinessPath {
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(f.readyCode)
		w.Write([]byte(f.readyBody + "\n"))
		return
	}
	if !strings.HasPrefix(r.URL.Path, "/log/") {
		http.NotFound(w, r)
		return
	}
	if f.auth != "" && user+":"+pass != f.auth {
		w.Header().Set("WWW-Authenticate", `Basic realm="agent"`)
		http.Error(w, "Unauthorized", http.StatusUnauthorized)
		return
	}
	if r.URL.Path == logListPath {
		list := []loggerLevel{}
		for name, level := range f.levels {
			list = append(list, loggerLevel{name, level}) // unsorted on purpose
		}
		writeJSON(http.StatusOK, list)
		return
	}
	logger, level, ok := strings.Cut(strings.TrimPrefix(r.URL.Path, "/log/"), "/")
	if !ok {
		http.NotFound(w, r)
		return
	}
	if f.putOnly && r.Method != http.MethodPut || r.Method != http.MethodPost && r.Method != http.MethodPut {
		w.WriteHeader(http.StatusMethodNotAllowed)
		return
	}
	switch {
	case !strings.Contains(" "+strings.Join(logLevels, " ")+" ", " "+level+" "):
		writeJSON(http.StatusBadRequest, map[string]string{"error": `logging: unknown level "` + level + `" (valid: trace, debug, info, warning (or warn), error, fatal, panic)`})
	case f.levels[logger] == "":
		writeJSON(http.StatusNotFound, map[string]string{"error": `unknown logger "` + logger + `" (GET /log/list lists them)`})
	default:
		f.levels[logger] = level
		writeJSON(http.StatusOK, loggerLevel{logger, level})
	}
}

// lastRequest returns the last request the fake agent received.
func (f *fakeAgent) lastRequest(t *testing.T) request {
	t.Helper()
	f.mu.Lock()
	defer f.mu.Unlock()
	if len(f.requests) == 0 {
		t.Fatal("the agent received no request")
	}
	return f.requests[len(f.requests)-1]
}

func (f *fakeAgent) level(name string) string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.levels[name]
}
