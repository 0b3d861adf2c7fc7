package rest_test

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/plinth-go/plinth/infra/rest"
)

func TestBasicAuthGuardsEverythingButProbes(t *testing.T) {
	var logs syncBuffer
	p, err := newPlugin(t, sources{
		file: "endpoint: 127.0.0.1:0\nbasic-auth: ['ops:s3cret-pass', 'viewer:with:colons']\n",
		logs: &logs,
	})
	if err != nil {
		t.Fatalf("Init() = %v", err)
	}
	if err := p.AfterInit(); err != nil {
		t.Fatalf("AfterInit() = %v", err)
	}
	for _, path := range []string{"/liveness", "/readiness", "/log/list"} {
		p.RegisterHTTPHandler(path, text("ok"), http.MethodGet)
	}

	c := newClient(t, nil)
	tests := []struct {
		name       string
		path       string
		user, pass string // user "" sends no credentials
		wantStatus int
	}{
		{name: "no credentials", path: "/log/list", wantStatus: 401},
		{name: "right credentials", path: "/log/list", user: "ops", pass: "s3cret-pass", wantStatus: 200},
		{name: "password with colons", path: "/log/list", user: "viewer", pass: "with:colons", wantStatus: 200},
		{name: "wrong password", path: "/log/list", user: "ops", pass: "s3cret-pas", wantStatus: 401},
		{name: "password of another user", path: "/log/list", user: "ops", pass: "with:colons", wantStatus: 401},
		{name: "unknown user", path: "/log/list", user: "root", pass: "s3cret-pass", wantStatus: 401},
		{name: "empty user", path: "/log/list", user: "", pass: "s3cret-pass", wantStatus: 401},
		{name: "unknown path needs credentials too", path: "/nope", wantStatus: 401},
		{name: "liveness is open", path: "/liveness", wantStatus: 200},
		{name: "readiness is open", path: "/readiness", wantStatus: 200},
		{name: "only the exact probe paths are open", path: "/liveness/x", wantStatus: 401},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			req, err := http.NewRequest("GET", baseURL(p)+tt.path, nil)
			if err != nil {
				t.Fatal(err)
			}
			if tt.user != "" || tt.pass != "" {
				req.SetBasicAuth(tt.user, tt.pass)
			}
			resp, err := c.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			if resp.StatusCode != tt.wantStatus {
				t.Errorf("GET %s = %d, want %d", tt.path, resp.StatusCode, tt.wantStatus)
			}
			if got := resp.Header.Get("WWW-Authenticate"); resp.StatusCode == 401 && !strings.HasPrefix(got, "Basic realm=") {
				t.Errorf("WWW-Authenticate = %q, want a Basic challenge", got)
			}
		})
	}
	if out := logs.String(); strings.Contains(out, "s3cret") || strings.Contains(out, "with:colons") {
		t.Errorf("logs contain a password:\n%s", out)
	}
}

func TestBasicAuthAppliesToTheInProcessHandler(t *testing.T) {
	p, err := newPlugin(t, sources{opts: []rest.Option{rest.UseConf(rest.Config{BasicAuth: []string{"ops:pw"}})}})
	if err != nil {
		t.Fatal(err)
	}
	p.RegisterHTTPHandler("/x", text("x"))
	w := httptest.NewRecorder()
	p.Handler().ServeHTTP(w, httptest.NewRequest("GET", "/x", nil))
	if w.Code != http.StatusUnauthorized {
		t.Errorf("GET /x without credentials = %d, want 401", w.Code)
	}
	r := httptest.NewRequest("GET", "/x", nil)
	r.SetBasicAuth("ops", "pw")
	w = httptest.NewRecorder()
	p.Handler().ServeHTTP(w, r)
	if w.Code != http.StatusOK {
		t.Errorf("GET /x with credentials = %d, want 200", w.Code)
	}
}

func contains(err error, s string) bool { return err != nil && strings.Contains(err.Error(), s) }
