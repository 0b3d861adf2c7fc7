package rest_test

import (
	"bufio"
	"bytes"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/plinth-go/plinth/infra/rest"
)

// counting registers POST, PUT and GET /change on p and counts the calls
// that reached the handler.
func counting(p *rest.Plugin) *atomic.Int64 {
	var n atomic.Int64
	p.RegisterHTTPHandler("/change", http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if _, err := io.ReadAll(r.Body); err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		n.Add(1)
		io.WriteString(w, "changed")
	}), http.MethodPost, http.MethodPut, http.MethodGet)
	return &n
}

func TestCrossOriginStateChangesAreRefused(t *testing.T) {
	p := serve(t, rest.Config{TrustedOrigins: []string{"https://ops.example.com"}})
	calls := counting(p)
	c := newClient(t, nil)
	send := func(method string, headers map[string]string) (int, string) {
		t.Helper()
		req, err := http.NewRequest(method, baseURL(p)+"/change", strings.NewReader("x"))
		if err != nil {
			t.Fatal(err)
		}
		for k, v := range headers {
			req.Header.Set(k, v)
		}
		resp, err := c.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}
	crossSite := map[string]string{"Origin": "http://other.example", "Sec-Fetch-Site": "cross-site"}
	for _, tt := range []struct {
		name    string
		method  string
		headers map[string]string
		want    int
	}{
		{"a cross-site POST", http.MethodPost, crossSite, http.StatusForbidden},
		{"a cross-site PUT", http.MethodPut, crossSite, http.StatusForbidden},
		{"an Origin of another host, no Sec-Fetch-Site", http.MethodPost, map[string]string{"Origin": "http://other.example"}, http.StatusForbidden},
		{"curl or agentctl (no Origin, no Sec-Fetch-Site)", http.MethodPost, nil, http.StatusOK},
		{"the agent's own page", http.MethodPost, map[string]string{"Sec-Fetch-Site": "same-origin"}, http.StatusOK},
		{"a trusted origin", http.MethodPost, map[string]string{"Origin": "https://ops.example.com", "Sec-Fetch-Site": "cross-site"}, http.StatusOK},
		{"a cross-site GET (reads stay open)", http.MethodGet, crossSite, http.StatusOK},
	} {
		t.Run(tt.name, func(t *testing.T) {
			before := calls.Load()
			code, body := send(tt.method, tt.headers)
			if code != tt.want {
				t.Fatalf("%s = %d %q, want %d", tt.method, code, body, tt.want)
			}
			reached := calls.Load() - before
			if tt.want == http.StatusForbidden && (reached != 0 || !strings.Contains(body, "cross-origin")) {
				t.Errorf("refused request reached the handler %d times; body %q", reached, body)
			}
			if tt.want == http.StatusOK && reached != 1 {
				t.Errorf("accepted request reached the handler %d times, want once", reached)
			}
		})
	}
}

func TestStateChangesFromOtherHostsNeedAuthenticationOrTheOptIn(t *testing.T) {
	// A non-loopback peer cannot be had on loopback sockets: the request
	// goes to the plugin's handler with the peer address set.
	request := func(h http.Handler, method, remote string, auth bool) int {
		r := httptest.NewRequest(method, "/change", strings.NewReader("x"))
		r.RemoteAddr = remote
		if auth {
			r.SetBasicAuth("ops", "a-long-password")
		}
		w := httptest.NewRecorder()
		h.ServeHTTP(w, r)
		return w.Code
	}
	for _, tt := range []struct {
		name   string
		conf   rest.Config
		method string
		remote string
		auth   bool
		want   int
	}{
		{"POST from another host, no auth", rest.Config{}, http.MethodPost, "198.51.100.7:4000", false, http.StatusForbidden},
		{"POST from IPv6 loopback", rest.Config{}, http.MethodPost, "[::1]:4000", false, http.StatusOK},
		{"POST from 127.0.0.1", rest.Config{}, http.MethodPost, "127.0.0.1:4000", false, http.StatusOK},
		{"GET from another host", rest.Config{}, http.MethodGet, "198.51.100.7:4000", false, http.StatusOK},
		{"POST from another host with allow-remote-changes", rest.Config{AllowRemoteChanges: true}, http.MethodPost, "198.51.100.7:4000", false, http.StatusOK},
		{"POST from another host with basic auth", rest.Config{BasicAuth: []string{"ops:a-long-password"}}, http.MethodPost, "198.51.100.7:4000", true, http.StatusOK},
	} {
		t.Run(tt.name, func(t *testing.T) {
			p := serve(t, tt.conf)
			calls := counting(p)
			if got := request(p.Handler(), tt.method, tt.remote, tt.auth); got != tt.want {
				t.Fatalf("%s from %s = %d, want %d", tt.method, tt.remote, got, tt.want)
			}
			if want := int64(0); tt.want == http.StatusOK {
				want = 1
				if calls.Load() != want {
					t.Errorf("handler reached %d times, want %d", calls.Load(), want)
				}
			} else if calls.Load() != want {
				t.Errorf("refused request reached the handler")
			}
		})
	}
}

func TestAClientThatStallsItsBodyIsDisconnectedAtTheReadTimeout(t *testing.T) {
	const readTimeout = 500 * time.Millisecond
	p := serve(t, rest.Config{ReadTimeout: readTimeout})
	calls := counting(p)
	conn, err := net.Dial("tcp", p.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	// Headers announcing a body, then nothing.
	if _, err := io.WriteString(conn, "POST /change HTTP/1.1\r\nHost: agent\r\nContent-Length: 100\r\n\r\n"); err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	_ = conn.SetReadDeadline(time.Now().Add(20 * time.Second)) // a hang detector, far above the timeout
	resp, err := http.ReadResponse(bufio.NewReader(conn), nil)
	if err != nil {
		t.Fatalf("no answer %v after the headers: %v", time.Since(start), err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusBadRequest || calls.Load() != 0 {
		t.Errorf("stalled body: %d, handler completed %d times; want the body read to fail", resp.StatusCode, calls.Load())
	}
	if _, err := conn.Read(make([]byte, 1)); err == nil {
		t.Error("the connection is still open after the stalled request")
	}
	t.Logf("stalled client answered and disconnected after %v (read-timeout %v)", time.Since(start).Round(time.Millisecond), readTimeout)
}

func TestABodyAboveTheLimitIsRefusedWith413(t *testing.T) {
	p := serve(t, rest.Config{})
	calls := counting(p)
	c := newClient(t, nil)
	code, body := do(t, c, http.MethodPost, baseURL(p)+"/change", bytes.Repeat([]byte("x"), 10<<20))
	if code != http.StatusRequestEntityTooLarge || calls.Load() != 0 {
		t.Fatalf("10 MB body = %d %q, handler reached %d times; want 413 and never", code, body, calls.Load())
	}
	if !strings.Contains(body, "max-body-bytes") {
		t.Errorf("body %q does not name max-body-bytes", body)
	}
	// A body of unknown length is cut when the handler reads past the limit.
	req, _ := http.NewRequest(http.MethodPost, baseURL(p)+"/change", io.MultiReader(bytes.NewReader(bytes.Repeat([]byte("x"), 2<<20))))
	req.ContentLength = -1
	resp, err := c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode == http.StatusOK || calls.Load() != 0 {
		t.Errorf("chunked 2 MiB body = %d, handler completed %d times; want it refused", resp.StatusCode, calls.Load())
	}
	if code, _ := do(t, c, http.MethodPost, baseURL(p)+"/change", bytes.Repeat([]byte("x"), 1<<20)); code != http.StatusOK {
		t.Errorf("a body of exactly the limit = %d, want 200", code)
	}
}
