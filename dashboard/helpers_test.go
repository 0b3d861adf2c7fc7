package dashboard_test

import (
	"bufio"
	"context"
	"encoding/json"
	"io"
	"maps"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/plinth-go/plinth/agent"
	"github.com/plinth-go/plinth/agent/agenttest"
	"github.com/plinth-go/plinth/health/statuscheck"
	"github.com/plinth-go/plinth/infra"
	"github.com/plinth-go/plinth/infra/rest"
	"github.com/plinth-go/plinth/internal/testwait"
)

// waitBound bounds every wait for something that should happen soon; it
// orders nothing.
const waitBound = 20 * time.Second

// reporter is a plugin, with a logger of its name, that reports its state
// to the status check.
type reporter struct {
	infra.PluginDeps
	Status statuscheck.PluginStatusWriter `plinth:"optional,unordered"`
}

func newReporter(name string) *reporter {
	r := &reporter{}
	r.SetName(name)
	return r
}

func (r *reporter) Init() error {
	if r.Status != nil {
		return r.Status.ReportStateChange(r.String(), statuscheck.StateOK, nil)
	}
	return nil
}

// server is a started agent with an HTTP server on a free loopback port.
type server struct {
	t    testing.TB
	a    *agent.Agent
	base string
	user string
	pass string
	http *rest.Plugin
}

func startServer(t testing.TB, cfg rest.Config, plugins ...infra.Plugin) *server {
	t.Helper()
	return startServerWith(t, setup{http: cfg}, plugins...)
}

// setup is how startServerWith builds the agent.
type setup struct {
	http rest.Config
	// env is added to the agent's environment, which has
	// MICROSERVICE_LABEL=dash1.
	env map[string]string
	// noVersion leaves the agent without agent.Version: the build is then
	// what the status check finds.
	noVersion bool
}

func startServerWith(t testing.TB, st setup, plugins ...infra.Plugin) *server {
	t.Helper()
	cfg := st.http
	cfg.Endpoint = "127.0.0.1:0"
	h := rest.NewPlugin(rest.UseConf(cfg))
	env := map[string]string{"MICROSERVICE_LABEL": "dash1"}
	maps.Copy(env, st.env)
	opts := []agent.Option{agent.AllPlugins(append([]infra.Plugin{h}, plugins...)...),
		agent.Name("test-agent"), agenttest.Env(env)}
	if !st.noVersion {
		opts = append(opts, agent.Version("1.2.3", "2025-01-02", "abc123"))
	}
	a := agenttest.Start(t, opts...)
	return &server{t: t, a: a, base: "http://" + h.Addr().String(), http: h}
}

func (s *server) do(method, path string) (int, http.Header, []byte) {
	s.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), waitBound)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, method, s.base+path, nil)
	if err != nil {
		s.t.Fatal(err)
	}
	if s.user != "" {
		req.SetBasicAuth(s.user, s.pass)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		s.t.Fatalf("%s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		s.t.Fatalf("%s %s: reading the body: %v", method, path, err)
	}
	return resp.StatusCode, resp.Header, body
}

// json does a request and decodes its JSON answer into v.
func (s *server) json(method, path string, v any) int {
	s.t.Helper()
	code, h, body := s.do(method, path)
	if ct := h.Get("Content-Type"); ct != "application/json" {
		s.t.Errorf("%s %s: Content-Type %q, want application/json", method, path, ct)
	}
	if err := json.Unmarshal(body, v); err != nil {
		s.t.Fatalf("%s %s: %v in %q", method, path, err, body)
	}
	return code
}

// sse reads a text/event-stream.
type sse struct {
	t      testing.TB
	resp   *http.Response
	cancel context.CancelFunc
	lines  chan string
}

func (s *server) events(ctx context.Context) *sse {
	s.t.Helper()
	ctx, cancel := context.WithCancel(ctx)
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, s.base+"/events", nil)
	if s.user != "" {
		req.SetBasicAuth(s.user, s.pass)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		cancel()
		s.t.Fatalf("GET /events: %v", err)
	}
	if resp.StatusCode != http.StatusOK || !strings.HasPrefix(resp.Header.Get("Content-Type"), "text/event-stream") {
		cancel()
		resp.Body.Close()
		s.t.Fatalf("GET /events: %d %q, want 200 text/event-stream", resp.StatusCode, resp.Header.Get("Content-Type"))
	}
	e := &sse{t: s.t, resp: resp, cancel: cancel, lines: make(chan string)}
	go func() {
		defer close(e.lines)
		sc := bufio.NewScanner(resp.Body)
		sc.Buffer(make([]byte, 64<<10), 1<<20)
		for sc.Scan() {
			select {
			case e.lines <- sc.Text():
			case <-ctx.Done():
				return
			}
		}
	}()
	return e
}

// close ends the stream from the client side and waits for the reader.
func (e *sse) close() {
	e.cancel()
	for range e.lines {
	}
	e.resp.Body.Close()
}

// next returns the next event or comment block: its lines up to the blank
// line that ends it. ok is false when the stream ended.
func (e *sse) next() (block []string, ok bool) {
	e.t.Helper()
	timeout := time.NewTimer(waitBound)
	defer timeout.Stop()
	for {
		select {
		case l, open := <-e.lines:
			if !open {
				return block, false
			}
			if l == "" {
				if len(block) > 0 {
					return block, true
				}
				continue
			}
			block = append(block, l)
		case <-timeout.C:
			e.t.Fatalf("no event within %v (got %q so far)", waitBound, block)
		}
	}
}

// nextStatus returns the data of the next "status" event, skipping
// comments.
func (e *sse) nextStatus() map[string]any {
	e.t.Helper()
	for {
		block, ok := e.next()
		if !ok {
			e.t.Fatal("the stream ended")
		}
		var isStatus bool
		var data string
		for _, l := range block {
			switch {
			case l == "event: status":
				isStatus = true
			case strings.HasPrefix(l, "data: "):
				data = strings.TrimPrefix(l, "data: ")
			}
		}
		if !isStatus {
			continue
		}
		var v map[string]any
		if err := json.Unmarshal([]byte(data), &v); err != nil {
			e.t.Fatalf("event data %q: %v", data, err)
		}
		return v
	}
}

// pluginState returns the state number of plugin name in an agent status.
func pluginState(st map[string]any, name string) (state float64, errText string, found bool) {
	ps, _ := st["plugins"].([]any)
	for _, p := range ps {
		m, _ := p.(map[string]any)
		if m["name"] == name {
			e, _ := m["error"].(string)
			s, _ := m["state"].(float64)
			return s, e, true
		}
	}
	return 0, "", false
}

// eventually polls cond until it holds or waitBound passes.
func eventually(t testing.TB, what string, cond func() bool) {
	t.Helper()
	testwait.For(t, waitBound, what, func() (bool, string) { return cond(), "" })
}
