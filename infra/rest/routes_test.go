package rest_test

import (
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/gorilla/mux"

	"github.com/plinth-go/plinth/infra/rest"
)

func TestServesRegisteredHandlersByMethod(t *testing.T) {
	p := serve(t, rest.Config{})
	p.RegisterHTTPHandler("/hello", text("hello"), http.MethodGet)
	p.RegisterHTTPHandler("/echo", http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.Copy(w, r.Body)
	}), "post", http.MethodPut)
	p.RegisterHTTPHandler("/any", text("any"))
	p.RegisterHTTPHandler("/log/{logger}/{level}", http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		v := mux.Vars(r)
		fmt.Fprintf(w, "%s=%s", v["logger"], v["level"])
	}), http.MethodPost, http.MethodPut)

	c := newClient(t, nil)
	tests := []struct {
		name, method, path, body string
		wantStatus               int
		wantBody                 string
	}{
		{"registered method", "GET", "/hello", "", 200, "hello"},
		{"HEAD of a GET route is not implied", "HEAD", "/hello", "", 405, ""},
		{"other method", "POST", "/hello", "", 405, "405 method POST not allowed for /hello: use GET\n"},
		{"lower-case method at registration", "POST", "/echo", "ping", 200, "ping"},
		{"second method", "PUT", "/echo", "pong", 200, "pong"},
		{"missing method", "GET", "/echo", "", 405, "405 method GET not allowed for /echo: use POST, PUT\n"},
		{"all methods", "DELETE", "/any", "", 200, "any"},
		{"path variables", "POST", "/log/etcd/debug", "", 200, "etcd=debug"},
		{"unknown path", "GET", "/nope", "", 404, "404 page not found\n"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			status, body := do(t, c, tt.method, baseURL(p)+tt.path, []byte(tt.body))
			if status != tt.wantStatus || body != tt.wantBody {
				t.Errorf("%s %s = %d %q, want %d %q", tt.method, tt.path, status, body, tt.wantStatus, tt.wantBody)
			}
		})
	}
}

func TestHandlersReadPathVariablesWithPathValue(t *testing.T) {
	p := serve(t, rest.Config{})
	// show answers with the variables as both r.PathValue and mux.Vars see
	// them, so a handler may use either.
	show := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		v := mux.Vars(r)
		fmt.Fprintf(w, "logger=%q level=%q vars=%q/%q pid=%q",
			r.PathValue("logger"), r.PathValue("level"), v["logger"], v["level"], r.PathValue("pid"))
	})
	p.RegisterHTTPHandler("/log/{logger}/{level}", show, http.MethodPost)
	p.RegisterHTTPHandler("/process/{pid:[0-9]+}", show, http.MethodGet)
	p.RegisterHTTPHandler("/plain", show, http.MethodGet)

	c := newClient(t, nil)
	tests := []struct {
		name, method, path string
		header             http.Header
		wantStatus         int
		wantBody           string
	}{
		{
			name: "two variables", method: "POST", path: "/log/etcd/debug", wantStatus: 200,
			wantBody: `logger="etcd" level="debug" vars="etcd"/"debug" pid=""`,
		},
		{
			name: "escaped value", method: "POST", path: "/log/kafka%20client/info", wantStatus: 200,
			wantBody: `logger="kafka client" level="info" vars="kafka client"/"info" pid=""`,
		},
		{
			name: "variable with a pattern", method: "GET", path: "/process/4242", wantStatus: 200,
			wantBody: `logger="" level="" vars=""/"" pid="4242"`,
		},
		{
			name: "no variables", method: "GET", path: "/plain", wantStatus: 200,
			wantBody: `logger="" level="" vars=""/"" pid=""`,
		},
		{name: "value outside the pattern", method: "GET", path: "/process/abc", wantStatus: 404, wantBody: "404 page not found\n"},
		{name: "other method", method: "GET", path: "/log/etcd/debug", wantStatus: 405, wantBody: "405 method GET not allowed for /log/etcd/debug: use POST\n"},
		{
			name: "the guard still runs after routing", method: "POST", path: "/log/etcd/debug",
			header: http.Header{"Sec-Fetch-Site": {"cross-site"}, "Origin": {"http://other.example"}}, wantStatus: 403,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			req, err := http.NewRequest(tt.method, baseURL(p)+tt.path, nil)
			if err != nil {
				t.Fatal(err)
			}
			for k, v := range tt.header {
				req.Header[k] = v
			}
			resp, err := c.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			defer resp.Body.Close()
			b, err := io.ReadAll(resp.Body)
			if err != nil {
				t.Fatal(err)
			}
			if resp.StatusCode != tt.wantStatus || (tt.wantBody != "" && string(b) != tt.wantBody) {
				t.Errorf("%s %s = %d %q, want %d %q", tt.method, tt.path, resp.StatusCode, b, tt.wantStatus, tt.wantBody)
			}
			if tt.wantStatus != 200 && strings.Contains(string(b), "logger=") {
				t.Errorf("%s %s ran the handler: %q", tt.method, tt.path, b)
			}
		})
	}
}

func TestHandlersRegisteredAfterStartAreServed(t *testing.T) {
	p := serve(t, rest.Config{})
	c := newClient(t, nil)
	if status, _ := do(t, c, "GET", baseURL(p)+"/late", nil); status != http.StatusNotFound {
		t.Fatalf("GET /late before registration = %d, want 404", status)
	}
	p.RegisterHTTPHandler("/late", text("late"), http.MethodGet)
	if status, body := do(t, c, "GET", baseURL(p)+"/late", nil); status != 200 || body != "late" {
		t.Errorf("GET /late = %d %q, want 200 %q", status, body, "late")
	}
}

func TestHandlerMayRegisterAnotherHandler(t *testing.T) {
	// A handler that registers a route while it runs must not wait for
	// itself: registration never waits for in-flight requests.
	p := serve(t, rest.Config{})
	p.RegisterHTTPHandler("/add", http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		p.RegisterHTTPHandler("/added", text("added"), http.MethodGet)
		w.WriteHeader(http.StatusCreated)
	}), http.MethodPost)
	c := newClient(t, nil)
	if status, _ := do(t, c, "POST", baseURL(p)+"/add", nil); status != http.StatusCreated {
		t.Fatalf("POST /add = %d, want 201", status)
	}
	if status, body := do(t, c, "GET", baseURL(p)+"/added", nil); status != 200 || body != "added" {
		t.Errorf("GET /added = %d %q, want 200 %q", status, body, "added")
	}
}

func TestConcurrentRegistrationAndServing(t *testing.T) {
	p := serve(t, rest.Config{})
	c := newClient(t, nil)
	done := make(chan struct{})
	go func() {
		defer close(done)
		for i := range 50 {
			p.RegisterHTTPHandler(fmt.Sprintf("/r/%d", i), text("r"), http.MethodGet)
		}
	}()
	for range 20 {
		do(t, c, "GET", baseURL(p)+"/r/0", nil)
	}
	<-done
	if status, _ := do(t, c, "GET", baseURL(p)+"/r/49", nil); status != 200 {
		t.Errorf("GET /r/49 = %d, want 200", status)
	}
}

func TestWiringMistakesPanic(t *testing.T) {
	tests := []struct {
		name      string
		first     func(p *rest.Plugin)
		second    func(p *rest.Plugin)
		wantPanic []string
	}{
		{
			name:      "same path and method",
			first:     func(p *rest.Plugin) { p.RegisterHTTPHandler("/x", text("1"), "GET") },
			second:    func(p *rest.Plugin) { p.RegisterHTTPHandler("/x", text("2"), "POST", "GET") },
			wantPanic: []string{`"/x"`, "GET /x is already registered"},
		},
		{
			name:      "method case does not matter",
			first:     func(p *rest.Plugin) { p.RegisterHTTPHandler("/x", text("1"), "get") },
			second:    func(p *rest.Plugin) { p.RegisterHTTPHandler("/x", text("2"), "GET") },
			wantPanic: []string{"GET /x is already registered"},
		},
		{
			name:      "all methods after one",
			first:     func(p *rest.Plugin) { p.RegisterHTTPHandler("/x", text("1"), "PUT") },
			second:    func(p *rest.Plugin) { p.RegisterHTTPHandler("/x", text("2")) },
			wantPanic: []string{"all methods", "/x is already registered"},
		},
		{
			name:      "one method after all",
			first:     func(p *rest.Plugin) { p.RegisterHTTPHandler("/x", text("1")) },
			second:    func(p *rest.Plugin) { p.RegisterHTTPHandler("/x", text("2"), "PUT") },
			wantPanic: []string{"/x is already registered"},
		},
		{
			name:      "nil handler",
			second:    func(p *rest.Plugin) { p.RegisterHTTPHandler("/x", nil) },
			wantPanic: []string{"nil handler"},
		},
		{
			name:      "relative path",
			second:    func(p *rest.Plugin) { p.RegisterHTTPHandler("x", text("1")) },
			wantPanic: []string{`must start with "/"`},
		},
		{
			name:      "bad template",
			second:    func(p *rest.Plugin) { p.RegisterHTTPHandler("/x/{y", text("1")) },
			wantPanic: []string{`"/x/{y"`},
		},
		{
			name:      "bad method",
			second:    func(p *rest.Plugin) { p.RegisterHTTPHandler("/x", text("1"), "GET POST") },
			wantPanic: []string{`invalid method "GET POST"`},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := rest.NewPlugin()
			if tt.first != nil {
				tt.first(p)
			}
			msg := func() (msg string) {
				defer func() { msg = fmt.Sprint(recover()) }()
				tt.second(p)
				return
			}()
			for _, want := range tt.wantPanic {
				if !strings.Contains(msg, want) {
					t.Errorf("panic %q, want it to contain %q", msg, want)
				}
			}
		})
	}
}

func TestSamePathWithOtherMethodsIsFine(t *testing.T) {
	p := rest.NewPlugin()
	p.RegisterHTTPHandler("/log/{logger}/{level}", text("post"), http.MethodPost)
	p.RegisterHTTPHandler("/log/{logger}/{level}", text("put"), http.MethodPut)
	for _, m := range []string{"POST", "PUT"} {
		w := httptest.NewRecorder()
		p.Handler().ServeHTTP(w, httptest.NewRequest(m, "/log/a/debug", nil))
		if got, want := w.Body.String(), strings.ToLower(m); got != want {
			t.Errorf("%s = %q, want %q", m, got, want)
		}
	}
}
