package rest_test

import (
	"fmt"
	"io"
	"math"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/plinth-go/plinth/infra/rest"
)

// TestWriteJSONAnswersOneHeaderSetAndBodyShape pins, over a real socket,
// what every JSON answer of the agent looks like: the status, the body
// followed by a newline, Content-Type application/json without a charset,
// nosniff, and the headers the handler set itself.
func TestWriteJSONAnswersOneHeaderSetAndBodyShape(t *testing.T) {
	for _, tc := range []struct {
		name        string
		handler     http.HandlerFunc
		wantCode    int
		wantBody    string
		wantHeaders map[string]string
	}{
		{
			name: "value with its code",
			handler: func(w http.ResponseWriter, _ *http.Request) {
				rest.WriteJSON(w, http.StatusOK, struct {
					Logger string `json:"logger"`
					Level  string `json:"level"`
				}{"etcd", "debug"})
			},
			wantCode: http.StatusOK,
			wantBody: `{"logger":"etcd","level":"debug"}` + "\n",
		},
		{
			name: "empty list stays a list",
			handler: func(w http.ResponseWriter, _ *http.Request) {
				rest.WriteJSON(w, http.StatusOK, []string{})
			},
			wantCode: http.StatusOK,
			wantBody: "[]\n",
		},
		{
			name: "error message in the error field",
			handler: func(w http.ResponseWriter, _ *http.Request) {
				rest.WriteError(w, http.StatusNotFound, `process "a" not found`)
			},
			wantCode: http.StatusNotFound,
			wantBody: `{"error":"process \"a\" not found"}` + "\n",
		},
		{
			// The bodies carry names from requests: a browser that guessed
			// HTML would run them.
			name: "markup is escaped",
			handler: func(w http.ResponseWriter, _ *http.Request) {
				rest.WriteError(w, http.StatusBadRequest, "<script>&")
			},
			wantCode: http.StatusBadRequest,
			wantBody: `{"error":"\u003cscript\u003e\u0026"}` + "\n",
		},
		{
			name: "headers set before are kept",
			handler: func(w http.ResponseWriter, _ *http.Request) {
				w.Header().Set("Cache-Control", "no-store")
				rest.WriteJSON(w, http.StatusServiceUnavailable, map[string]int{"state": 2})
			},
			wantCode:    http.StatusServiceUnavailable,
			wantBody:    `{"state":2}` + "\n",
			wantHeaders: map[string]string{"Cache-Control": "no-store"},
		},
		{
			name: "a value that cannot be encoded answers 500",
			handler: func(w http.ResponseWriter, _ *http.Request) {
				rest.WriteJSON(w, http.StatusOK, math.NaN())
			},
			wantCode: http.StatusInternalServerError,
			wantBody: `{"error":"json: unsupported value: NaN"}` + "\n",
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			srv := httptest.NewServer(tc.handler)
			defer srv.Close()
			resp, err := http.Get(srv.URL)
			if err != nil {
				t.Fatal(err)
			}
			body, err := io.ReadAll(resp.Body)
			resp.Body.Close()
			if err != nil {
				t.Fatal(err)
			}
			if resp.StatusCode != tc.wantCode {
				t.Errorf("status = %d, want %d", resp.StatusCode, tc.wantCode)
			}
			if string(body) != tc.wantBody {
				t.Errorf("body = %q, want %q", body, tc.wantBody)
			}
			want := map[string]string{"Content-Type": "application/json", "X-Content-Type-Options": "nosniff"}
			for k, v := range tc.wantHeaders {
				want[k] = v
			}
			for k, v := range want {
				if got := resp.Header.Get(k); got != v {
					t.Errorf("header %s = %q, want %q", k, got, v)
				}
			}
		})
	}
}

// ExampleWriteError shows a handler answering with the agent's error body.
func ExampleWriteError() {
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		name := r.URL.Query().Get("name")
		if name == "" {
			rest.WriteError(w, http.StatusBadRequest, "hello: name: want a name")
			return
		}
		rest.WriteJSON(w, http.StatusOK, map[string]string{"hello": name})
	})
	for _, target := range []string{"/hello?name=ops", "/hello"} {
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, target, nil))
		fmt.Print(rec.Code, " ", rec.Header().Get("Content-Type"), " ", rec.Body.String())
	}
	// Output:
	// 200 application/json {"hello":"ops"}
	// 400 application/json {"error":"hello: name: want a name"}
}
