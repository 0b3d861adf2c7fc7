//go:build linux

package faultsuite

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/plinth-go/plinth/infra/kvdb/etcd/etcdtest"
)

// crashLoopConf is a supervisor.conf of programs that crash in different
// ways and are restarted always, 20 ms after each end: one exits with 1 at
// once (and runs a hook at each end), one kills itself with SIGKILL, one
// runs 200 ms then exits with 3, and one leaves a grandchild in its
// process group and exits 50 ms later, so the supervisor must kill the
// group. %s is the argument of the grandchild's sleep, unique to the test,
// which finds the grandchildren by their command line.
const crashLoopConf = `programs:
  - name: "exits"
    executable-path: "false"
    restarts: -1
    restart-delay: 20ms
    restart-delay-max: 20ms
  - name: "killed"
    executable-path: "sh"
    executable-args: ["-c", "kill -KILL $$"]
    restarts: -1
    restart-delay: 20ms
    restart-delay-max: 20ms
  - name: "brief"
    executable-path: "sh"
    executable-args: ["-c", "sleep 0.2; exit 3"]
    restarts: -1
    restart-delay: 20ms
    restart-delay-max: 20ms
  - name: "orphaner"
    executable-path: "sh"
    executable-args: ["-c", "sleep %s & sleep 0.05; exit 2"]
    restarts: -1
    restart-delay: 20ms
    restart-delay-max: 20ms
hooks:
  - program-name: "exits"
    event-type: "terminated"
    cmd: "true"
`

// Bounds of the crash-loop scenario. A leak of one descriptor, goroutine
// or thread per restart exceeds them many times over, as the measured
// run holds at least 100 restarts (1000 in the long run); what is in
// flight when a sample is taken (runs, hooks, requests) does not reach
// them, as both ends of the comparison are the smallest value of a window
// of samples.
const (
	fdSlack        = 8
	goroutineSlack = 30
	threadSlack    = 30
	// zombieLimit is how long a zombie child of the agent may be seen
	// before it counts as left behind: a zombie lives only between an exit
	// and its reaping, which takes milliseconds. Seen in two samples, it
	// has lived at least one sample period; the limit allows for a sample
	// taken late on a busy machine.
	zombieLimit = sampleEvery
	// grandchildLimit is how long a grandchild that the supervisor should
	// have killed may be seen: the supervisor kills the process group of
	// a program that ended within AutoTerminate's grace period.
	grandchildLimit = 2 * time.Second
	// sampleEvery is the period of the samples of /proc and /info.
	sampleEvery = 250 * time.Millisecond
	// sampleWindow is how long the baseline and the final samples are taken.
	sampleWindow = 2 * time.Second
)

// crashLoopPaths are the requests of the HTTP load: the probes, and every
// read-only endpoint of the agent that shows the programs or the status.
var crashLoopPaths = []string{
	"/liveness", "/readiness", "/supervisor/programs", "/process/list",
	"/process/exits", "/process/orphaner", "/info", "/log/list", "/metrics",
	"/ui/api/panels", "/ui/api/status-keys",
}

// TestCrashLoopingProgramsLeakNothingUnderLoad: supervised programs that
// crash in a loop, hundreds (thousands in the long run) of times, while the
// agent serves HTTP load, leave no zombie and no surviving grandchild, and
// make neither the open descriptors, the goroutines nor the threads of the
// agent grow; every request succeeds, and the probes answer within
// maxProbeLatency. Once the programs are stopped through REST the agent
// has no child left.
func TestCrashLoopingProgramsLeakNothingUnderLoad(t *testing.T) {
	const scenario = "crash-loop"
	programs := []string{"exits", "killed", "brief", "orphaner"}
	e := etcdtest.StartProcess(t)
	a := newAgent(t, "faultsuite-crashloop", e.Endpoints(), nil)
	// No other agent listens on this port now: a sleep of 7.<port>
	// seconds is one of this agent's grandchildren.
	marker := "7." + strconv.Itoa(a.port)
	conf := fmt.Sprintf(crashLoopConf, marker)
	if err := os.WriteFile(filepath.Join(a.dir, "supervisor.conf"), []byte(conf), 0o644); err != nil {
		t.Fatal(err)
	}
	c := &http.Client{Timeout: 10 * time.Second}
	defer c.CloseIdleConnections()

	a.Start()
	pid := a.cmd.Process.Pid
	waitFor(t, recoverTimeout, "every program has crashed and restarted", func(ctx context.Context) (bool, string) {
		progs, err := programStatuses(ctx, c, a)
		if err != nil {
			return false, err.Error()
		}
		for _, p := range progs {
			if p.Restarts == 0 {
				return false, fmt.Sprintf("%s: no restart yet", p.Name)
			}
		}
		return len(progs) == len(programs), fmt.Sprintf("programs: %+v", progs)
	})

	load := startLoad(a, 4, crashLoopPaths)
	defer load.stop()
	s := &sampler{t: t, c: c, a: a, pid: pid, marker: marker,
		zombies: lingering{limit: zombieLimit}, grandchildren: lingering{limit: grandchildLimit}}
	// Warm up: connections, threads and caches reach their steady size.
	s.run(sampleWindow, nil)
	var base, end agentUsage
	s.run(sampleWindow, &base)
	s.run(time.Duration(rounds(8, 120))*time.Second, nil)
	s.run(sampleWindow, &end)

	maxLatency, requests, err := load.stop()
	if err != nil {
		t.Error(err)
	}
	restarts := end.restarts - base.restarts
	record(t, scenario, "max probe latency", maxLatency)
	recordCount(t, scenario, "requests served", int64(requests))
	recordCount(t, scenario, "restarts measured", int64(restarts))
	recordCount(t, scenario, "restarts in all", int64(end.restarts))
	recordCount(t, scenario, "fds at start", int64(base.fds))
	recordCount(t, scenario, "fds at end", int64(end.fds))
	recordCount(t, scenario, "fds max growth", int64(s.maxFds-base.fds))
	recordCount(t, scenario, "goroutines at start", int64(base.goroutines))
	recordCount(t, scenario, "goroutines at end", int64(end.goroutines))
	recordCount(t, scenario, "threads at start", int64(base.threads))
	recordCount(t, scenario, "threads at end", int64(end.threads))
	recordCount(t, scenario, "zombies seen", int64(s.zombiesSeen))
	record(t, scenario, "longest-seen zombie", s.zombies.worst)
	recordCount(t, scenario, "lingering zombies", int64(len(s.zombies.found)))
	recordCount(t, scenario, "lingering grandchildren", int64(len(s.grandchildren.found)))

	if maxLatency > maxProbeLatency {
		t.Errorf("slowest probe took %v, want at most %v", maxLatency, maxProbeLatency)
	}
	if want := rounds(100, 1000); restarts < want {
		t.Errorf("%d restarts between the first and the last samples, want at least %d for the leak checks to mean something", restarts, want)
	}
	if requests < 200 {
		t.Errorf("%d requests served, want at least 200", requests)
	}
	if end.fds > base.fds+fdSlack {
		t.Errorf("open descriptors of the agent grew from %d to %d over %d restarts", base.fds, end.fds, restarts)
	}
	if end.goroutines > base.goroutines+goroutineSlack {
		t.Errorf("goroutines of the agent grew from %d to %d over %d restarts", base.goroutines, end.goroutines, restarts)
	}
	if end.threads > base.threads+threadSlack {
		t.Errorf("threads of the agent grew from %d to %d over %d restarts", base.threads, end.threads, restarts)
	}
	if len(s.zombies.found) > 0 {
		t.Errorf("zombie children of the agent left unreaped for %v or more: %v", zombieLimit, s.zombies.keys())
	}
	if len(s.grandchildren.found) > 0 {
		t.Errorf("grandchildren (sleep %s) that outlived their program by %v or more: %v", marker, grandchildLimit, s.grandchildren.keys())
	}

	// Stop the programs as an operator does: nothing may be left.
	ctx, cancel := context.WithTimeout(t.Context(), 30*time.Second)
	defer cancel()
	for _, name := range programs {
		if err := stopProgram(ctx, c, a, name); err != nil {
			t.Fatal(err)
		}
	}
	waitFor(t, 15*time.Second, "the agent has no child once its programs are stopped", func(context.Context) (bool, string) {
		kids := childrenOf(pid)
		return len(kids) == 0, fmt.Sprintf("children: %v", kids)
	})
	c.CloseIdleConnections()
	waitFor(t, 10*time.Second, "descriptors and goroutines back to their baseline once the programs are stopped", func(ctx context.Context) (bool, string) {
		fds, err := countFds(pid)
		if err != nil {
			return false, err.Error()
		}
		g, err := agentGoroutines(ctx, c, a)
		if err != nil {
			return false, fmt.Sprintf("%d descriptors (baseline %d); %v", fds, base.fds, err)
		}
		return fds <= base.fds+fdSlack && g <= base.goroutines+goroutineSlack,
			fmt.Sprintf("%d descriptors (baseline %d), %d goroutines (baseline %d)", fds, base.fds, g, base.goroutines)
	})
}

// agentUsage holds the smallest values of a window of samples: what the
// agent holds for good, without what happened to be in flight.
type agentUsage struct {
	fds, threads, goroutines int
	restarts                 int // the largest, as it only grows
}

// sampler samples the agent every sampleEvery: its descriptors and threads
// from /proc, its goroutines from GET /info, the restarts of its programs,
// its zombie children and the grandchildren its programs leave.
type sampler struct {
	t      *testing.T
	c      *http.Client
	a      *agent
	pid    int
	marker string // the argument of the grandchildren's sleep

	maxFds        int
	zombiesSeen   int // distinct zombies seen
	zombies       lingering
	grandchildren lingering
}

// run samples for d and, when w is not nil, keeps the window's figures in
// it.
func (s *sampler) run(d time.Duration, w *agentUsage) {
	s.t.Helper()
	first := true
	tick := time.NewTicker(sampleEvery)
	defer tick.Stop()
	for deadline := time.Now().Add(d); time.Now().Before(deadline); <-tick.C {
		fds, err := countFds(s.pid)
		if err != nil {
			s.t.Fatal(err)
		}
		threads, err := countThreads(s.pid)
		if err != nil {
			s.t.Fatal(err)
		}
		ctx, cancel := context.WithTimeout(s.t.Context(), 10*time.Second)
		g, err := agentGoroutines(ctx, s.c, s.a)
		if err != nil {
			cancel()
			s.t.Fatal(err)
		}
		progs, err := programStatuses(ctx, s.c, s.a)
		cancel()
		if err != nil {
			s.t.Fatal(err)
		}
		restarts := 0
		for _, p := range progs {
			restarts += p.Restarts
		}
		s.maxFds = max(s.maxFds, fds)
		s.observeProcs()
		if w == nil {
			continue
		}
		if first {
			*w = agentUsage{fds: fds, threads: threads, goroutines: g}
			first = false
		}
		w.fds, w.threads, w.goroutines = min(w.fds, fds), min(w.threads, threads), min(w.goroutines, g)
		w.restarts = max(w.restarts, restarts)
	}
}

// observeProcs scans /proc for the zombie children of the agent and the
// live grandchildren of its programs.
func (s *sampler) observeProcs() {
	now := time.Now()
	var zombies, grandchildren []procKey
	for _, p := range scanProcs() {
		switch {
		case p.ppid == s.pid && p.state == 'Z':
			zombies = append(zombies, p.key())
		case p.comm == "sleep" && p.state != 'Z' && p.state != 'X' && isMarkedSleep(p.pid, s.marker):
			grandchildren = append(grandchildren, p.key())
		}
	}
	s.zombiesSeen += s.zombies.observe(now, zombies)
	s.grandchildren.observe(now, grandchildren)
}

func isMarkedSleep(pid int, marker string) bool {
	cmdline, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/cmdline")
	return err == nil && bytes.Equal(cmdline, []byte("sleep\x00"+marker+"\x00"))
}

// procKey tells processes apart across samples: a pid may be reused, not
// with the same start time.
type procKey struct {
	pid   int
	start uint64 // clock ticks after boot
}

// lingering finds processes that stay in a state across samples for limit
// or more.
type lingering struct {
	limit time.Duration
	since map[procKey]time.Time // when each process present was first seen
	found map[procKey]bool
	worst time.Duration // the longest a process was seen
}

// observe records the processes present now and returns how many are new.
func (l *lingering) observe(now time.Time, present []procKey) (added int) {
	if l.since == nil {
		l.since, l.found = map[procKey]time.Time{}, map[procKey]bool{}
	}
	for k := range l.since {
		if !slices.Contains(present, k) {
			delete(l.since, k)
		}
	}
	for _, k := range present {
		first, ok := l.since[k]
		if !ok {
			l.since[k] = now
			added++
			continue
		}
		l.worst = max(l.worst, now.Sub(first))
		if now.Sub(first) >= l.limit {
			l.found[k] = true
		}
	}
	return added
}

// keys lists the pids of the processes found, the first ten of them.
func (l *lingering) keys() string {
	var pids []int
	for k := range l.found {
		pids = append(pids, k.pid)
	}
	slices.Sort(pids)
	if len(pids) > 10 {
		return fmt.Sprintf("%v and %d more", pids[:10], len(pids)-10)
	}
	return fmt.Sprint(pids)
}

// procEntry is what the tests read of /proc/<pid>/stat.
type procEntry struct {
	pid, ppid int
	comm      string
	state     byte
	start     uint64
}

func (p procEntry) key() procKey { return procKey{p.pid, p.start} }

// scanProcs reads the stat file of every process; processes that exit
// meanwhile are skipped.
func scanProcs() []procEntry {
	entries, err := os.ReadDir("/proc")
	if err != nil {
		return nil
	}
	var out []procEntry
	for _, e := range entries {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		b, err := os.ReadFile("/proc/" + e.Name() + "/stat")
		if err != nil {
			continue
		}
		if p, ok := parseStat(pid, string(b)); ok {
			out = append(out, p)
		}
	}
	return out
}

// parseStat parses a stat file: the command name is in parentheses and may
// hold spaces and parentheses, so the fields follow its last ')'. After it
// come state (field 3), ppid (4) and, as field 22, the start time.
func parseStat(pid int, s string) (procEntry, bool) {
	open, end := strings.IndexByte(s, '('), strings.LastIndexByte(s, ')')
	if open < 0 || end < open {
		return procEntry{}, false
	}
	f := strings.Fields(s[end+1:])
	if len(f) < 20 || len(f[0]) != 1 {
		return procEntry{}, false
	}
	ppid, err1 := strconv.Atoi(f[1])
	start, err2 := strconv.ParseUint(f[19], 10, 64)
	if err1 != nil || err2 != nil {
		return procEntry{}, false
	}
	return procEntry{pid: pid, ppid: ppid, comm: s[open+1 : end], state: f[0][0], start: start}, true
}

// children returns the children of pid, zombies included, as "pid:state".
func childrenOf(pid int) []string {
	var out []string
	for _, p := range scanProcs() {
		if p.ppid == pid {
			out = append(out, fmt.Sprintf("%d(%s):%c", p.pid, p.comm, p.state))
		}
	}
	return out
}

// countFds counts the open descriptors of pid.
func countFds(pid int) (int, error) {
	entries, err := os.ReadDir("/proc/" + strconv.Itoa(pid) + "/fd")
	if err != nil {
		return 0, err
	}
	return len(entries), nil
}

// countThreads reads the number of threads of pid from its status file.
func countThreads(pid int) (int, error) {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/status")
	if err != nil {
		return 0, err
	}
	for line := range strings.Lines(string(b)) {
		if v, ok := strings.CutPrefix(line, "Threads:"); ok {
			return strconv.Atoi(strings.TrimSpace(v))
		}
	}
	return 0, fmt.Errorf("/proc/%d/status: no Threads line", pid)
}

// goroutines reads the number of goroutines of the agent from GET /info.
func agentGoroutines(ctx context.Context, c *http.Client, a *agent) (int, error) {
	var info struct {
		Goroutines *int `json:"goroutines"`
	}
	if err := requestJSON(ctx, c, http.MethodGet, a.url("/info"), &info); err != nil {
		return 0, err
	}
	if info.Goroutines == nil {
		return 0, fmt.Errorf("GET /info: no goroutines")
	}
	return *info.Goroutines, nil
}

// httpLoad requests the paths from several goroutines, each in turn, with a
// client of its own, and keeps the slowest probe and the first unexpected
// answer. The probes may answer 503 (the crashing programs make the agent
// not ready); every other request must answer 200.
type httpLoad struct {
	cancel    context.CancelFunc
	wg        sync.WaitGroup
	transport *http.Transport
	requests  atomic.Int64

	mu       sync.Mutex // guards maxProbe and err
	maxProbe time.Duration
	err      error
}

func startLoad(a *agent, workers int, paths []string) *httpLoad {
	ctx, cancel := context.WithCancel(context.Background())
	l := &httpLoad{cancel: cancel, transport: &http.Transport{MaxIdleConnsPerHost: workers}}
	c := &http.Client{Transport: l.transport, Timeout: 10 * time.Second}
	for w := range workers {
		l.wg.Go(func() {
			for i := w; ctx.Err() == nil; i++ {
				path := paths[i%len(paths)]
				code, took, err := l.get(ctx, c, a.url(path))
				if ctx.Err() != nil {
					return
				}
				l.requests.Add(1)
				probe := path == "/liveness" || path == "/readiness"
				if err == nil && code != http.StatusOK && (!probe || code != http.StatusServiceUnavailable) {
					err = fmt.Errorf("GET %s answered %d", path, code)
				}
				l.mu.Lock()
				if probe {
					l.maxProbe = max(l.maxProbe, took)
				}
				if err != nil && l.err == nil {
					l.err = fmt.Errorf("request %d: %w", l.requests.Load(), err)
				}
				l.mu.Unlock()
				// Leave the agent a little time of its own: the load
				// must not starve the restarts it checks.
				time.Sleep(2 * time.Millisecond)
			}
		})
	}
	return l
}

func (l *httpLoad) get(ctx context.Context, c *http.Client, url string) (int, time.Duration, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return 0, 0, err
	}
	start := time.Now()
	resp, err := c.Do(req)
	if err != nil {
		return 0, time.Since(start), err
	}
	defer resp.Body.Close()
	_, err = io.Copy(io.Discard, resp.Body)
	return resp.StatusCode, time.Since(start), err
}

// stop stops the load and returns the slowest probe, the number of
// requests answered and the first failure. Calling it again returns the
// same.
func (l *httpLoad) stop() (time.Duration, int, error) {
	l.cancel()
	l.wg.Wait()
	l.transport.CloseIdleConnections()
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.maxProbe, int(l.requests.Load()), l.err
}
