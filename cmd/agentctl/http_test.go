package main

import (
	"context"
	"errors"
	"net"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"
	"time"
)

// agentFor returns options pointing at srv, as the flags would.
func agentFor(t *testing.T, srv *httptest.Server, auth string, timeout time.Duration) *agentClient {
	t.Helper()
	host, port, err := net.SplitHostPort(strings.TrimPrefix(srv.URL, "http://"))
	if err != nil {
		t.Fatal(err)
	}
	p, _ := strconv.Atoi(port)
	g := &globalOptions{host: host, httpPort: p, basicAuth: auth, timeout: timeout}
	return g.agentClient()
}

func TestAgentClientSendsBasicAuthAndDecodesJSON(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		user, pass, ok := r.BasicAuth()
		if !ok || user != "ops" || pass != "with:colon" {
			http.Error(w, "unauthorized", http.StatusUnauthorized)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		w.Write([]byte(`[{"logger":"agent","level":"info"}]`))
	}))
	defer srv.Close()

	var got []struct{ Logger, Level string }
	if err := agentFor(t, srv, "ops:with:colon", time.Second).getJSON(t.Context(), "/log/list", &got); err != nil {
		t.Fatalf("getJSON: %v", err)
	}
	if len(got) != 1 || got[0].Logger != "agent" || got[0].Level != "info" {
		t.Errorf("getJSON decoded %+v", got)
	}

	err := agentFor(t, srv, "", time.Second).getJSON(t.Context(), "/log/list", &got)
	if err == nil || !strings.Contains(err.Error(), "401 Unauthorized: unauthorized") {
		t.Errorf("getJSON without credentials = %v, want the 401 and the body", err)
	}
	if exitCode(err) != exitError {
		t.Errorf("exit code for a 401 = %d, want %d", exitCode(err), exitError)
	}
}

func TestAgentClientHonoursTimeout(t *testing.T) {
	release := make(chan struct{})
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-release:
		case <-r.Context().Done():
		}
	}))
	defer srv.Close()
	defer close(release)

	begin := time.Now()
	_, err := agentFor(t, srv, "", 200*time.Millisecond).do(t.Context(), http.MethodGet, "/readiness", nil)
	var unavailable unavailableError
	if !errors.As(err, &unavailable) || !strings.Contains(err.Error(), "within 200ms") {
		t.Errorf("do against a hanging agent = %v, want unavailableError naming the timeout", err)
	}
	if took := time.Since(begin); took > 2*time.Second {
		t.Errorf("do took %v with a 200ms timeout", took)
	}
}

func TestAgentClientUnreachable(t *testing.T) {
	g := &globalOptions{host: "127.0.0.1", httpPort: 1, timeout: time.Second}
	_, err := g.agentClient().do(t.Context(), http.MethodGet, "/readiness", nil)
	if want := "cannot reach the agent at http://127.0.0.1:1: connection refused"; exitCode(err) != exitUnavailable || err.Error() != want {
		t.Errorf("do against a closed port = %v (exit %d), want unavailable: %s", err, exitCode(err), want)
	}
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	if _, err := g.agentClient().do(ctx, http.MethodGet, "/x", nil); !errors.Is(err, context.Canceled) {
		t.Errorf("do with a cancelled context = %v, want context.Canceled", err)
	}
}
