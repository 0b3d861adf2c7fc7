package rest_test

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/plinth-go/plinth/infra/config"
	"github.com/plinth-go/plinth/infra/rest"
	"github.com/plinth-go/plinth/internal/freeport"
	"github.com/plinth-go/plinth/internal/testwait"
)

func TestZeroConfigListensOnDefaultEndpoint(t *testing.T) {
	p, err := newPlugin(t, sources{})
	if err != nil {
		t.Fatalf("Init() = %v", err)
	}
	if got := p.GetPort(); got != 9191 {
		t.Errorf("GetPort() = %d, want 9191", got)
	}
	if p.String() != "http" {
		t.Errorf("String() = %q, want %q", p.String(), "http")
	}
}

func TestPortPrecedence(t *testing.T) {
	filePort, envPort, flagPort, codePort := freeport.Port(t), freeport.Port(t), freeport.Port(t), freeport.Port(t)
	file := "endpoint: 127.0.0.1:" + itoa(filePort) + "\n"
	env := map[string]string{"HTTP_PORT": itoa(envPort)}
	flags := []string{"-http-port", itoa(flagPort)}
	code := []rest.Option{rest.UseConf(rest.Config{Endpoint: "127.0.0.1:" + itoa(codePort)})}

	tests := []struct {
		name string
		src  sources
		want int
	}{
		{name: "file", src: sources{file: file}, want: filePort},
		{name: "env replaces the port of the file", src: sources{file: file, env: env}, want: envPort},
		{name: "empty env is unset", src: sources{file: file, env: map[string]string{"HTTP_PORT": ""}}, want: filePort},
		{name: "flag beats env", src: sources{file: file, env: env, args: flags}, want: flagPort},
		{name: "flag beats file", src: sources{file: file, args: flags}, want: flagPort},
		{name: "UseConf beats everything", src: sources{file: file, env: env, args: flags, opts: code}, want: codePort},
		{name: "UseConf alone", src: sources{opts: code}, want: codePort},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p, err := newPlugin(t, tt.src)
			if err != nil {
				t.Fatalf("Init() = %v", err)
			}
			if got := p.GetPort(); got != tt.want {
				t.Errorf("GetPort() before AfterInit = %d, want %d", got, tt.want)
			}
			if err := p.AfterInit(); err != nil {
				t.Fatalf("AfterInit() = %v", err)
			}
			// The host of the endpoint is kept whatever sets the port.
			if got, want := p.Addr().String(), "127.0.0.1:"+itoa(tt.want); got != want {
				t.Errorf("Addr() = %s, want %s", got, want)
			}
			p.RegisterHTTPHandler("/ping", text("pong"), http.MethodGet)
			if status, body := do(t, newClient(t, nil), "GET", baseURL(p)+"/ping", nil); status != 200 || body != "pong" {
				t.Errorf("GET /ping = %d %q, want 200 pong", status, body)
			}
		})
	}
}

func TestPortOverridesKeepDefaultHost(t *testing.T) {
	for _, tt := range []struct {
		name string
		src  sources
	}{
		{"env", sources{env: map[string]string{"HTTP_PORT": "9292"}}},
		{"flag", sources{args: []string{"-http-port=9292"}}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			p, err := newPlugin(t, tt.src)
			if err != nil {
				t.Fatalf("Init() = %v", err)
			}
			if got := p.GetPort(); got != 9292 {
				t.Errorf("GetPort() = %d, want 9292", got)
			}
		})
	}
}

func TestUseConfIgnoresPortOverridesWithWarning(t *testing.T) {
	var logs syncBuffer
	_, err := newPlugin(t, sources{
		args: []string{"-http-port", "1234"},
		opts: []rest.Option{rest.UseConf(rest.Config{Endpoint: "127.0.0.1:0"})},
		logs: &logs,
	})
	if err != nil {
		t.Fatalf("Init() = %v", err)
	}
	if !strings.Contains(logs.String(), "-http-port=1234 ignored") {
		t.Errorf("logs %q: want a warning that -http-port is ignored", logs.String())
	}
}

func TestBadConfigFailsInit(t *testing.T) {
	tests := []struct {
		name string
		src  sources
		want []string
	}{
		{"port from env not a number", sources{env: map[string]string{"HTTP_PORT": "http"}},
			[]string{"env HTTP_PORT", `port "http"`}},
		{"port from flag out of range", sources{args: []string{"-http-port", "70000"}},
			[]string{"flag -http-port", `port "70000"`}},
		{"endpoint without port in file", sources{file: "endpoint: localhost\n"},
			[]string{"config file", `endpoint "localhost"`, "host:port"}},
		{"endpoint without port in code", sources{opts: []rest.Option{rest.UseConf(rest.Config{Endpoint: "localhost"})}},
			[]string{"UseConf", `endpoint "localhost"`}},
		{"unknown key in file", sources{file: "endpiont: 127.0.0.1:0\n"},
			[]string{"endpiont"}},
		{"duration without unit", sources{file: "read-timeout: 5\n"},
			[]string{"read-timeout"}},
		{"cert without key", sources{file: "server-cert-file: a.crt\n"},
			[]string{"server-cert-file", "server-key-file", "set both"}},
		{"client CAs without HTTPS", sources{file: "client-ca-files: [ca.crt]\n"},
			[]string{"client-ca-files", "HTTPS"}},
		{"missing certificate", sources{file: "server-cert-file: /nonexistent/s.crt\nserver-key-file: /nonexistent/s.key\n"},
			[]string{"/nonexistent/s.crt"}},
		{"negative max-header-bytes", sources{file: "max-header-bytes: -1\n"},
			[]string{"max-header-bytes"}},
		{"basic-auth entry without colon", sources{file: "basic-auth: [secretword]\n"},
			[]string{"basic-auth entry 1", `"user:password"`}},
		{"basic-auth empty password", sources{file: "basic-auth: ['ops:']\n"},
			[]string{"basic-auth entry 1", `"ops"`, "empty password"}},
		{"basic-auth user twice", sources{file: "basic-auth: ['ops:a', 'ops:b']\n"},
			[]string{"basic-auth entry 2", `"ops"`, "twice"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := newPlugin(t, tt.src)
			if err == nil {
				t.Fatal("Init() = nil, want an error")
			}
			for _, want := range tt.want {
				if !strings.Contains(err.Error(), want) {
					t.Errorf("Init() = %q, want it to contain %q", err, want)
				}
			}
			if strings.Contains(err.Error(), "secretword") {
				t.Errorf("Init() = %q: it must not echo a basic-auth entry", err)
			}
		})
	}
}

func TestMissingNamedConfigFileFailsInit(t *testing.T) {
	_, err := newPlugin(t, sources{args: []string{"-http-config", "/nonexistent/http.conf"}})
	if !errors.Is(err, config.ErrNotFound) {
		t.Errorf("Init() = %v, want config.ErrNotFound", err)
	}
}

func TestSampleConfigFileIsCompleteAndValid(t *testing.T) {
	sample, err := os.ReadFile("http.conf")
	if err != nil {
		t.Fatal(err)
	}
	// Every key of Config appears in the sample, so users see them all.
	typ := reflect.TypeFor[rest.Config]()
	for i := range typ.NumField() {
		key := strings.Split(typ.Field(i).Tag.Get("yaml"), ",")[0]
		if !strings.Contains(string(sample), "\n"+key+":") {
			t.Errorf("http.conf lacks the key %s", key)
		}
	}

	fs := flag.NewFlagSet("agent", flag.ContinueOnError)
	src := config.NewSource(fs, func(k string) string {
		if k == "HTTP_CONFIG" {
			return "http.conf"
		}
		return ""
	})
	var got rest.Config
	found, err := src.ForPlugin("http").LoadValue(&got)
	if err != nil || !found {
		t.Fatalf("LoadValue(http.conf) = %v, %v; want true, nil", found, err)
	}
	want := rest.Config{
		Endpoint:          "0.0.0.0:9191",
		ReadTimeout:       30 * time.Second,
		ReadHeaderTimeout: 10 * time.Second,
		WriteTimeout:      30 * time.Second,
		IdleTimeout:       2 * time.Minute,
		MaxHeaderBytes:    65536,
		MaxBodyBytes:      1 << 20,
		TrustedOrigins:    []string{"https://ops.example.com"},
		ServerCertFile:    "/etc/plinth/tls/server.crt",
		ServerKeyFile:     "/etc/plinth/tls/server.key",
		ClientCAFiles:     []string{"/etc/plinth/tls/client-ca.crt"},
		BasicAuth:         []string{},
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("http.conf = %+v, want %+v", got, want)
	}
}

func TestPortInUseFailsAfterInit(t *testing.T) {
	taken, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer taken.Close()
	endpoint := taken.Addr().String()

	p, err := newPlugin(t, sources{opts: []rest.Option{rest.UseConf(rest.Config{Endpoint: endpoint})}})
	if err != nil {
		t.Fatalf("Init() = %v", err)
	}
	err = p.AfterInit()
	if err == nil {
		t.Fatal("AfterInit() = nil on a taken port, want an error")
	}
	for _, want := range []string{endpoint, "address already in use", "another process uses the port", "-http-port", "HTTP_PORT"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("AfterInit() = %q, want it to contain %q", err, want)
		}
	}
	if p.Addr() != nil {
		t.Errorf("Addr() = %v after a failed AfterInit, want nil", p.Addr())
	}
}

func TestCloseLetsInFlightRequestFinish(t *testing.T) {
	p := serve(t, rest.Config{})
	entered, release := make(chan struct{}), make(chan struct{})
	p.RegisterHTTPHandler("/slow", http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		close(entered)
		<-release
		io.WriteString(w, "finished")
	}), http.MethodGet)

	type result struct {
		status int
		body   string
	}
	c := newClient(t, nil)
	url := baseURL(p) + "/slow"
	got := make(chan result, 1)
	go func() {
		status, body := do(t, c, "GET", url, nil)
		got <- result{status, body}
	}()
	<-entered

	closed := make(chan error, 1)
	go func() { closed <- p.Close() }()

	// Close stops accepting connections at once...
	testwait.For(t, 10*time.Second, "the listener to close", func() (bool, string) {
		conn, err := net.Dial("tcp", p.Addr().String())
		if err != nil {
			return true, ""
		}
		conn.Close()
		return false, "a dial to " + p.Addr().String() + " succeeded"
	})
	// ...but waits for the request in flight.
	select {
	case err := <-closed:
		t.Fatalf("Close() = %v before the in-flight request finished", err)
	default:
	}
	close(release)
	if r := <-got; r.status != 200 || r.body != "finished" {
		t.Errorf("in-flight GET /slow = %d %q, want 200 %q", r.status, r.body, "finished")
	}
	if err := <-closed; err != nil {
		t.Errorf("Close() = %v, want nil", err)
	}
}

// TestCloseDoesNotWaitForConnectionsWithoutARequest: a client that opened a
// connection and sent nothing on it (browsers and Go's client open spare
// connections) does not hold Close up. net/http's Shutdown counts such a
// connection as busy for its first 5 seconds, as long as the default
// shutdown timeout, so Close used to fail after 5s; now the connection is
// closed when Close begins, while a request in flight still finishes.
func TestCloseDoesNotWaitForConnectionsWithoutARequest(t *testing.T) {
	// Far below the 5s net/http waits for such a connection, far above
	// closing a socket on a busy machine.
	const closedWithin = 3 * time.Second
	p := serve(t, rest.Config{})
	entered, release := make(chan struct{}), make(chan struct{})
	p.RegisterHTTPHandler("/slow", http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		close(entered)
		<-release
		io.WriteString(w, "finished")
	}), http.MethodGet)

	// The silent connection is made first: the server accepts connections
	// in order, so once the slow request, on a connection made later, is
	// served, the server holds the silent one.
	silent, err := net.Dial("tcp", p.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer silent.Close()
	// The result comes back on a channel, not through t.Fatal, which must
	// not be called from another goroutine.
	type result struct {
		body string
		err  error
	}
	c := newClient(t, nil)
	got := make(chan result, 1)
	go func() {
		resp, err := c.Get(baseURL(p) + "/slow")
		if err != nil {
			got <- result{err: err}
			return
		}
		defer resp.Body.Close()
		b, err := io.ReadAll(resp.Body)
		if err == nil && resp.StatusCode != http.StatusOK {
			err = fmt.Errorf("status %d", resp.StatusCode)
		}
		got <- result{string(b), err}
	}()
	<-entered

	start := time.Now()
	closed := make(chan error, 1)
	go func() { closed <- p.Close() }()

	// The server closes the silent connection at once...
	if err := silent.SetReadDeadline(time.Now().Add(30 * time.Second)); err != nil {
		t.Fatal(err)
	}
	n, err := silent.Read(make([]byte, 1))
	if took := time.Since(start); n != 0 || errors.Is(err, os.ErrDeadlineExceeded) || took > closedWithin {
		t.Errorf("silent connection: Read = %d, %v after %v; want it closed by the server within %v of Close", n, err, took, closedWithin)
	}
	// ...while the request in flight holds Close until it finishes.
	select {
	case err := <-closed:
		t.Fatalf("Close() = %v before the in-flight request finished", err)
	default:
	}
	close(release)
	if r := <-got; r.err != nil || r.body != "finished" {
		t.Errorf("in-flight GET /slow = %q, %v; want 200 %q", r.body, r.err, "finished")
	}
	if err := <-closed; err != nil {
		t.Errorf("Close() = %v, want nil", err)
	}
}

func TestCloseCutsOffRequestsPastShutdownTimeout(t *testing.T) {
	p := serve(t, rest.Config{}, rest.WithShutdownTimeout(50*time.Millisecond))
	entered := make(chan struct{})
	p.RegisterHTTPHandler("/stuck", http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		close(entered)
		<-r.Context().Done() // released only by the forced close
	}), http.MethodGet)

	c := newClient(t, nil)
	url := baseURL(p) + "/stuck"
	reqErr := make(chan error, 1)
	go func() {
		resp, err := c.Get(url)
		if err == nil {
			resp.Body.Close()
		}
		reqErr <- err
	}()
	<-entered
	err := p.Close()
	if !errors.Is(err, context.DeadlineExceeded) || !strings.Contains(err.Error(), "graceful shutdown") {
		t.Errorf("Close() = %v, want a graceful shutdown error wrapping context.DeadlineExceeded", err)
	}
	if err := <-reqErr; err == nil {
		t.Error("GET /stuck succeeded, want the connection cut")
	}
}

func TestCloseIsIdempotentAndSafeBeforeStart(t *testing.T) {
	p := rest.NewPlugin()
	if err := p.Close(); err != nil {
		t.Errorf("Close() before Init = %v", err)
	}
	p = serve(t, rest.Config{})
	for i := range 2 {
		if err := p.Close(); err != nil {
			t.Errorf("Close() #%d = %v", i+1, err)
		}
	}
}

func TestAfterInitWithoutInitFails(t *testing.T) {
	if err := rest.NewPlugin().AfterInit(); err == nil || !strings.Contains(err.Error(), "before a successful Init") {
		t.Errorf("AfterInit() = %v, want an error about Init", err)
	}
}

func TestDisabledServesNothing(t *testing.T) {
	p := serve(t, rest.Config{Disabled: true})
	if p.Addr() != nil || p.GetPort() != 0 {
		t.Errorf("Addr(), GetPort() = %v, %d; want nil, 0", p.Addr(), p.GetPort())
	}
	// Consumers may still register; the handlers are reachable in process.
	p.RegisterHTTPHandler("/x", text("x"), http.MethodGet)
	w := httptest.NewRecorder()
	p.Handler().ServeHTTP(w, httptest.NewRequest("GET", "/x", nil))
	if w.Code != 200 || w.Body.String() != "x" {
		t.Errorf("Handler() GET /x = %d %q, want 200 %q", w.Code, w.Body.String(), "x")
	}
}

func TestReadHeaderTimeoutClosesSlowClients(t *testing.T) {
	p := serve(t, rest.Config{ReadHeaderTimeout: 100 * time.Millisecond})
	conn, err := net.Dial("tcp", p.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	if _, err := io.WriteString(conn, "GET / HTTP/1.1\r\nHost: x\r\n"); err != nil {
		t.Fatal(err)
	}
	conn.SetReadDeadline(time.Now().Add(10 * time.Second))
	start := time.Now()
	if _, err := io.ReadAll(conn); err != nil {
		t.Fatalf("read after the header timeout = %v, want the server to close the connection", err)
	}
	if d := time.Since(start); d > 5*time.Second {
		t.Errorf("server closed a slow-header connection after %v, want about 100ms", d)
	}
}

func TestFlagsGoOnTheAgentFlagSet(t *testing.T) {
	fs := flag.NewFlagSet("agent", flag.ContinueOnError)
	rest.NewPlugin().RegisterFlags(fs)
	f := fs.Lookup("http-port")
	if f == nil {
		t.Fatal("RegisterFlags did not define -http-port")
	}
	if f.DefValue != "" {
		t.Errorf("-http-port default %q, want none: a default would override the config file", f.DefValue)
	}
	if flag.CommandLine.Lookup("http-port") != nil {
		t.Error("the global FlagSet has -http-port")
	}
}
