package main

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strconv"
	"sync"
	"testing"
)

// fakeSupervisorAPI serves the supervisor's reload and log endpoints as
// their contract says, from fields the test sets:
//
//	POST /supervisor/reload: 200 {"added":[…],"removed":[…],"changed":[…],"unchanged":[…]}
//	  or 400 {"error":"supervisor.conf:12: …"}
//	GET /supervisor/programs/{name}/log?tail=N&stream=stdout|stderr[&follow=1]:
//	  text/plain, the last N lines (default 100, at most 10000); with follow=1
//	  a text/event-stream of those lines and then each new one, one data
//	  event per line; 404 with a message for an unknown program or one
//	  without a log file.
//
// It also serves GET /supervisor/programs, for the names.
type fakeSupervisorAPI struct {
	mu sync.Mutex
	// logs holds the lines of each program's streams, by "name/stream";
	// a program of programs without an entry has no log file.
	logs     map[string][]string
	programs []string
	// reloadCode and reloadBody answer POST /supervisor/reload.
	reloadCode int
	reloadBody string
	// followers get the lines written while they follow, by "name/stream".
	followers map[string][]chan string
	requests  []string // method and URI, in order
	// endFollow, when closed, ends every follow stream from the server.
	endFollow chan struct{}
}

func newFakeSupervisorAPI(t *testing.T, f *fakeSupervisorAPI) *httptest.Server {
	t.Helper()
	f.followers = map[string][]chan string{}
	if f.endFollow == nil {
		f.endFollow = make(chan struct{})
	}
	mux := http.NewServeMux()
	mux.HandleFunc("POST /supervisor/reload", f.serveReload)
	mux.HandleFunc("GET /supervisor/programs", f.servePrograms)
	mux.HandleFunc("GET /supervisor/programs/{name}/log", f.serveLog)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		f.mu.Lock()
		f.requests = append(f.requests, r.Method+" "+r.URL.RequestURI())
		f.mu.Unlock()
		mux.ServeHTTP(w, r)
	}))
	t.Cleanup(srv.Close)
	return srv
}

func (f *fakeSupervisorAPI) serveReload(w http.ResponseWriter, r *http.Request) {
	if b, _ := io.ReadAll(r.Body); len(b) > 0 {
		writeTestJSON(w, http.StatusBadRequest, `{"error":"reload takes no body"}`)
		return
	}
	writeTestJSON(w, f.reloadCode, f.reloadBody)
}

func (f *fakeSupervisorAPI) servePrograms(w http.ResponseWriter, _ *http.Request) {
	f.mu.Lock()
	defer f.mu.Unlock()
	list := make([]programJSON, 0, len(f.programs))
	for _, n := range f.programs {
		list = append(list, programJSON{Name: n, State: "running"})
	}
	b, _ := json.Marshal(list)
	writeTestJSON(w, http.StatusOK, string(b))
}

func (f *fakeSupervisorAPI) serveLog(w http.ResponseWriter, r *http.Request) {
	name, q := r.PathValue("name"), r.URL.Query()
	tail := 100
	if s := q.Get("tail"); s != "" {
		n, err := strconv.Atoi(s)
		if err != nil || n < 0 || n > 10000 {
			writeTestJSON(w, http.StatusBadRequest, `{"error":"tail: want 0 to 10000"}`)
			return
		}
		tail = n
	}
	stream := q.Get("stream")
	switch stream {
	case "":
		stream = "stdout"
	case "stdout", "stderr":
	default:
		writeTestJSON(w, http.StatusBadRequest, `{"error":"stream: want stdout or stderr"}`)
		return
	}
	key := name + "/" + stream
	f.mu.Lock()
	lines, hasLog := f.logs[key]
	known := false
	for _, n := range f.programs {
		known = known || n == name
	}
	if !known || !hasLog {
		f.mu.Unlock()
		msg := fmt.Sprintf("supervisor: unknown program %q", name)
		if known {
			msg = fmt.Sprintf("supervisor: program %q has no logfile-path", name)
		}
		b, _ := json.Marshal(map[string]string{"error": msg})
		writeTestJSON(w, http.StatusNotFound, string(b))
		return
	}
	lines = lines[max(0, len(lines)-tail):]
	if q.Get("follow") != "1" {
		f.mu.Unlock()
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		for _, l := range lines {
			io.WriteString(w, l+"\n")
		}
		return
	}
	// Subscribed under the lock that read the tail: no line falls between.
	ch := make(chan string, 100)
	f.followers[key] = append(f.followers[key], ch)
	f.mu.Unlock()
	defer f.unfollow(key, ch)
	w.Header().Set("Content-Type", "text/event-stream")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(http.StatusOK)
	for _, l := range lines {
		fmt.Fprintf(w, "data: %s\n\n", l)
	}
	// A comment, as a heartbeat would be, which the client skips.
	io.WriteString(w, ": following\n\n")
	w.(http.Flusher).Flush()
	for {
		select {
		case l := <-ch:
			fmt.Fprintf(w, "data: %s\n\n", l)
			w.(http.Flusher).Flush()
		case <-f.endFollow:
			return
		case <-r.Context().Done():
			return
		}
	}
}

func (f *fakeSupervisorAPI) unfollow(key string, ch chan string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	subs := f.followers[key]
	for i, c := range subs {
		if c == ch {
			f.followers[key] = append(subs[:i:i], subs[i+1:]...)
			return
		}
	}
}

// write appends a line to a program's stream and sends it to its
// followers.
func (f *fakeSupervisorAPI) write(name, stream, line string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	key := name + "/" + stream
	f.logs[key] = append(f.logs[key], line)
	for _, ch := range f.followers[key] {
		ch <- line
	}
}

// following returns how many clients follow a stream.
func (f *fakeSupervisorAPI) following(name, stream string) int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return len(f.followers[name+"/"+stream])
}

func (f *fakeSupervisorAPI) lastRequest() string {
	f.mu.Lock()
	defer f.mu.Unlock()
	if len(f.requests) == 0 {
		return ""
	}
	return f.requests[len(f.requests)-1]
}

func writeTestJSON(w http.ResponseWriter, code int, body string) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(code)
	io.WriteString(w, body)
}

// supervisorEnv starts a fake supervisor with two programs, vpp (with a
// log of both streams) and quiet (without a log file), and returns the
// environment that points agentctl at it.
func supervisorEnv(t *testing.T) (env, *fakeSupervisorAPI) {
	t.Helper()
	f := &fakeSupervisorAPI{
		programs: []string{"vpp", "quiet"},
		logs: map[string][]string{
			"vpp/stdout": {"out 1", "out 2", "out 3", "out 4", "out 5"},
			"vpp/stderr": {"err 1", "err 2"},
		},
		reloadCode: http.StatusOK,
		reloadBody: `{"added":["web"],"removed":[],"changed":["api","vpp"],"unchanged":["agent"]}`,
	}
	srv := newFakeSupervisorAPI(t, f)
	return agentEnv(t, srv.Listener.Addr().String()), f
}

// newFakeSupervisorAPIWith serves h and returns its address.
func newFakeSupervisorAPIWith(t *testing.T, h http.Handler) string {
	t.Helper()
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	return srv.Listener.Addr().String()
}
