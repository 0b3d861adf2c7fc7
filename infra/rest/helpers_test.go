package rest_test

import (
	"bytes"
	"crypto/tls"
	"flag"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/plinth-go/plinth/infra"
	"github.com/plinth-go/plinth/infra/config"
	"github.com/plinth-go/plinth/infra/rest"
	"github.com/plinth-go/plinth/logging"
)

// sources describes the config sources of one test agent.
type sources struct {
	file string            // content of http.conf; "" for no file
	env  map[string]string // environment of the agent
	args []string          // command line
	opts []rest.Option
	logs io.Writer // log output; nil discards it
}

// newPlugin wires the plugin as an agent does and runs Init. Close runs at
// the end of the test.
func newPlugin(t *testing.T, s sources) (*rest.Plugin, error) {
	t.Helper()
	// The config dir is empty unless a test says otherwise, so that the
	// sample http.conf next to the tests is not picked up.
	env := map[string]string{"CONFIG_DIR": t.TempDir()}
	for k, v := range s.env {
		env[k] = v
	}
	if s.file != "" {
		path := filepath.Join(t.TempDir(), "http.conf")
		if err := os.WriteFile(path, []byte(s.file), 0o644); err != nil {
			t.Fatal(err)
		}
		env["HTTP_CONFIG"] = path
	}
	logs := s.logs
	if logs == nil {
		logs = io.Discard
	}
	fs := flag.NewFlagSet("agent", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	src := config.NewSource(fs, func(k string) string { return env[k] })
	p := rest.NewPlugin(s.opts...)
	p.SetupDeps(infra.Host{
		Logs:   logging.NewRegistry(logging.WithOutput(logs), logging.WithDefaultLevel(logging.DebugLevel)),
		Config: src,
	})
	p.RegisterFlags(fs)
	if err := fs.Parse(s.args); err != nil {
		t.Fatalf("Parse(%q) = %v", s.args, err)
	}
	t.Cleanup(func() {
		if err := p.Close(); err != nil {
			t.Errorf("Close() = %v", err)
		}
	})
	return p, p.Init()
}

// serve starts a plugin with c set in code; an empty endpoint becomes
// 127.0.0.1:0. It fails the test if the plugin does not start.
func serve(t *testing.T, c rest.Config, opts ...rest.Option) *rest.Plugin {
	t.Helper()
	if c.Endpoint == "" {
		c.Endpoint = "127.0.0.1:0"
	}
	p, err := newPlugin(t, sources{opts: append([]rest.Option{rest.UseConf(c)}, opts...)})
	if err != nil {
		t.Fatalf("Init() = %v", err)
	}
	if err := p.AfterInit(); err != nil {
		t.Fatalf("AfterInit() = %v", err)
	}
	return p
}

// newClient returns a client with its own connections, closed at the end of
// the test so that no client goroutine outlives it.
func newClient(t *testing.T, tc *tls.Config) *http.Client {
	t.Helper()
	tr := &http.Transport{TLSClientConfig: tc}
	t.Cleanup(tr.CloseIdleConnections)
	return &http.Client{Transport: tr, Timeout: 10 * time.Second}
}

// do sends a request and returns the status and the body.
func do(t *testing.T, c *http.Client, method, url string, body []byte) (int, string) {
	t.Helper()
	req, err := http.NewRequest(method, url, bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	resp, err := c.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, url, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatalf("%s %s: read body: %v", method, url, err)
	}
	return resp.StatusCode, string(b)
}

func baseURL(p *rest.Plugin) string { return "http://" + p.Addr().String() }

// text is a handler that replies with s.
func text(s string) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, s) })
}

func itoa(n int) string { return strconv.Itoa(n) }

// syncBuffer is a bytes.Buffer safe for the concurrent writes of a logger.
type syncBuffer struct {
	mu  sync.Mutex
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
