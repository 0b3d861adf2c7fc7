//go:build linux

package supervisor_test

import (
	"bufio"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/plinth-go/plinth/agent"
	"github.com/plinth-go/plinth/agent/agenttest"
	"github.com/plinth-go/plinth/exec/processmanager"
	"github.com/plinth-go/plinth/exec/supervisor"
	"github.com/plinth-go/plinth/health/statuscheck"
	"github.com/plinth-go/plinth/infra"
)

// helper is the path of the test helper binary (internal/testhelper),
// built by TestMain: the programs and hooks of the tests.
var helper string

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "supervisor-test")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	helper = filepath.Join(dir, "testhelper")
	build := exec.Command("go", "build", "-o", helper, "./internal/testhelper")
	build.Stdout, build.Stderr = os.Stderr, os.Stderr
	if err := build.Run(); err != nil {
		fmt.Fprintln(os.Stderr, "building the test helper:", err)
		os.Exit(1)
	}
	code := m.Run()
	os.RemoveAll(dir)
	if code == 0 {
		if err := goleak.Find(); err != nil {
			fmt.Fprintln(os.Stderr, "goleak:", err)
			code = 1
		}
	}
	os.Exit(code)
}

// waitBound is how long a test waits for something that should happen
// soon before it fails; it bounds a hang, it orders nothing.
const waitBound = 30 * time.Second

// reports receives what helpers report on a unix socket, one line per
// connection, in the order of the connections.
type reports struct {
	path    string
	ln      net.Listener
	ch      chan string
	done    chan struct{}
	pending []string // received, not yet asked for
}

func newReports(t *testing.T) *reports {
	t.Helper()
	// Socket paths are limited to about 100 bytes: t.TempDir is too long.
	dir, err := os.MkdirTemp("", "sv")
	if err != nil {
		t.Fatal(err)
	}
	r := &reports{path: filepath.Join(dir, "s"), ch: make(chan string, 1024), done: make(chan struct{})}
	r.ln, err = net.Listen("unix", r.path)
	if err != nil {
		t.Fatal(err)
	}
	go func() {
		defer close(r.done)
		for {
			c, err := r.ln.Accept()
			if err != nil {
				return
			}
			line, _ := bufio.NewReader(c).ReadString('\n')
			c.Close()
			r.ch <- strings.TrimSuffix(line, "\n")
		}
	}()
	t.Cleanup(func() {
		r.ln.Close()
		<-r.done
		os.RemoveAll(dir)
	})
	return r
}

// next returns the first report that starts with prefix; the others stay
// for later calls.
func (r *reports) next(t *testing.T, prefix string) string {
	t.Helper()
	for i, m := range r.pending {
		if strings.HasPrefix(m, prefix) {
			r.pending = append(r.pending[:i], r.pending[i+1:]...)
			return m
		}
	}
	timeout := time.After(waitBound)
	for {
		select {
		case m := <-r.ch:
			if strings.HasPrefix(m, prefix) {
				return m
			}
			r.pending = append(r.pending, m)
		case <-timeout:
			t.Fatalf("no report %q within %v", prefix, waitBound)
		}
	}
}

// ready waits for "ready <pid>" and returns the pid.
func (r *reports) ready(t *testing.T) int {
	t.Helper()
	pid, err := strconv.Atoi(strings.Fields(r.next(t, "ready "))[1])
	if err != nil {
		t.Fatal(err)
	}
	return pid
}

// drain returns every report received so far. Connections are accepted in
// order, so once the sentinel sent here arrives, every report of a helper
// that has exited has been received.
func (r *reports) drain(t *testing.T) []string {
	t.Helper()
	c, err := net.Dial("unix", r.path)
	if err != nil {
		t.Fatal(err)
	}
	c.Write([]byte("sentinel\n"))
	c.Close()
	got := r.pending
	r.pending = nil
	timeout := time.After(waitBound)
	for {
		select {
		case m := <-r.ch:
			if m == "sentinel" {
				return got
			}
			got = append(got, m)
		case <-timeout:
			t.Fatalf("sentinel not received within %v", waitBound)
		}
	}
}

// recorder collects the events of a supervisor.
type recorder struct {
	ch      chan supervisor.Event
	pending []supervisor.Event // received, not yet asked for
}

func newRecorder() *recorder { return &recorder{ch: make(chan supervisor.Event, 4096)} }

func (r *recorder) handle(ev supervisor.Event) { r.ch <- ev }

// next returns the first event of program whose type is one of types; the
// others stay for later calls.
func (r *recorder) next(t *testing.T, program string, types ...supervisor.EventType) supervisor.Event {
	t.Helper()
	match := func(ev supervisor.Event) bool {
		return ev.Program == program && slices.Contains(types, ev.Type)
	}
	for i, ev := range r.pending {
		if match(ev) {
			r.pending = slices.Delete(r.pending, i, i+1)
			return ev
		}
	}
	timeout := time.After(waitBound)
	for {
		select {
		case ev := <-r.ch:
			if match(ev) {
				return ev
			}
			r.pending = append(r.pending, ev)
		case <-timeout:
			t.Fatalf("no %v event of %s within %v", types, program, waitBound)
		}
	}
}

// stateChange reports whether t is a status event or one of the events of
// the changes of state (starting, running…): most tests check the events
// of the original conf, and TestStateChangeEventsFollowTheProgramsLife the
// others.
func stateChange(t supervisor.EventType) bool {
	switch t {
	case supervisor.EventTypeStatus, supervisor.EventTypeStarting, supervisor.EventTypeRunning,
		supervisor.EventTypeBackoff, supervisor.EventTypeStopping, supervisor.EventTypeExited, supervisor.EventTypeFatal:
		return true
	}
	return false
}

// until returns the events of program, status and state-change events
// left out, up to and
// including the first of type last, waiting for it; the events of other
// programs stay for later calls.
func (r *recorder) until(t *testing.T, program string, last supervisor.EventType) []supervisor.Event {
	t.Helper()
	var out []supervisor.Event
	// take keeps ev if it is of program and reports whether it ends the
	// wait.
	take := func(ev supervisor.Event) bool {
		if ev.Program == program && !stateChange(ev.Type) {
			out = append(out, ev)
		}
		return ev.Program == program && ev.Type == last
	}
	var others []supervisor.Event
	for i, ev := range r.pending {
		if ev.Program != program {
			others = append(others, ev)
			continue
		}
		if take(ev) {
			r.pending = append(others, r.pending[i+1:]...)
			return out
		}
	}
	r.pending = others
	timeout := time.After(waitBound)
	for {
		select {
		case ev := <-r.ch:
			if ev.Program != program {
				r.pending = append(r.pending, ev)
				continue
			}
			if take(ev) {
				return out
			}
		case <-timeout:
			t.Fatalf("no %s event of %s within %v; got %v", last, program, waitBound, types(out))
		}
	}
}

// every returns every event not yet asked for, in order.
func (r *recorder) every() []supervisor.Event {
	out := r.pending
	r.pending = nil
	for {
		select {
		case ev := <-r.ch:
			out = append(out, ev)
		default:
			return out
		}
	}
}

// all returns the events not yet asked for of program, without status
// events, which depend on when the state was polled, and without the
// state-change events (see stateChange).
func (r *recorder) all(program string) []supervisor.Event {
	var out []supervisor.Event
	keep := func(ev supervisor.Event) {
		if ev.Program == program && !stateChange(ev.Type) {
			out = append(out, ev)
		}
	}
	for _, ev := range r.pending {
		keep(ev)
	}
	r.pending = nil
	for {
		select {
		case ev := <-r.ch:
			keep(ev)
		default:
			return out
		}
	}
}

// statusRecorder is a status check that keeps the last report of each
// plugin.
type statusRecorder struct {
	mu   sync.Mutex
	last map[string]statusReport
}

type statusReport struct {
	state statuscheck.PluginState
	err   error
}

func (s *statusRecorder) Register(string, statuscheck.PluginStateProbe) error { return nil }

func (s *statusRecorder) ReportStateChange(name string, state statuscheck.PluginState, err error) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.last == nil {
		s.last = map[string]statusReport{}
	}
	s.last[name] = statusReport{state, err}
	return nil
}

func (s *statusRecorder) get(name string) statusReport {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.last[name]
}

// running is an agent with the process manager and a supervisor.
type running struct {
	agent  *agent.Agent
	sv     *supervisor.Plugin
	events *recorder
	status *statusRecorder
	conf   string
	once   sync.Once
	err    error
}

// stop stops the agent; the cleanup of the test does it otherwise.
func (r *running) stop() error {
	r.once.Do(func() { r.err = r.agent.Stop() })
	return r.err
}

// writeConf writes a supervisor conf in a temporary directory; %[1]s in
// conf is the helper, %[2]s the socket of reports.
func writeConf(t *testing.T, conf string, args ...any) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "supervisor.conf")
	if err := os.WriteFile(path, []byte(fmt.Sprintf(conf, args...)), 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

// start starts an agent whose supervisor reads conf, with extra plugins.
func start(t *testing.T, conf string, extra ...infra.Plugin) *running {
	t.Helper()
	r := &running{events: newRecorder(), status: &statusRecorder{}, conf: conf}
	r.sv = supervisor.NewPlugin(supervisor.WithEventHandler(r.events.handle))
	r.sv.StatusCheck = r.status
	plugins := append([]infra.Plugin{processmanager.NewPlugin(), r.sv}, extra...)
	r.agent = agenttest.New(t, agent.AllPlugins(plugins...),
		agenttest.Env(map[string]string{"SUPERVISOR_CONFIG": conf}), agent.StopTimeout(time.Minute))
	if err := r.agent.Start(); err != nil {
		t.Fatalf("agent Start: %v", err)
	}
	t.Cleanup(func() {
		if err := r.stop(); err != nil && !errors.Is(err, agent.ErrNotStarted) {
			t.Errorf("agent Stop: %v", err)
		}
	})
	return r
}
