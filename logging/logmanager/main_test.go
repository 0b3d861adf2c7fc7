package logmanager_test

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"sync"
	"testing"

	"go.uber.org/goleak"

	"github.com/plinth-go/plinth/agent"
	"github.com/plinth-go/plinth/agent/agenttest"
	"github.com/plinth-go/plinth/infra/rest"
	"github.com/plinth-go/plinth/logging"
	"github.com/plinth-go/plinth/logging/logmanager"
	"github.com/plinth-go/plinth/servicelabel"
)

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}

// syncBuffer is a bytes.Buffer that tests may read while loggers write.
type syncBuffer struct {
	mu  sync.Mutex // guards buf
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// testAgent is a started agent with the log manager, an HTTP server on a
// free loopback port and the service label "test1".
type testAgent struct {
	logs *logmanager.Plugin
	http *rest.Plugin
	reg  *logging.Registry
	out  *syncBuffer
}

type agentSetup struct {
	conf string            // content of logs.conf; none if empty
	env  map[string]string // added to LOGS_CONFIG
	opts []logmanager.Option
	// discard drops the agent's output instead of keeping it in
	// testAgent.out, for benchmarks.
	discard bool
}

func newTestAgent(t testing.TB, s agentSetup) (*agent.Agent, *testAgent) {
	t.Helper()
	env := map[string]string{}
	if s.conf != "" {
		env["LOGS_CONFIG"] = writeConf(t, s.conf)
	}
	for k, v := range s.env {
		env[k] = v
	}
	out := &syncBuffer{}
	var w io.Writer = out
	if s.discard {
		w = io.Discard
	}
	ta := &testAgent{
		logs: logmanager.NewPlugin(s.opts...),
		http: rest.NewPlugin(rest.UseConf(rest.Config{Endpoint: "127.0.0.1:0"})),
		reg:  logging.NewRegistry(logging.WithOutput(w), logging.WithoutTimestamps()),
		out:  out,
	}
	a := agenttest.New(t,
		agent.AllPlugins(ta.http, servicelabel.NewPlugin(servicelabel.UseLabel("test1")), ta.logs),
		agent.Logs(ta.reg),
		agenttest.Env(env))
	return a, ta
}

func startTestAgent(t testing.TB, s agentSetup) *testAgent {
	t.Helper()
	a, ta := newTestAgent(t, s)
	agenttest.RequireStart(t, a)
	return ta
}

func writeConf(t testing.TB, content string) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "logs.conf")
	if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

func (ta *testAgent) url(path string) string { return "http://" + ta.http.Addr().String() + path }

// call sends a request and returns the status and the body, which must be
// JSON.
func (ta *testAgent) call(t testing.TB, method, path string) (int, string) {
	t.Helper()
	req, err := http.NewRequestWithContext(t.Context(), method, ta.url(path), nil)
	if err != nil {
		t.Fatal(err)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	if ct := resp.Header.Get("Content-Type"); resp.StatusCode != http.StatusMethodNotAllowed && ct != "application/json" {
		t.Errorf("%s %s: Content-Type %q, want application/json", method, path, ct)
	}
	if resp.StatusCode != http.StatusMethodNotAllowed && !json.Valid(body) {
		t.Errorf("%s %s: body %q is not JSON", method, path, body)
	}
	return resp.StatusCode, string(bytes.TrimSpace(body))
}

// levelOf returns the effective level of the logger name, creating it.
func (ta *testAgent) levelOf(name string) string { return ta.reg.Get(name).Level().String() }
