//go:build linux

package faultsuite

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	clientv3 "go.etcd.io/etcd/client/v3"
	"go.uber.org/zap"

	"github.com/plinth-go/plinth/infra/kvdb/etcd/etcdtest"
	"github.com/plinth-go/plinth/internal/freeport"
	"github.com/plinth-go/plinth/internal/testwait"
)

// agentBin is the demo agent, built once by TestMain.
var agentBin string

// long selects the long runs of `make chaos`.
var long = os.Getenv("FAULTSUITE_LONG") != ""

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "faultsuite-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	agentBin = filepath.Join(dir, "agent")
	if err := goBuild(agentBin, "examples/agent"); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.RemoveAll(dir)
		os.Exit(1)
	}
	code := m.Run()
	os.RemoveAll(dir)
	if long {
		printFigures(os.Stdout)
	}
	if code == 0 {
		if err := etcdtest.FindLeaks(); err != nil {
			fmt.Fprintln(os.Stderr, err)
			code = 1
		}
	}
	os.Exit(code)
}

// goBuild builds the command in pkg, a directory of the module, into out.
func goBuild(out, pkg string) error {
	b, err := exec.Command("go", "build", "-o", out, "github.com/plinth-go/plinth/"+pkg).CombinedOutput()
	if err != nil {
		return fmt.Errorf("faultsuite: build %s: %v\n%s", pkg, err, b)
	}
	return nil
}

// rounds returns short in the default run and long with FAULTSUITE_LONG.
func rounds(short, longer int) int {
	if long {
		return longer
	}
	return short
}

// Bounds of the checks. They are far above what an idle machine needs
// (see docs/operations.md for the figures) so that a loaded CI machine
// running the tests with -race does not fail them.
const (
	// maxProbeLatency bounds one /liveness or /readiness request.
	maxProbeLatency = 2 * time.Second
	// recoverTimeout bounds the time from a restart (of etcd or of the
	// agent) until the agent is OK and its keys match its state.
	recoverTimeout = 30 * time.Second
	// expiryTimeout bounds the time from the agent's death until its keys
	// are gone; the session TTL is 2 s.
	expiryTimeout = 20 * time.Second
)

// figures collects what the tests measured, for the summary table.
var figures struct {
	mu   sync.Mutex // guards rows
	rows []figure
}

// A figure is one row of the summary table: durations, or counts when
// count is set.
type figure struct {
	scenario, name string
	count          bool
	values         []int64
}

// record adds one duration and logs it.
func record(t *testing.T, scenario, name string, d time.Duration) {
	t.Helper()
	t.Logf("%s: %s %v", scenario, name, d.Round(time.Microsecond))
	addFigure(scenario, name, false, int64(d))
}

// recordCount adds one count (messages, restarts, file descriptors...) and
// logs it.
func recordCount(t *testing.T, scenario, name string, n int64) {
	t.Helper()
	t.Logf("%s: %s %d", scenario, name, n)
	addFigure(scenario, name, true, n)
}

func addFigure(scenario, name string, count bool, v int64) {
	figures.mu.Lock()
	defer figures.mu.Unlock()
	for i := range figures.rows {
		if figures.rows[i].scenario == scenario && figures.rows[i].name == name {
			figures.rows[i].values = append(figures.rows[i].values, v)
			return
		}
	}
	figures.rows = append(figures.rows, figure{scenario, name, count, []int64{v}})
}

func printFigures(w io.Writer) {
	figures.mu.Lock()
	defer figures.mu.Unlock()
	fmt.Fprintln(w, "\nfault suite summary")
	fmt.Fprintf(w, "%-16s  %-32s  %5s  %10s  %10s  %10s\n", "SCENARIO", "FIGURE", "N", "MIN", "MEDIAN", "MAX")
	for _, f := range figures.rows {
		v := slices.Clone(f.values)
		slices.Sort(v)
		show := func(x int64) string {
			if f.count {
				return strconv.FormatInt(x, 10)
			}
			return time.Duration(x).Round(time.Millisecond / 10).String()
		}
		fmt.Fprintf(w, "%-16s  %-32s  %5d  %10s  %10s  %10s\n", f.scenario, f.name, len(v),
			show(v[0]), show(v[len(v)/2]), show(v[len(v)-1]))
	}
}

// agent is the demo agent running as a separate process.
type agent struct {
	process
	label string
	port  int
	dir   string // config dir
	env   []string
}

// process is a child process of a test, started again after each crash.
type process struct {
	t    *testing.T
	what string // names it in failures: "agent", "plinth-kafka"
	log  string // file with the output of every run

	cmd  *exec.Cmd
	done chan struct{} // closed when cmd has exited
}

// newAgent writes the given config files into a new config dir and
// returns an agent that Start runs with them against etcd at endpoints.
func newAgent(t *testing.T, label string, endpoints []string, files map[string]string) *agent {
	t.Helper()
	dir := t.TempDir()
	for name, text := range files {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(text), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	a := &agent{
		process: process{t: t, what: "agent", log: filepath.Join(dir, "agent.log")},
		label:   label, port: freeport.Port(t), dir: dir,
		env: append(os.Environ(), "ETCD_ENDPOINTS="+strings.Join(endpoints, ","), "GOTRACEBACK=all"),
	}
	t.Cleanup(a.stop)
	return a
}

// Start starts the agent process; it does not wait for the agent to serve.
func (a *agent) Start() {
	a.t.Helper()
	out, err := os.OpenFile(a.log, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		a.t.Fatal(err)
	}
	defer out.Close()
	cmd := exec.Command(agentBin, "-http-port", strconv.Itoa(a.port), "-microservice-label", a.label, "-config-dir", a.dir)
	// The working directory holds nothing the agent needs; it keeps
	// whatever the agent writes by default out of the source tree.
	cmd.Dir, cmd.Env, cmd.Stdout, cmd.Stderr = a.dir, a.env, out, out
	// The agent must not outlive a test binary that dies.
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	if err := cmd.Start(); err != nil {
		a.t.Fatal(err)
	}
	a.cmd, a.done = cmd, make(chan struct{})
	go func(done chan struct{}) {
		_ = cmd.Wait()
		close(done)
	}(a.done)
}

// Kill SIGKILLs the process, as a crash would, and waits until it is gone.
func (p *process) Kill() {
	p.t.Helper()
	_ = p.cmd.Process.Signal(syscall.SIGKILL)
	select {
	case <-p.done:
	case <-time.After(10 * time.Second):
		p.t.Fatalf("%s: still running 10s after SIGKILL", p.what)
	}
}

// stop ends a running process the way an operator does, SIGTERM, and kills
// it if it does not exit in time. When the test failed, it logs the end of
// the output.
func (p *process) stop() {
	if p.cmd == nil {
		return
	}
	select {
	case <-p.done:
		return
	default:
	}
	if p.t.Failed() {
		p.dumpStacks()
		return
	}
	_ = p.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-p.done:
	case <-time.After(20 * time.Second):
		p.t.Errorf("%s: still running 20s after SIGTERM; killed", p.what)
		_ = p.cmd.Process.Signal(syscall.SIGKILL)
		<-p.done
	}
	if p.t.Failed() {
		p.t.Logf("%s output:\n%s", p.what, p.output())
	}
}

// dumpStacks ends a process of a failed test with SIGQUIT, on which the Go
// runtime prints every goroutine (the processes run with
// GOTRACEBACK=all), and logs the end of its output and then the
// goroutines: what a hang was waiting for.
func (p *process) dumpStacks() {
	before, _ := os.ReadFile(p.log)
	_ = p.cmd.Process.Signal(syscall.SIGQUIT)
	select {
	case <-p.done:
	case <-time.After(10 * time.Second):
		_ = p.cmd.Process.Signal(syscall.SIGKILL)
		<-p.done
	}
	p.t.Logf("%s output:\n%s", p.what, tail(string(before), 60))
	after, err := os.ReadFile(p.log)
	if err != nil || len(after) < len(before) {
		return
	}
	p.t.Logf("%s goroutines at the failure:\n%s", p.what, head(string(after[len(before):]), 3000))
}

// output returns the end of the output of every run.
func (p *process) output() string {
	out, err := os.ReadFile(p.log)
	if err != nil {
		return err.Error()
	}
	return tail(string(out), 60)
}

func (a *agent) url(path string) string {
	return "http://127.0.0.1:" + strconv.Itoa(a.port) + path
}

// status is the part of the agent status that the tests compare.
type status struct {
	State   int `json:"state"`
	Plugins []struct {
		Name  string `json:"name"`
		State int    `json:"state"`
		Error string `json:"error"`
	} `json:"plugins"`
}

// states maps "agent" and every plugin to its state number.
func (s status) states() map[string]int {
	m := map[string]int{"agent": s.State}
	for _, p := range s.Plugins {
		m["plugin/"+p.Name] = p.State
	}
	return m
}

// probe fetches /liveness or /readiness and returns the status code, the
// status in the body and how long the request took.
func probe(ctx context.Context, c *http.Client, url string) (int, status, time.Duration, error) {
	var s status
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return 0, s, 0, err
	}
	start := time.Now()
	resp, err := c.Do(req)
	if err != nil {
		return 0, s, time.Since(start), err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	took := time.Since(start)
	if err != nil {
		return resp.StatusCode, s, took, err
	}
	if err := json.Unmarshal(body, &s); err != nil {
		return resp.StatusCode, s, took, fmt.Errorf("%s: body %q: %w", url, body, err)
	}
	return resp.StatusCode, s, took, nil
}

// requestJSON sends a request without a body and decodes the JSON of a 200
// answer into v; any other status is an error with the body.
func requestJSON(ctx context.Context, c *http.Client, method, url string, v any) error {
	req, err := http.NewRequestWithContext(ctx, method, url, nil)
	if err != nil {
		return err
	}
	resp, err := c.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		return fmt.Errorf("%s %s: %w", method, url, err)
	}
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("%s %s: %s: %s", method, url, resp.Status, body)
	}
	if err := json.Unmarshal(body, v); err != nil {
		return fmt.Errorf("%s %s: body %q: %w", method, url, body, err)
	}
	return nil
}

// storedStates reads the status keys of the agent from etcd, as the map
// status.states returns.
func storedStates(ctx context.Context, cli *clientv3.Client, label string) (map[string]int, error) {
	prefix := "/vnf-agent/" + label + "/check/status/v1/"
	resp, err := cli.Get(ctx, prefix, clientv3.WithPrefix())
	if err != nil {
		return nil, err
	}
	m := make(map[string]int, len(resp.Kvs))
	for _, kv := range resp.Kvs {
		var v struct {
			State int `json:"state"`
		}
		if err := json.Unmarshal(kv.Value, &v); err != nil {
			return nil, fmt.Errorf("key %s: value %q: %w", kv.Key, kv.Value, err)
		}
		m[strings.TrimPrefix(string(kv.Key), prefix)] = v.State
	}
	return m, nil
}

// storedValues reads the status keys of the agent from etcd: their values
// by name under the status prefix.
func storedValues(ctx context.Context, cli *clientv3.Client, label string) (map[string]string, error) {
	prefix := "/vnf-agent/" + label + "/check/status/v1/"
	resp, err := cli.Get(ctx, prefix, clientv3.WithPrefix())
	if err != nil {
		return nil, err
	}
	m := make(map[string]string, len(resp.Kvs))
	for _, kv := range resp.Kvs {
		m[strings.TrimPrefix(string(kv.Key), prefix)] = string(kv.Value)
	}
	return m, nil
}

// newEtcdClient returns a client of the test's own, closed when the test
// ends (before the etcd process, which was started earlier).
func newEtcdClient(t *testing.T, endpoints []string) *clientv3.Client {
	t.Helper()
	cli, err := clientv3.New(clientv3.Config{Endpoints: endpoints, DialTimeout: 5 * time.Second, Logger: zap.NewNop()})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cli.Close() })
	return cli
}

// waitFor calls cond until it returns true, and fails the test when
// timeout passes first; the failure shows cond's last explanation. It
// returns how long it waited.
func waitFor(t *testing.T, timeout time.Duration, what string, cond func(ctx context.Context) (bool, string)) time.Duration {
	t.Helper()
	ctx, cancel := context.WithTimeoutCause(t.Context(), timeout, fmt.Errorf("timeout %v", timeout))
	defer cancel()
	return testwait.Until(ctx, t, what, cond)
}

// inSync returns a condition for waitFor: etcd is OK, and the status keys
// in etcd equal what the agent serves, whole values (see statusDiff).
func inSync(c *http.Client, cli *clientv3.Client, a *agent) func(ctx context.Context) (bool, string) {
	return func(ctx context.Context) (bool, string) {
		rctx, cancel := context.WithTimeout(ctx, 5*time.Second)
		defer cancel()
		code, s, _, err := probe(rctx, c, a.url("/readiness"))
		if err != nil {
			return false, err.Error()
		}
		if states := s.states(); states["plugin/etcd"] != 1 {
			return false, fmt.Sprintf("/readiness answers %d: %v", code, states)
		}
		stored, err := storedValues(rctx, cli, a.label)
		if err != nil {
			return false, "etcd: " + err.Error()
		}
		diff, err := statusDiffFrom(rctx, c, a, stored)
		if err != nil {
			return false, err.Error()
		}
		return diff == "", diff
	}
}

// head returns the first lines of s.
func head(s string, lines int) string {
	l := strings.Split(s, "\n")
	if len(l) > lines {
		l = append(l[:lines], fmt.Sprintf("[%d more lines]", len(l)-lines))
	}
	return strings.Join(l, "\n")
}

func tail(s string, lines int) string {
	l := strings.Split(s, "\n")
	if len(l) > lines {
		l = l[len(l)-lines:]
	}
	return strings.Join(l, "\n")
}
