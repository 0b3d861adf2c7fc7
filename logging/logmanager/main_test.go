package logmanager_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
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
	logs   *logmanager.Plugin
	http   *rest.Plugin
	reg    *logging.Registry
	out    *syncBuffer
	client *http.Client
}

// newClient returns the client of a test agent. It opens a connection per
// request: with keep-alives, concurrent requests make the transport dial
// connections it may never use, and the server's graceful shutdown counts
// such a connection as active for its first 5 seconds (net/http treats a
// connection that has sent nothing as idle only after that), so the agent's
// Stop would fail at the HTTP plugin's 5s shutdown timeout.
func newClient() *http.Client {
	return &http.Client{Transport: &http.Transport{DisableKeepAlives: true}}
}

type agentSetup struct {
	conf string            // content of logs.conf; none if empty
	env  map[string]string // added to LOGS_CONFIG
	opts []logmanager.Option
	// agentOpts are added to the agent's options.
	agentOpts []agent.Option
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
		logs:   logmanager.NewPlugin(s.opts...),
		http:   rest.NewPlugin(rest.UseConf(rest.Config{Endpoint: "127.0.0.1:0"})),
		reg:    logging.NewRegistry(logging.WithOutput(w), logging.WithoutTimestamps()),
		out:    out,
		client: newClient(),
	}
	a := agenttest.New(t, append([]agent.Option{
		agent.AllPlugins(ta.http, servicelabel.NewPlugin(servicelabel.UseLabel("test1")), ta.logs),
		agent.Logs(ta.reg),
		agenttest.Env(env),
	}, s.agentOpts...)...)
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
	code, body, err := ta.do(t.Context(), method, path)
	if err != nil {
		t.Fatal(err)
	}
	return code, body
}

// do sends a request and returns the status and the body. Unlike call it
// returns its errors, so that goroutines other than the test's may use it;
// a body that is not JSON, or a Content-Type other than application/json,
// is an error except for 405 answers.
func (ta *testAgent) do(ctx context.Context, method, path string) (int, string, error) {
	req, err := http.NewRequestWithContext(ctx, method, ta.url(path), nil)
	if err != nil {
		return 0, "", err
	}
	resp, err := ta.client.Do(req)
	if err != nil {
		return 0, "", err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		return 0, "", fmt.Errorf("%s %s: read body: %w", method, path, err)
	}
	if resp.StatusCode != http.StatusMethodNotAllowed {
		if ct := resp.Header.Get("Content-Type"); ct != "application/json" {
			return 0, "", fmt.Errorf("%s %s: Content-Type %q, want application/json", method, path, ct)
		}
		if !json.Valid(body) {
			return 0, "", fmt.Errorf("%s %s: body %q is not JSON", method, path, body)
		}
	}
	return resp.StatusCode, string(bytes.TrimSpace(body)), nil
}

// levelOf returns the effective level of the logger name, creating it.
func (ta *testAgent) levelOf(name string) string { return ta.reg.Get(name).Level().String() }
