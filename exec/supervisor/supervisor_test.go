//go:build linux

package supervisor_test

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math/big"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/plinth-go/plinth/agent"
	"github.com/plinth-go/plinth/agent/agenttest"
	"github.com/plinth-go/plinth/exec/processmanager"
	"github.com/plinth-go/plinth/exec/processmanager/status"
	"github.com/plinth-go/plinth/exec/supervisor"
	"github.com/plinth-go/plinth/health/statuscheck"
	"github.com/plinth-go/plinth/infra/rest"
)

func types(evs []supervisor.Event) []supervisor.EventType {
	out := make([]supervisor.EventType, len(evs))
	for i, ev := range evs {
		out[i] = ev.Type
	}
	return out
}

func TestProgramKilledRestartsExactlyTheConfiguredTimesThenGivesUp(t *testing.T) {
	rep := newReports(t)
	r := start(t, writeConf(t, `
programs:
  - name: crasher
    executable-path: %[1]s
    executable-args: [%[2]s, run]
    restarts: 2
    restart-delay: 0s
`, helper, rep.path))

	var pids []int
	for range 3 {
		pid := rep.ready(t)
		pids = append(pids, pid)
		r.events.next(t, "crasher", supervisor.EventTypeStarted)
		if err := unix.Kill(pid, syscall.SIGKILL); err != nil {
			t.Fatal(err)
		}
		ev := r.events.next(t, "crasher", supervisor.EventTypeTerminated)
		if ev.Pid != pid || ev.Exit == nil || ev.Exit.Signal != syscall.SIGKILL {
			t.Fatalf("terminated event %+v, want pid %d killed by SIGKILL", ev, pid)
		}
	}
	gaveUp := r.events.next(t, "crasher", supervisor.EventTypeGaveUp)
	if gaveUp.Restarts != 2 || gaveUp.State != "gave-up" {
		t.Errorf("gave-up event: restarts %d state %q, want 2 and gave-up", gaveUp.Restarts, gaveUp.State)
	}
	st, _ := r.sv.Program("crasher")
	if st.State != supervisor.ProgramStateGaveUp || st.Restarts != 2 || st.Pid != 0 || st.LastExitSignal != "SIGKILL" {
		t.Errorf("Program(crasher) = %+v, want gave-up after 2 restarts, killed", st)
	}
	if rep := r.status.get("supervisor.crasher"); rep.state != statuscheck.StateError || !strings.Contains(fmt.Sprint(rep.err), "gave up after 2 restarts") {
		t.Errorf("status of supervisor.crasher = %v %v, want ERROR gave up", rep.state, rep.err)
	}
	if err := r.stop(); err != nil {
		t.Fatal(err)
	}
	// Three runs, two restarts: nothing after gave-up, not even a stop.
	if got := types(r.events.all("crasher")); len(got) != 0 {
		t.Errorf("events after gave-up: %v, want none", got)
	}
	if len(slices.Compact(slices.Clone(pids))) != 3 {
		t.Errorf("pids of the runs %v, want 3 different", pids)
	}
}

// hookReport is what a hook helper reported.
type hookReport struct {
	id  string
	env map[string]string
}

func hookReports(t *testing.T, lines []string) []hookReport {
	t.Helper()
	var out []hookReport
	for _, l := range lines {
		rest, ok := strings.CutPrefix(l, "hook ")
		if !ok {
			continue
		}
		id, js, _ := strings.Cut(rest, " ")
		h := hookReport{id: id}
		if err := json.Unmarshal([]byte(js), &h.env); err != nil {
			t.Fatalf("hook report %q: %v", l, err)
		}
		out = append(out, h)
	}
	return out
}

func TestHooksRunForTheirProgramAndEventWithTheirEnvironment(t *testing.T) {
	// A variable of the agent's own that no hook may see.
	t.Setenv("PLINTH_TEST_SECRET", "agent-only")
	rep := newReports(t)
	// Every hook must run: the stop must not cut the last ones short,
	// however slowly they start on a loaded machine.
	r := start(t, writeConf(t, `
hooks-shutdown-timeout: 30s
programs:
  - name: main
    executable-path: %[1]s
    executable-args: [%[2]s, run]
    restarts: 1
    restart-delay: 0s
  - name: side
    executable-path: %[1]s
    executable-args: [%[2]s, run]
hooks:
  - cmd: %[1]s
    cmd-args: [%[2]s, hook, every]
  - program-name: main
    event-type: terminated
    cmd: %[1]s
    cmd-args: [%[2]s, hook, main-terminated]
  - event-type: started
    cmd: %[1]s
    cmd-args: [%[2]s, hook-fail, started]
`, helper, rep.path))

	first := r.events.next(t, "main", supervisor.EventTypeStarted).Pid
	r.events.next(t, "side", supervisor.EventTypeStarted)
	if err := unix.Kill(first, syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	second := r.events.next(t, "main", supervisor.EventTypeStarted).Pid
	if err := r.stop(); err != nil {
		t.Fatal(err)
	}
	path := helper
	got := map[string][]map[string]string{} // "hook id/program" -> envs, status events left out
	for _, h := range hookReports(t, rep.drain(t)) {
		if t := supervisor.EventType(h.env["SUPERVISOR_EVENT_TYPE"]); t != supervisor.EventTypeStatus && stateChange(t) {
			continue // TestStateChangeEventsFollowTheProgramsLife checks them
		}
		if h.env["SUPERVISOR_EVENT_TYPE"] == "status" {
			if h.id != "every" {
				t.Errorf("hook %s ran for a status event", h.id)
			}
			if st := status.State(h.env["SUPERVISOR_PROCESS_STATE"]); !st.Alive() {
				t.Errorf("status event with state %q", st)
			}
			continue
		}
		key := h.id + "/" + h.env["SUPERVISOR_PROCESS_NAME"]
		got[key] = append(got[key], h.env)
	}
	p1, p2 := strconv.Itoa(first), strconv.Itoa(second)
	common := func(name, typ, state, pid, restarts string) map[string]string {
		m := map[string]string{
			"SUPERVISOR_PROCESS_NAME": name, "SUPERVISOR_EVENT_TYPE": typ, "SUPERVISOR_PROCESS_STATE": state,
			"SUPERVISOR_PROCESS_PATH": path, "SUPERVISOR_PROCESS_PID": pid, "SUPERVISOR_RESTARTS": restarts,
		}
		// Of the agent's environment, only the allowed variables.
		for _, k := range []string{"PATH", "HOME"} {
			if v, ok := os.LookupEnv(k); ok {
				m[k] = v
			}
		}
		return m
	}
	mainStarted1 := common("main", "started", "started", p1, "0")
	mainTerminated := common("main", "terminated", "terminated", p1, "0")
	mainTerminated["SUPERVISOR_EXIT_SIGNAL"] = "SIGKILL"
	mainStarted2 := common("main", "started", "started", p2, "1")
	mainStopped := common("main", "stopped", "stopped", p2, "1")
	mainStopped["SUPERVISOR_EXIT_SIGNAL"] = "SIGTERM"
	sidePid := ""
	if s := got["every/side"]; len(s) > 0 {
		sidePid = s[0]["SUPERVISOR_PROCESS_PID"]
	}
	sideStarted := common("side", "started", "started", sidePid, "0")
	sideStopped := common("side", "stopped", "stopped", sidePid, "0")
	sideStopped["SUPERVISOR_EXIT_SIGNAL"] = "SIGTERM"

	want := map[string][]map[string]string{
		"every/main":           {mainStarted1, mainTerminated, mainStarted2, mainStopped},
		"every/side":           {sideStarted, sideStopped},
		"main-terminated/main": {mainTerminated},
		"started/main":         {mainStarted1, mainStarted2},
		"started/side":         {sideStarted},
	}
	for key, w := range want {
		g := got[key]
		if len(g) != len(w) {
			t.Errorf("hook/program %s ran %d times: %v, want %d: %v", key, len(g), g, len(w), w)
			continue
		}
		for i := range w {
			for k, v := range w[i] {
				if g[i][k] != v {
					t.Errorf("hook/program %s run %d: %s=%q, want %q", key, i, k, g[i][k], v)
				}
			}
			for k := range g[i] {
				if _, ok := w[i][k]; !ok {
					t.Errorf("hook/program %s run %d: unexpected %s=%q", key, i, k, g[i][k])
				}
			}
		}
	}
	for key := range got {
		if _, ok := want[key]; !ok {
			t.Errorf("hook/program %s ran, want never: %v", key, got[key])
		}
	}
}

func TestHangingHooksAreKilledAndNeverBlockSupervision(t *testing.T) {
	rep := newReports(t)
	r := start(t, writeConf(t, `
hooks-shutdown-timeout: 100ms
programs:
  - name: flaky
    executable-path: %[1]s
    executable-args: [%[2]s, run]
    restarts: 2
    restart-delay: 0s
hooks:
  - program-name: flaky
    event-type: started
    cmd: %[1]s
    cmd-args: [%[2]s, hang, started]
    timeout: 500ms
  - program-name: flaky
    event-type: terminated
    cmd: %[1]s
    cmd-args: [%[2]s, hang, terminated]
    timeout: 1h
`, helper, rep.path))

	// The terminated hook hangs for an hour, yet the restarts go on.
	for range 3 {
		pid := r.events.next(t, "flaky", supervisor.EventTypeStarted).Pid
		if err := unix.Kill(pid, syscall.SIGKILL); err != nil {
			t.Fatal(err)
		}
		r.events.next(t, "flaky", supervisor.EventTypeTerminated)
	}
	r.events.next(t, "flaky", supervisor.EventTypeGaveUp)
	// Hooks of one program run in event order: the first started hook
	// hangs until it is killed after its 500ms, and only then the first
	// terminated hook can run, to hang in turn.
	rep.next(t, "hang terminated ")
	begin := time.Now()
	if err := r.stop(); err != nil {
		t.Fatal(err)
	}
	// Close killed the hanging hook after hooks-shutdown-timeout rather
	// than waiting for its hour.
	if d := time.Since(begin); d > 20*time.Second {
		t.Errorf("Stop took %v with a hook hanging for an hour", d)
	}
}

// threadsAffinity returns the CPUs of every thread of pid, from its
// Cpus_allowed_list.
func threadsAffinity(t *testing.T, pid int) [][]int {
	t.Helper()
	tasks, err := os.ReadDir(fmt.Sprintf("/proc/%d/task", pid))
	if err != nil {
		t.Fatal(err)
	}
	var out [][]int
	for _, task := range tasks {
		b, err := os.ReadFile(fmt.Sprintf("/proc/%d/task/%s/status", pid, task.Name()))
		if err != nil {
			continue // the thread ended
		}
		st, err := status.ParseStatus(b)
		if err != nil {
			t.Fatal(err)
		}
		cpus, err := processmanager.ParseCPUList(st.CpusAllowedList)
		if err != nil {
			t.Fatalf("thread %s: Cpus_allowed_list %q: %v", task.Name(), st.CpusAllowedList, err)
		}
		out = append(out, cpus)
	}
	return out
}

func TestAffinityBindsEveryThreadAfterTheDelay(t *testing.T) {
	var set unix.CPUSet
	if err := unix.SchedGetaffinity(0, &set); err != nil {
		t.Fatal(err)
	}
	// The cpus this process may use, which its children inherit: not
	// necessarily 0 to runtime.NumCPU()-1.
	var cpus []int
	for c := range 1024 { // the size of a unix.CPUSet
		if set.IsSet(c) {
			cpus = append(cpus, c)
		}
	}
	if len(cpus) < 2 {
		t.Skipf("the test needs 2 CPUs to tell a binding from none; it may use %v", cpus)
	}
	first, last := cpus[0], cpus[len(cpus)-1]
	// The mask of the last cpu, which may be above 63.
	mask := new(big.Int).SetBit(new(big.Int), last, 1)
	rep := newReports(t)
	const delay = 300 * time.Millisecond
	r := start(t, writeConf(t, `
programs:
  - name: masked
    executable-path: %[1]s
    executable-args: [%[2]s, threads]
    cpu-affinity-mask: "%[3]x"
    cpu-affinity-setup-delay: 300ms
  - name: listed
    executable-path: %[1]s
    executable-args: [%[2]s, threads]
    cpu-affinity-list: "%[4]d"
    cpu-affinity-setup-delay: 300000000
`, helper, rep.path, mask, first))
	// Once ready, each program has its 3 extra threads besides main.
	ready := map[int]bool{rep.ready(t): true, rep.ready(t): true}

	for _, tc := range []struct {
		name string
		want []int
	}{{"masked", []int{last}}, {"listed", []int{first}}} {
		t.Run(tc.name, func(t *testing.T) {
			ev := r.events.next(t, tc.name, supervisor.EventTypeStarted)
			if !ready[ev.Pid] {
				t.Fatalf("started pid %d, which did not report ready (%v)", ev.Pid, ready)
			}
			deadline := time.Now().Add(waitBound)
			for {
				threads := threadsAffinity(t, ev.Pid)
				bound := len(threads) >= 4
				for _, c := range threads {
					bound = bound && slices.Equal(c, tc.want)
				}
				if bound {
					if since := time.Since(ev.Time); since < delay {
						t.Errorf("bound %v after the start, before the delay of %v", since, delay)
					}
					return
				}
				if time.Now().After(deadline) {
					t.Fatalf("threads of %s bound to %v, want at least 4, all bound to %v", tc.name, threads, tc.want)
				}
				time.Sleep(20 * time.Millisecond)
			}
		})
	}
}

func TestInvalidAffinityIsLoggedAndTheProgramRuns(t *testing.T) {
	rep := newReports(t)
	start(t, writeConf(t, `
programs:
  - executable-path: %[1]s
    executable-args: [%[2]s, run]
    cpu-affinity-mask: "not hex"
`, helper, rep.path))
	rep.ready(t)
}

func TestStopKillsAProgramIgnoringItsStopSignalAfterTheStopTimeout(t *testing.T) {
	rep := newReports(t)
	r := start(t, writeConf(t, `
programs:
  - name: stubborn
    executable-path: %[1]s
    executable-args: [%[2]s, ignore-term]
    stop-timeout: 300ms
  - name: polite
    executable-path: %[1]s
    executable-args: [%[2]s, run]
    stop-signal: INT
`, helper, rep.path))
	rep.ready(t)
	rep.ready(t)
	begin := time.Now()
	if err := r.stop(); err != nil {
		t.Fatal(err)
	}
	elapsed := time.Since(begin)
	// Of one priority, both stop together.
	polite := r.events.next(t, "polite", supervisor.EventTypeStopped)
	if polite.Exit == nil || polite.Exit.Signal != syscall.SIGINT {
		t.Errorf("polite stopped with %v, want SIGINT, its stop-signal", polite.Exit)
	}
	stubborn := r.events.next(t, "stubborn", supervisor.EventTypeStopped)
	if stubborn.Exit == nil || stubborn.Exit.Signal != syscall.SIGKILL {
		t.Errorf("stubborn stopped with %v, want killed by SIGKILL", stubborn.Exit)
	}
	if elapsed < 300*time.Millisecond {
		t.Errorf("stop took %v, less than the stop timeout", elapsed)
	}
}

func TestAProgramThatFailedToStartDoesNotHangClose(t *testing.T) {
	dir := t.TempDir()
	broken := filepath.Join(dir, "broken")
	// Executable, so the conf loads, but its interpreter does not exist.
	if err := os.WriteFile(broken, []byte("#!/nonexistent/interpreter\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	rep := newReports(t)
	r := start(t, writeConf(t, `
programs:
  - name: broken
    executable-path: %[3]s
    restarts: 3
  - name: fine
    executable-path: %[1]s
    executable-args: [%[2]s, run]
`, helper, rep.path, broken))
	ev := r.events.next(t, "broken", supervisor.EventTypeFailed)
	if ev.Err == nil || !slices.Contains(ev.Env(), "SUPERVISOR_PROCESS_STATE=failed") {
		t.Errorf("failed event %+v, want an error and state failed", ev)
	}
	rep.ready(t) // the next program started all the same
	if st, _ := r.sv.Program("broken"); st.State != supervisor.ProgramStateFailed || st.LastError == "" {
		t.Errorf("Program(broken) = %+v, want failed with its error", st)
	}
	if rep := r.status.get("supervisor.broken"); rep.state != statuscheck.StateError {
		t.Errorf("status of supervisor.broken = %v, want ERROR", rep.state)
	}
	if err := r.stop(); err != nil {
		t.Fatal(err)
	}
}

// procStat reads the stat of every process.
func procStats(t *testing.T) []*status.Stat {
	t.Helper()
	entries, err := os.ReadDir("/proc")
	if err != nil {
		t.Fatal(err)
	}
	var out []*status.Stat
	for _, e := range entries {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		if st, err := status.ReadStat(pid); err == nil {
			out = append(out, st)
		}
	}
	return out
}

func TestNoZombiesOrOrphansAreLeft(t *testing.T) {
	// As an agent running as PID 1 of a container would be, the test is
	// the reaper of orphans: those of the programs become its children,
	// and must be reaped by it, not merely killed.
	if err := unix.Prctl(unix.PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0); err != nil {
		t.Fatalf("PR_SET_CHILD_SUBREAPER: %v", err)
	}
	defer unix.Prctl(unix.PR_SET_CHILD_SUBREAPER, 0, 0, 0, 0)
	rep := newReports(t)
	r := start(t, writeConf(t, `
programs:
  - name: family
    executable-path: %[1]s
    executable-args: [%[2]s, family]
    restarts: 1
    restart-delay: 0s
`, helper, rep.path))
	family := func() []int {
		var pids []int
		for _, f := range strings.Fields(rep.next(t, "family "))[1:] {
			pid, _ := strconv.Atoi(f)
			pids = append(pids, pid)
		}
		return pids
	}
	first := family()
	// The leader dies on its own: its children go with it.
	if err := unix.Kill(first[0], syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	second := family()
	if err := r.stop(); err != nil {
		t.Fatal(err)
	}
	me := os.Getpid()
	for _, st := range procStats(t) {
		if st.PPid == me && st.State == status.Zombie {
			t.Errorf("zombie child %d (%s) left", st.Pid, st.Comm)
		}
		if st.Pgrp == first[0] || st.Pgrp == second[0] {
			t.Errorf("process %d (%s, %s, parent %d) of a program's group left", st.Pid, st.Comm, st.State, st.PPid)
		}
	}
}

func TestProgramsStartInPriorityOrderAndStopInReverse(t *testing.T) {
	rep := newReports(t)
	r := start(t, writeConf(t, `
programs:
  - name: web
    executable-path: %[1]s
    executable-args: [%[2]s, run]
  - name: app
    executable-path: %[1]s
    executable-args: [%[2]s, run]
  - name: db
    priority: -10
    executable-path: %[1]s
    executable-args: [%[2]s, run]
`, helper, rep.path))
	want := []string{"db", "web", "app"}
	if got := r.sv.GetProgramNames(); !slices.Equal(got, want) {
		t.Fatalf("GetProgramNames() = %v, want %v", got, want)
	}
	var starts []time.Time
	for _, name := range want {
		starts = append(starts, r.sv.GetProgramByName(name).GetStartTime())
	}
	if !slices.IsSortedFunc(starts, func(a, b time.Time) int { return a.Compare(b) }) {
		t.Errorf("start times %v not in the order %v", starts, want)
	}
	if err := r.stop(); err != nil {
		t.Fatal(err)
	}
	var stopped []string
	for _, ev := range r.events.every() {
		if ev.Type == supervisor.EventTypeStopped {
			stopped = append(stopped, ev.Program)
		}
	}
	// web and app, of one priority, stop together; db once they exited.
	if len(stopped) != 3 || stopped[2] != "db" || !slices.Contains(stopped, "web") || !slices.Contains(stopped, "app") {
		t.Errorf("stop order %v, want web and app in any order, then db", stopped)
	}
}

func TestProgramsGetTheirEnvironmentDirectoryAndLogFile(t *testing.T) {
	rep := newReports(t)
	dir := t.TempDir()
	logfile := filepath.Join(dir, "programs.log")
	start(t, writeConf(t, `
programs:
  - name: env
    executable-path: %[1]s
    executable-args: [%[2]s, env, PLINTH_SV_TEST]
    working-dir: %[3]s
    env: {PLINTH_SV_TEST: "hello world"}
  - name: printer
    executable-path: %[1]s
    executable-args: [%[2]s, print]
    logfile-path: %[4]s
    logfile-max-bytes: 0 # the program writes to the file itself
`, helper, rep.path, dir, logfile))
	if got, want := rep.next(t, "env "), "env hello world "+dir; got != want {
		t.Errorf("the program reported %q, want %q", got, want)
	}
	rep.ready(t)
	// The program wrote before reporting, and still runs: its lines are
	// in the file already.
	b, err := os.ReadFile(logfile)
	if err != nil {
		t.Fatal(err)
	}
	if got := string(b); !strings.Contains(got, "to stdout\n") || !strings.Contains(got, "to stderr\n") {
		t.Errorf("log file holds %q, want both lines", got)
	}
}

func TestRESTServesTheProgramsStatus(t *testing.T) {
	rep := newReports(t)
	server := rest.NewPlugin(rest.UseConf(rest.Config{Endpoint: "127.0.0.1:0"}))
	r := start(t, writeConf(t, `
programs:
  - name: up
    executable-path: %[1]s
    executable-args: [%[2]s, run]
  - name: done
    executable-path: %[1]s
    executable-args: [%[2]s, exit, "7"]
`, helper, rep.path), server)
	r.events.next(t, "up", supervisor.EventTypeStarted)
	r.events.next(t, "done", supervisor.EventTypeTerminated)

	resp, err := http.Get("http://" + server.Addr().(*net.TCPAddr).String() + supervisor.ProgramsPath)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusOK || resp.Header.Get("Content-Type") != "application/json" {
		t.Fatalf("GET %s = %d %s", supervisor.ProgramsPath, resp.StatusCode, body)
	}
	var got []map[string]any
	if err := json.Unmarshal(body, &got); err != nil {
		t.Fatal(err)
	}
	if len(got) != 2 || got[0]["name"] != "up" || got[1]["name"] != "done" {
		t.Fatalf("programs %s, want up then done", body)
	}
	up, done := got[0], got[1]
	if up["state"] != "running" || up["pid"].(float64) == 0 || up["restarts"].(float64) != 0 || up["up_time_ns"].(float64) <= 0 {
		t.Errorf("up = %v, want running with a pid and an uptime", up)
	}
	if done["state"] != "exited" || done["pid"].(float64) != 0 || done["last_exit_code"] != float64(7) {
		t.Errorf("done = %v, want exited with code 7", done)
	}
	if rep := r.status.get("supervisor.up"); rep.state != statuscheck.StateOK {
		t.Errorf("status of supervisor.up = %v, want OK", rep.state)
	}
	if rep := r.status.get("supervisor.done"); rep.state != statuscheck.StateError || !strings.Contains(fmt.Sprint(rep.err), "exit status 7") {
		t.Errorf("status of supervisor.done = %v %v, want ERROR exit status 7", rep.state, rep.err)
	}
}

func TestAgentWithoutConfRunsNothing(t *testing.T) {
	sv := supervisor.NewPlugin()
	a := agenttest.New(t, agent.AllPlugins(processmanager.NewPlugin(), sv))
	agenttest.RequireStart(t, a)
	if got := sv.Programs(); len(got) != 0 {
		t.Errorf("Programs() = %v, want none", got)
	}
}

func TestInitFailsOnABadConfNamingFileAndLine(t *testing.T) {
	conf := writeConf(t, "programs:\n  - executable-path: /nonexistent/program\n")
	a := agenttest.New(t, agent.AllPlugins(processmanager.NewPlugin(), supervisor.NewPlugin()),
		agenttest.Env(map[string]string{"SUPERVISOR_CONFIG": conf}))
	err := a.Start()
	if err == nil {
		a.Stop()
		t.Fatal("Start succeeded with a missing executable")
	}
	if want := conf + ":2:"; !strings.Contains(err.Error(), want) {
		t.Errorf("Start error %q does not name %s", err, want)
	}
}

func TestOperatorStartsStopsAndRestartsAreCountedAndNeverGiveUp(t *testing.T) {
	rep := newReports(t)
	server := rest.NewPlugin(rest.UseConf(rest.Config{Endpoint: "127.0.0.1:0"}))
	r := start(t, writeConf(t, `
programs:
  - name: up
    executable-path: %[1]s
    executable-args: [%[2]s, run]
    restarts: 1
    restart-delay: 10ms
`, helper, rep.path), server)
	r.events.next(t, "up", supervisor.EventTypeStarted)
	base := "http://" + server.Addr().(*net.TCPAddr).String()
	post := func(name, action string) (int, map[string]any) {
		t.Helper()
		resp, err := http.Post(base+supervisor.ProgramsPath+"/"+name+"/"+action, "", nil)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		var body map[string]any
		if err := json.NewDecoder(resp.Body).Decode(&body); err != nil {
			t.Fatalf("POST %s %s: %v", name, action, err)
		}
		return resp.StatusCode, body
	}

	// Each start after the first counts, and the answer shows it.
	first, _ := r.sv.Program("up")
	code, body := post("up", "restart")
	if code != http.StatusOK || body["state"] != "running" || body["restarts"] != float64(1) || body["pid"] == float64(first.Pid) {
		t.Fatalf("POST restart = %d %v, want 200, running with a new pid and restarts 1", code, body)
	}
	// The answer comes once the supervisor has seen the new run; its event
	// may still be on its way to the handler.
	if got := types(r.events.until(t, "up", supervisor.EventTypeStarted)); !slices.Equal(got, []supervisor.EventType{supervisor.EventTypeStopped, supervisor.EventTypeStarted}) {
		t.Errorf("events of a restart = %v, want stopped then started", got)
	}

	// A crash is restarted and counted; the limit counts from the
	// operator's restart.
	st, _ := r.sv.Program("up")
	if err := syscall.Kill(st.Pid, syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	r.events.next(t, "up", supervisor.EventTypeTerminated)
	r.events.next(t, "up", supervisor.EventTypeStarted)
	if st, _ = r.sv.Program("up"); st.Restarts != 2 {
		t.Errorf("restarts after a crash = %d, want 2", st.Restarts)
	}

	// A stop is a stop: no gave-up, state stopped, not restarted.
	if err := r.sv.StopProgram("up"); err != nil {
		t.Fatalf("StopProgram: %v", err)
	}
	if ev := r.events.next(t, "up", supervisor.EventTypeStopped, supervisor.EventTypeGaveUp, supervisor.EventTypeTerminated); ev.Type != supervisor.EventTypeStopped {
		t.Errorf("event of StopProgram = %s, want stopped", ev.Type)
	}
	if st, _ = r.sv.Program("up"); st.State != supervisor.ProgramStateStopped || st.Pid != 0 {
		t.Errorf("after StopProgram: %+v, want stopped", st)
	}
	if err := r.sv.StopProgram("up"); err != nil {
		t.Errorf("StopProgram of a stopped program: %v", err)
	}
	if err := r.sv.StartProgram("up"); err != nil {
		t.Fatalf("StartProgram: %v", err)
	}
	if st, _ = r.sv.Program("up"); st.State != supervisor.ProgramStateRunning || st.Restarts != 3 {
		t.Errorf("after StartProgram: %+v, want running with restarts 3", st)
	}

	// Errors name the program and wrap their sentinel; REST maps them.
	if err := r.sv.StartProgram("up"); !errors.Is(err, supervisor.ErrStateConflict) || !strings.Contains(err.Error(), "up") {
		t.Errorf("StartProgram of a running program = %v, want ErrStateConflict naming up", err)
	}
	if err := r.sv.RestartProgram("nope"); !errors.Is(err, supervisor.ErrUnknownProgram) || !strings.Contains(err.Error(), `"nope"`) {
		t.Errorf("RestartProgram(nope) = %v, want ErrUnknownProgram naming nope", err)
	}
	for _, tc := range []struct {
		name, program, action string
		want                  int
	}{
		{"start while running", "up", "start", http.StatusConflict},
		{"unknown program", "nope", "stop", http.StatusNotFound},
		{"unknown action", "up", "explode", http.StatusBadRequest},
	} {
		if code, body := post(tc.program, tc.action); code != tc.want || body["error"] == nil {
			t.Errorf("%s: POST %s/%s = %d %v, want %d with an error", tc.name, tc.program, tc.action, code, body, tc.want)
		}
	}
}
