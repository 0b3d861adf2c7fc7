package securitytest

import (
	"context"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/plinth-go/plinth/agent"
	"github.com/plinth-go/plinth/agent/agenttest"
	"github.com/plinth-go/plinth/infra/rest"
)

const httpPassword = "Hs4kP8wN2vY6qJ0tR3xE"

// requestTimeout bounds one request to the local server: far more than it
// takes even with the race detector on a busy machine, so that only a hang
// reaches it.
const requestTimeout = 30 * time.Second

// TestHTTPBasicAuthNeverLogsThePassword serves with basic authentication at
// trace level and sends right, wrong and malformed credentials, and a config
// with a malformed entry: no log record and no answer carries a password.
func TestHTTPBasicAuthNeverLogsThePassword(t *testing.T) {
	reg, logs := newTraceRegistry()
	server := rest.NewPlugin(rest.UseConf(rest.Config{Endpoint: "127.0.0.1:0", BasicAuth: []string{"ops:" + httpPassword}}))
	agenttest.Start(t, agent.Logs(reg), agent.AllPlugins(server))
	server.RegisterHTTPHandler("/secret", http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		w.Write([]byte("in"))
	}), http.MethodGet)
	server.RegisterHTTPHandler("/liveness", http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {}))
	base := "http://" + server.Addr().String()
	hc := &http.Client{Timeout: requestTimeout, Transport: &http.Transport{DisableKeepAlives: true}}

	for _, c := range []struct {
		path, user, password string
		set                  bool
		want                 int
	}{
		{"/secret", "ops", httpPassword, true, http.StatusOK},
		{"/secret", "ops", httpPassword + "x", true, http.StatusUnauthorized},
		{"/secret", "ops", httpPassword[:len(httpPassword)-1], true, http.StatusUnauthorized},
		{"/secret", "OPS", httpPassword, true, http.StatusUnauthorized},
		{"/secret", "", "", false, http.StatusUnauthorized},
		{"/secret", "ops:" + httpPassword, "", true, http.StatusUnauthorized},
		{"/liveness", "", "", false, http.StatusOK},
		{"/liveness/", "", "", false, http.StatusUnauthorized}, // only the exact probe paths are open
		{"/no-such-path", "", "", false, http.StatusUnauthorized},
	} {
		ctx, cancel := context.WithTimeout(t.Context(), requestTimeout)
		req, _ := http.NewRequestWithContext(ctx, http.MethodGet, base+c.path, nil)
		if c.set {
			req.SetBasicAuth(c.user, c.password)
		}
		resp, err := hc.Do(req)
		cancel()
		if err != nil {
			t.Fatal(err)
		}
		buf := make([]byte, 4096)
		n, _ := resp.Body.Read(buf)
		resp.Body.Close()
		if resp.StatusCode != c.want {
			t.Errorf("GET %s as %q:%q = %d, want %d", c.path, c.user, c.password, resp.StatusCode, c.want)
		}
		if resp.StatusCode == http.StatusUnauthorized && !strings.HasPrefix(resp.Header.Get("WWW-Authenticate"), "Basic") {
			t.Errorf("GET %s: 401 without a Basic challenge", c.path)
		}
		assertNoSecret(t, "the answer", string(buf[:n]), httpPassword)
	}
	assertNoSecret(t, "the log", logs.String(), httpPassword)

	// A malformed entry fails the start; the error names its position, not
	// its content.
	reg2, logs2 := newTraceRegistry()
	bad := rest.NewPlugin(rest.UseConf(rest.Config{Endpoint: "127.0.0.1:0", BasicAuth: []string{"ops:" + httpPassword, httpPassword}}))
	a := agenttest.New(t, agent.Logs(reg2), agent.AllPlugins(bad))
	err := a.Start()
	if err == nil {
		_ = a.Stop()
		t.Fatal("an agent with a basic-auth entry without a password started")
	}
	assertNoSecret(t, "the start error", err.Error(), httpPassword)
	assertNoSecret(t, "the log", logs2.String(), httpPassword)
}

// TestNoDefaultCredentials: a zero config asks for no credentials and
// grants none; basic authentication exists only when configured.
func TestNoDefaultCredentials(t *testing.T) {
	server := rest.NewPlugin(rest.UseConf(rest.Config{Endpoint: "127.0.0.1:0"}))
	agenttest.Start(t, agent.AllPlugins(server))
	server.RegisterHTTPHandler("/secret", http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if _, _, ok := r.BasicAuth(); ok {
			w.WriteHeader(http.StatusTeapot) // nothing should be checking them
		}
	}))
	hc := &http.Client{Timeout: requestTimeout, Transport: &http.Transport{DisableKeepAlives: true}}
	for _, user := range []string{"admin", "root", "plinth", "agent"} {
		for _, password := range []string{"admin", "password", "plinth", ""} {
			req, _ := http.NewRequestWithContext(t.Context(), http.MethodGet, "http://"+server.Addr().String()+"/secret", nil)
			req.SetBasicAuth(user, password)
			resp, err := hc.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			if resp.StatusCode != http.StatusTeapot {
				t.Errorf("%s:%s reached the handler with %d; the server must pass credentials through untouched", user, password, resp.StatusCode)
			}
		}
	}
	if len((rest.Config{}).BasicAuth) != 0 {
		t.Error("the zero config has basic-auth users")
	}
}
