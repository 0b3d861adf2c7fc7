package dashboard_test

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"reflect"
	"strconv"
	"strings"
	"sync"
	"testing"

	"github.com/plinth-go/plinth/dashboard"
	"github.com/plinth-go/plinth/exec/processmanager"
	"github.com/plinth-go/plinth/exec/supervisor"
	"github.com/plinth-go/plinth/infra"
	"github.com/plinth-go/plinth/infra/rest"
)

// contractSupervisor is a supervisor plugin that serves, on the agent's
// HTTP server, the programs list and the reload and log endpoints exactly
// as their contract says:
//
//	POST /supervisor/reload: 200 {"added":[…],"removed":[…],"changed":[…],"unchanged":[…]}
//	  or 400 {"error":"supervisor.conf:12: …"}
//	GET /supervisor/programs/{name}/log?tail=N&stream=stdout|stderr[&follow=1]:
//	  text/plain, the last N lines (default 100, at most 10000); with follow=1
//	  a text/event-stream of those lines and then each new one, one data
//	  event per line, until the client leaves; 404 with a message for an
//	  unknown program or one without a log file.
//
// Its programs are vpp, with a log of both streams, and quiet, without a
// log file.
type contractSupervisor struct {
	infra.PluginDeps
	HTTP rest.HTTPHandlers

	mu         sync.Mutex
	logs       map[string][]string        // by "name/stream"
	followers  map[string][]chan string   // by "name/stream"
	reloadCode int                        // answer of POST /supervisor/reload
	reloadBody string                     //
	reloads    []http.Header              // headers of each reload received
	closed     chan struct{}              // closed by Close: follow streams end
	programs   []supervisor.ProgramStatus //
}

var _ dashboard.Supervisor = (*contractSupervisor)(nil)

func newContractSupervisor() *contractSupervisor {
	s := &contractSupervisor{
		logs: map[string][]string{
			"vpp/stdout": {"out 1", "out 2", "out 3"},
			"vpp/stderr": {"err 1"},
		},
		followers:  map[string][]chan string{},
		reloadCode: http.StatusOK,
		reloadBody: `{"added":["web"],"removed":[],"changed":["api","vpp"],"unchanged":["quiet"]}`,
		closed:     make(chan struct{}),
		programs: []supervisor.ProgramStatus{
			{Name: "vpp", State: "running", Pid: 4242, Executable: "/usr/bin/vpp"},
			{Name: "quiet", State: "running", Pid: 4243, Executable: "/usr/bin/quiet"},
		},
	}
	s.SetName("contract-supervisor")
	return s
}

func (s *contractSupervisor) Init() error {
	s.HTTP.RegisterHTTPHandler(supervisor.ProgramsPath, http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		b, _ := json.Marshal(s.programs)
		writeTestJSON(w, http.StatusOK, string(b))
	}), http.MethodGet)
	s.HTTP.RegisterHTTPHandler(dashboard.SupervisorReloadPath, http.HandlerFunc(s.serveReload), http.MethodPost)
	s.HTTP.RegisterHTTPHandler(dashboard.ProgramLogPath, http.HandlerFunc(s.serveLog), http.MethodGet)
	return nil
}

func (s *contractSupervisor) Close() error {
	close(s.closed)
	return nil
}

func (s *contractSupervisor) Program(name string) (supervisor.ProgramStatus, bool) {
	for _, p := range s.programs {
		if p.Name == name {
			return p, true
		}
	}
	return supervisor.ProgramStatus{}, false
}

func (s *contractSupervisor) GetProgramByName(string) *processmanager.Process { return nil }

func (s *contractSupervisor) serveReload(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	s.reloads = append(s.reloads, r.Header.Clone())
	code, body := s.reloadCode, s.reloadBody
	s.mu.Unlock()
	writeTestJSON(w, code, body)
}

func (s *contractSupervisor) serveLog(w http.ResponseWriter, r *http.Request) {
	name, q := r.PathValue("name"), r.URL.Query()
	tail := 100
	if v := q.Get("tail"); v != "" {
		n, err := strconv.Atoi(v)
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
	_, known := s.Program(name)
	s.mu.Lock()
	lines, hasLog := s.logs[key]
	if !known || !hasLog {
		s.mu.Unlock()
		msg := fmt.Sprintf("supervisor: unknown program %q", name)
		if known {
			msg = fmt.Sprintf("supervisor: program %q has no log file (set its logfile-path)", name)
		}
		b, _ := json.Marshal(map[string]string{"error": msg})
		writeTestJSON(w, http.StatusNotFound, string(b))
		return
	}
	lines = lines[max(0, len(lines)-tail):]
	if q.Get("follow") != "1" {
		s.mu.Unlock()
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		for _, l := range lines {
			io.WriteString(w, l+"\n")
		}
		return
	}
	// Subscribed under the lock that read the tail: no line falls between.
	ch := make(chan string, 100)
	s.followers[key] = append(s.followers[key], ch)
	s.mu.Unlock()
	defer s.unfollow(key, ch)
	w.Header().Set("Content-Type", "text/event-stream")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(http.StatusOK)
	for _, l := range lines {
		fmt.Fprintf(w, "data: %s\n\n", l)
	}
	w.(http.Flusher).Flush()
	for {
		select {
		case l := <-ch:
			fmt.Fprintf(w, "data: %s\n\n", l)
			w.(http.Flusher).Flush()
		case <-r.Context().Done():
			return
		case <-s.closed:
			return
		}
	}
}

func (s *contractSupervisor) unfollow(key string, ch chan string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	subs := s.followers[key]
	for i, c := range subs {
		if c == ch {
			s.followers[key] = append(subs[:i:i], subs[i+1:]...)
			return
		}
	}
}

// write appends a line to a program's stream and sends it to its
// followers.
func (s *contractSupervisor) write(name, stream, line string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	key := name + "/" + stream
	s.logs[key] = append(s.logs[key], line)
	for _, ch := range s.followers[key] {
		ch <- line
	}
}

// following returns how many clients follow a stream.
func (s *contractSupervisor) following(name, stream string) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.followers[name+"/"+stream])
}

func (s *contractSupervisor) reloadsReceived() []http.Header {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]http.Header(nil), s.reloads...)
}

func (s *contractSupervisor) setReload(code int, body string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.reloadCode, s.reloadBody = code, body
}

func writeTestJSON(w http.ResponseWriter, code int, body string) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(code)
	io.WriteString(w, body)
}

// TestProgramsPanelPointsAtTheSupervisorsLogAndReload: the paths that
// GET /ui/api/panels gives the page reach the supervisor's log and reload
// endpoints, and a reload, a state change, passes the HTTP server's guard
// as the program actions do: from the agent's own origin, not from another
// site's page.
func TestProgramsPanelPointsAtTheSupervisorsLogAndReload(t *testing.T) {
	sup := newContractSupervisor()
	s := startServer(t, rest.Config{}, sup, dashboard.NewPlugin())
	var panels dashboard.Panels
	s.json(http.MethodGet, dashboard.PanelsPath, &panels)
	if panels.ProgramLog != "/supervisor/programs/{name}/log" || panels.SupervisorReload != "/supervisor/reload" {
		t.Fatalf("panels: program_log %q, supervisor_reload %q", panels.ProgramLog, panels.SupervisorReload)
	}
	logOf := func(name, query string) string {
		return strings.Replace(panels.ProgramLog, "{name}", name, 1) + "?" + query
	}

	code, h, body := s.do(http.MethodGet, logOf("vpp", "tail=2&stream=stdout"))
	if code != http.StatusOK || !strings.HasPrefix(h.Get("Content-Type"), "text/plain") || string(body) != "out 2\nout 3\n" {
		t.Errorf("GET %s = %d %q %q, want 200 text/plain with the last two lines", logOf("vpp", "tail=2"), code, h.Get("Content-Type"), body)
	}
	if code, _, body := s.do(http.MethodGet, logOf("quiet", "tail=2")); code != http.StatusNotFound || !strings.Contains(string(body), "no log file") {
		t.Errorf("GET the log of a program without one = %d %q, want 404 saying so", code, body)
	}

	// Following: the last lines, then a new one.
	ctx, cancel := context.WithTimeout(t.Context(), waitBound)
	defer cancel()
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, s.base+logOf("vpp", "tail=1&stream=stderr&follow=1"), nil)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK || resp.Header.Get("Content-Type") != "text/event-stream" {
		t.Fatalf("GET the log with follow=1 = %d %q, want 200 text/event-stream", resp.StatusCode, resp.Header.Get("Content-Type"))
	}
	lines := bufio.NewScanner(resp.Body)
	next := func() string {
		for lines.Scan() {
			if d, ok := strings.CutPrefix(lines.Text(), "data: "); ok {
				return d
			}
		}
		t.Fatalf("the log stream ended: %v", lines.Err())
		return ""
	}
	if got := next(); got != "err 1" {
		t.Errorf("first event %q, want err 1", got)
	}
	eventually(t, "the client to follow", func() bool { return sup.following("vpp", "stderr") == 1 })
	sup.write("vpp", "stderr", "err 2")
	if got := next(); got != "err 2" {
		t.Errorf("next event %q, want err 2", got)
	}
	cancel()
	eventually(t, "the stream to end when the client leaves", func() bool { return sup.following("vpp", "stderr") == 0 })

	// Reload: accepted from the agent's own origin (and from curl), refused
	// from another site's page before it reaches the supervisor.
	for _, tc := range []struct {
		name    string
		headers map[string]string
		code    int
	}{
		{"curl", nil, http.StatusOK},
		{"own page", map[string]string{"Origin": s.base, "Sec-Fetch-Site": "same-origin"}, http.StatusOK},
		{"other site", map[string]string{"Origin": "http://elsewhere.example", "Sec-Fetch-Site": "cross-site"}, http.StatusForbidden},
	} {
		t.Run(tc.name, func(t *testing.T) {
			before := len(sup.reloadsReceived())
			req, _ := http.NewRequestWithContext(t.Context(), http.MethodPost, s.base+panels.SupervisorReload, nil)
			for k, v := range tc.headers {
				req.Header.Set(k, v)
			}
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			defer resp.Body.Close()
			var got map[string][]string
			json.NewDecoder(resp.Body).Decode(&got)
			if resp.StatusCode != tc.code {
				t.Fatalf("POST %s from %s = %d, want %d", panels.SupervisorReload, tc.name, resp.StatusCode, tc.code)
			}
			after := len(sup.reloadsReceived())
			if tc.code != http.StatusOK {
				if after != before {
					t.Errorf("a refused reload reached the supervisor")
				}
				return
			}
			want := map[string][]string{"added": {"web"}, "removed": {}, "changed": {"api", "vpp"}, "unchanged": {"quiet"}}
			if after != before+1 || !reflect.DeepEqual(got, want) {
				t.Errorf("POST %s = %v (%d reloads received), want %v", panels.SupervisorReload, got, after-before, want)
			}
		})
	}
}
