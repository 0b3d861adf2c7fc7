package main

import (
	"io"
	"net/http"
	"os"
	"path/filepath"
	"testing"

	"go.uber.org/goleak"

	"github.com/plinth-go/plinth/agent"
	"github.com/plinth-go/plinth/logging"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

func TestHelloOverHTTP(t *testing.T) {
	tests := []struct {
		name string
		args []string
		want string
	}{
		{"defaults", []string{"-http-port=0", "-config-dir", t.TempDir()}, "Hello, operator. (from agent vpp1)\n"},
		{"config file and label flag", []string{"-http-port=0", "-config-dir", ".", "-microservice-label=edge7"}, "Good morning, operator! (from agent edge7)\n"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			a, srv, err := newAgent(agent.Args(tt.args...), agent.QuitSignals(),
				agent.Logs(logging.NewRegistry(logging.WithOutput(io.Discard))),
				agent.Getenv(func(string) string { return "" }))
			if err != nil {
				t.Fatal(err)
			}
			if err := a.Start(); err != nil {
				t.Fatal(err)
			}
			defer a.Stop()
			resp, err := http.Get("http://" + srv.Addr().String() + "/hello?name=operator")
			if err != nil {
				t.Fatal(err)
			}
			body, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if resp.StatusCode != http.StatusOK || string(body) != tt.want {
				t.Errorf("GET /hello = %d %q, want 200 %q", resp.StatusCode, body, tt.want)
			}
		})
	}
}

func TestSampleConfigIsValid(t *testing.T) {
	if _, err := os.Stat(filepath.Join(".", "greeter.conf")); err != nil {
		t.Fatal(err)
	}
	g := NewGreeter()
	a, err := agent.New(agent.AllPlugins(g), agent.Args("-config-dir", "."),
		agent.Logs(logging.NewRegistry(logging.WithOutput(io.Discard))))
	if err != nil {
		t.Fatal(err)
	}
	if err := a.Start(); err != nil {
		t.Fatal(err)
	}
	defer a.Stop()
	if got := g.Greet("x"); got != "Good morning, x!" {
		t.Errorf("Greet() = %q", got)
	}
}
