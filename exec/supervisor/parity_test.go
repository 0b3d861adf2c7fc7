//go:build linux

package supervisor_test

import (
	"errors"
	"fmt"
	"os"
	"os/user"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/plinth-go/plinth/exec/processmanager/status"
	"github.com/plinth-go/plinth/exec/supervisor"
	"github.com/plinth-go/plinth/health/statuscheck"
)

// stamp waits for "stamp id <pid> <ns>" and returns the pid and the time
// the process reported.
func stamp(t *testing.T, rep *reports, id string) (int, time.Time) {
	t.Helper()
	f := strings.Fields(rep.next(t, "stamp "+id+" "))
	pid, err1 := strconv.Atoi(f[2])
	ns, err2 := strconv.ParseInt(f[3], 10, 64)
	if err1 != nil || err2 != nil {
		t.Fatalf("stamp report %q", f)
	}
	return pid, time.Unix(0, ns)
}

func TestADependentStartsOnlyOnceItsDependencyRanForItsStartSeconds(t *testing.T) {
	rep := newReports(t)
	// agent has the lower priority, so it comes first by priority alone;
	// it depends on vpp, so it starts after vpp has run 1s, and stops
	// before vpp.
	r := start(t, writeConf(t, `
programs:
  - name: vpp
    executable-path: %[1]s
    executable-args: [%[2]s, stamp, vpp]
    start-seconds: 1
  - name: agent
    priority: -5
    executable-path: %[1]s
    executable-args: [%[2]s, stamp, agent]
    depends-on: [vpp]
`, helper, rep.path))
	stamp(t, rep, "vpp")
	// start-seconds count from the start of the run: the time the
	// supervisor forked vpp, which runs its main a little later.
	vppStart := r.sv.GetProgramByName("vpp").GetStartTime().Round(0)
	_, agentUp := stamp(t, rep, "agent")
	if gap := agentUp.Sub(vppStart); gap < time.Second {
		t.Errorf("agent ran %v after vpp started, want at least vpp's start-seconds (1s)", gap)
	}
	if st, _ := r.sv.Program("vpp"); st.State != supervisor.ProgramStateRunning {
		t.Errorf("vpp is %s once agent started, want running", st.State)
	}
	if got := r.sv.GetProgramNames(); !slices.Equal(got, []string{"vpp", "agent"}) {
		t.Errorf("start order %v, want vpp then agent", got)
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
	if !slices.Equal(stopped, []string{"agent", "vpp"}) {
		t.Errorf("stop order %v, want agent (the dependent) then vpp", stopped)
	}
}

func TestADependentOfAFatalProgramNeverStarts(t *testing.T) {
	rep := newReports(t)
	r := start(t, writeConf(t, `
programs:
  - name: broken
    executable-path: %[1]s
    executable-args: [%[2]s, exit, "1"]
    start-seconds: 1
    start-retries: 1
    restart-delay: 0s
  - name: dependent
    executable-path: %[1]s
    executable-args: [%[2]s, stamp, dependent]
    depends-on: [broken]
`, helper, rep.path))
	ev := r.events.next(t, "broken", supervisor.EventTypeGaveUp)
	if ev.State != string(supervisor.ProgramStateFatal) {
		t.Errorf("gave-up event of broken in state %q, want fatal", ev.State)
	}
	st, _ := r.sv.Program("dependent")
	if st.State != supervisor.ProgramStateInitial || st.Pid != 0 || !slices.Equal(st.WaitingFor, []string{"broken"}) {
		t.Errorf("Program(dependent) = %+v, want initial, waiting for broken", st)
	}
	if got := r.events.all("dependent"); len(got) != 0 {
		t.Errorf("events of dependent %v, want none", types(got))
	}
}

func TestFailedStartsAreRetriedThenTheProgramIsFatal(t *testing.T) {
	dir := t.TempDir()
	noexec := filepath.Join(dir, "noexec")
	// Executable, so the conf loads, but its interpreter does not exist.
	if err := os.WriteFile(noexec, []byte("#!/nonexistent/interpreter\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	rep := newReports(t)
	r := start(t, writeConf(t, `
programs:
  - name: early
    executable-path: %[1]s
    executable-args: [%[2]s, exit, "1"]
    start-seconds: 1
    start-retries: 2
    restarts: 5 # for crashes after a start: never reached
    restart-delay: 0s
  - name: noexec
    executable-path: %[3]s
    start-retries: 2
    restart-delay: 0s
`, helper, rep.path, noexec))

	for range 3 {
		rep.ready(t)
	}
	got := r.events.until(t, "early", supervisor.EventTypeGaveUp)
	want := []supervisor.EventType{"started", "terminated", "started", "terminated", "started", "terminated", "gave-up"}
	if !slices.Equal(types(got), want) {
		t.Errorf("events of early %v, want %v", types(got), want)
	}
	st, _ := r.sv.Program("early")
	if st.State != supervisor.ProgramStateFatal || !strings.Contains(st.LastError, "3 failed starts in a row") ||
		!strings.Contains(st.LastError, "before its start-seconds (1s)") {
		t.Errorf("Program(early) = %s %q, want fatal, 3 failed starts before start-seconds", st.State, st.LastError)
	}
	if rep := r.status.get("supervisor.early"); rep.state != statuscheck.StateError || !strings.Contains(fmt.Sprint(rep.err), "fatal") {
		t.Errorf("status of supervisor.early = %v %v, want ERROR fatal", rep.state, rep.err)
	}

	got = r.events.until(t, "noexec", supervisor.EventTypeGaveUp)
	want = []supervisor.EventType{"failed", "failed", "failed", "gave-up"}
	if !slices.Equal(types(got), want) {
		t.Errorf("events of noexec %v, want %v", types(got), want)
	}
	if !got[0].Restarting || got[2].Restarting || got[3].State != "fatal" {
		t.Errorf("noexec: the first failure should retry, the last not, then fatal: %+v", got)
	}
	if st, _ := r.sv.Program("noexec"); st.State != supervisor.ProgramStateFatal || !strings.Contains(st.LastError, "3 failed starts in a row") {
		t.Errorf("Program(noexec) = %s %q, want fatal after 3 failed starts", st.State, st.LastError)
	}
}

func TestAutorestartAndExitCodesDecideTheRestarts(t *testing.T) {
	for _, tc := range []struct {
		name, keys string
		code       int
		runs       int
		state      supervisor.ProgramState
	}{
		{"expected-code", "autorestart: unexpected\n    exit-codes: [0, 3]", 3, 1, supervisor.ProgramStateExited},
		{"unexpected-code", "autorestart: unexpected\n    exit-codes: [0, 3]\n    restarts: 2", 4, 3, supervisor.ProgramStateGaveUp},
		{"default-exit-codes", "autorestart: unexpected\n    restarts: 1", 0, 1, supervisor.ProgramStateExited},
		{"never", "autorestart: never\n    restarts: 3", 4, 1, supervisor.ProgramStateExited},
		{"always", "autorestart: always\n    restarts: 2", 0, 3, supervisor.ProgramStateGaveUp},
		{"restarts-without-autorestart", "restarts: 1", 0, 2, supervisor.ProgramStateGaveUp},
	} {
		t.Run(tc.name, func(t *testing.T) {
			rep := newReports(t)
			r := start(t, writeConf(t, `
programs:
  - name: p
    executable-path: %[1]s
    executable-args: [%[2]s, exit, "%[3]d"]
    restart-delay: 0s
    %[4]s
`, helper, rep.path, tc.code, tc.keys))
			last := supervisor.EventTypeTerminated
			if tc.state == supervisor.ProgramStateGaveUp {
				last = supervisor.EventTypeGaveUp
			}
			var evs []supervisor.Event
			for {
				evs = append(evs, r.events.until(t, "p", last)...)
				if !evs[len(evs)-1].Restarting {
					break
				}
			}
			runs := 0
			for _, ev := range evs {
				if ev.Type == supervisor.EventTypeStarted {
					runs++
				}
			}
			if st, _ := r.sv.Program("p"); runs != tc.runs || st.State != tc.state {
				t.Errorf("%d runs, state %s (events %v), want %d runs, %s", runs, st.State, types(evs), tc.runs, tc.state)
			}
		})
	}
}

// exitWatch opens a pidfd for each of pids, to await their exits even
// though they are not children of the test.
func exitWatch(t *testing.T, pids []string) []int {
	t.Helper()
	var fds []int
	for _, s := range pids {
		pid, err := strconv.Atoi(s)
		if err != nil {
			t.Fatal(err)
		}
		fd, err := unix.PidfdOpen(pid, 0)
		if err != nil {
			t.Fatalf("pidfd_open(%d): %v", pid, err)
		}
		fds = append(fds, fd)
		t.Cleanup(func() { unix.Close(fd) })
	}
	return fds
}

// exited reports whether each process of fds exits within waitBound.
func exited(fds []int) bool {
	deadline := time.Now().Add(waitBound)
	for _, fd := range fds {
		for {
			left := time.Until(deadline)
			if left <= 0 {
				return false
			}
			n, err := unix.Poll([]unix.PollFd{{Fd: int32(fd), Events: unix.POLLIN}}, int(left/time.Millisecond)+1)
			if errors.Is(err, unix.EINTR) {
				continue
			}
			if n <= 0 {
				return false
			}
			break
		}
	}
	return true
}

func TestStopAsGroupChoosesWhoGetsTheStopSignal(t *testing.T) {
	for _, tc := range []struct {
		name, keys string
		terms      int // children that got the stop signal
		exit       string
	}{
		{"group-by-default", "", 2, "exit status 0"},
		{"program-alone", "stop-as-group: false", 0, "signal: killed"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			rep := newReports(t)
			r := start(t, writeConf(t, `
programs:
  - name: family
    executable-path: %[1]s
    executable-args: [%[2]s, term-family]
    stop-timeout: 500ms
    %[3]s
`, helper, rep.path, tc.keys))
			f := strings.Fields(rep.next(t, "family "))
			kids := exitWatch(t, f[2:])
			if err := r.sv.StopProgram("family"); err != nil {
				t.Fatal(err)
			}
			ev := r.events.next(t, "family", supervisor.EventTypeStopped)
			if ev.Exit == nil || ev.Exit.String() != tc.exit {
				t.Errorf("stopped with %v, want %s", ev.Exit, tc.exit)
			}
			terms := 0
			for _, m := range rep.drain(t) {
				if strings.HasPrefix(m, "term ") {
					terms++
				}
			}
			if terms != tc.terms {
				t.Errorf("%d children got the stop signal, want %d", terms, tc.terms)
			}
			// What is left of the group is killed once the program exited.
			if !exited(kids) {
				t.Errorf("children %v of the program still run %v after its stop", f[2:], waitBound)
			}
		})
	}
}

func TestKillAsGroupFalseKillsTheProgramAloneAfterTheStopTimeout(t *testing.T) {
	rep := newReports(t)
	r := start(t, writeConf(t, `
programs:
  - name: stubborn
    executable-path: %[1]s
    executable-args: [%[2]s, ignore-term]
    stop-timeout: 300ms
    stop-as-group: false
    kill-as-group: false
`, helper, rep.path))
	rep.ready(t)
	begin := time.Now()
	if err := r.sv.StopProgram("stubborn"); err != nil {
		t.Fatal(err)
	}
	if took := time.Since(begin); took < 300*time.Millisecond {
		t.Errorf("stopped in %v, before its stop-timeout", took)
	}
	ev := r.events.next(t, "stubborn", supervisor.EventTypeStopped)
	if ev.Exit == nil || ev.Exit.Signal != syscall.SIGKILL {
		t.Errorf("stopped with %v, want SIGKILL after the stop-timeout", ev.Exit)
	}
}

func TestLogRotationKeepsAProgramWithinItsDiskBound(t *testing.T) {
	const (
		maxBytes = 1 << 20 // logfile-max-bytes: 1MB
		written  = 4 << 20 // 4 MiB at 1 MiB/s
	)
	rep := newReports(t)
	dir := t.TempDir()
	logfile, errfile := filepath.Join(dir, "flood.log"), filepath.Join(dir, "flood.err")
	r := start(t, writeConf(t, `
programs:
  - name: flood
    executable-path: %[1]s
    executable-args: [%[2]s, flood, "%[5]d"]
    logfile-path: %[3]s
    stderr-logfile-path: %[4]s
    logfile-max-bytes: 1MB
    logfile-backups: 2
`, helper, rep.path, logfile, errfile, written))

	// usage returns the bytes of the log and its backups, by file.
	usage := func() (int64, map[string]int64) {
		entries, err := os.ReadDir(dir)
		if err != nil {
			t.Error(err)
			return 0, nil
		}
		total, sizes := int64(0), map[string]int64{}
		for _, e := range entries {
			if !strings.HasPrefix(e.Name(), "flood.log") {
				continue
			}
			if fi, err := e.Info(); err == nil {
				total += fi.Size()
				sizes[e.Name()] = fi.Size()
			}
		}
		return total, sizes
	}
	// Sample the disk used while the program writes: a measurement, not
	// a synchronization.
	stopSampling := make(chan struct{})
	peak := make(chan int64, 1)
	go func() {
		var max int64
		tick := time.NewTicker(10 * time.Millisecond)
		defer tick.Stop()
		for {
			if total, _ := usage(); total > max {
				max = total
			}
			select {
			case <-tick.C:
			case <-stopSampling:
				peak <- max
				return
			}
		}
	}()
	rep.next(t, "flooded ")
	// Stopping drains the output still in the pipe and closes the files.
	if err := r.stop(); err != nil {
		t.Fatal(err)
	}
	close(stopSampling)
	highest := <-peak
	total, sizes := usage()
	t.Logf("%d bytes written; disk used at most %d bytes while writing, %d at the end: %v", written, highest, total, sizes)
	if limit := int64(3 * maxBytes); highest > limit || total > limit {
		t.Errorf("the log used up to %d bytes (%d at the end), want at most %d (1MB and 2 backups)", highest, total, limit)
	}
	for _, name := range []string{"flood.log", "flood.log.1", "flood.log.2"} {
		if size, ok := sizes[name]; !ok || size > maxBytes {
			t.Errorf("%s: %d bytes (exists %v), want at most %d", name, size, ok, maxBytes)
		}
	}
	for _, name := range []string{"flood.log.1", "flood.log.2"} {
		if size := sizes[name]; size < maxBytes-1024 {
			t.Errorf("%s: %d bytes, want a full file (1MB, less at most a line)", name, size)
		}
	}
	if len(sizes) != 3 {
		t.Errorf("log files %v, want flood.log and 2 backups", sizes)
	}
	b, err := os.ReadFile(errfile)
	if err != nil || string(b) != "to stderr\n" {
		t.Errorf("stderr-logfile-path holds %q (%v), want the standard error alone", b, err)
	}
	b, err = os.ReadFile(logfile)
	if err != nil || strings.Contains(string(b), "to stderr") || !strings.HasSuffix(string(b), "x\n") {
		t.Errorf("logfile-path ends with %q (%v), want the last lines of standard output only", b[max(0, len(b)-20):], err)
	}
}

func TestDirectoryEnvironmentUserAndUmask(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Fatal("this test runs as root, to run a program as another user: run the tests as root")
	}
	rep := newReports(t)
	// The program runs as nobody: it must reach the helper, the socket of
	// reports and its directory.
	dir := t.TempDir()
	for _, d := range []string{filepath.Dir(helper), filepath.Dir(rep.path), dir, filepath.Dir(dir)} {
		if err := os.Chmod(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.Chmod(rep.path, 0o777); err != nil {
		t.Fatal(err)
	}
	start(t, writeConf(t, `
programs:
  - name: who
    executable-path: %[1]s
    executable-args: [%[2]s, whoami, GREETING]
    directory: %[3]s
    environment: GREETING="hello, world",OTHER=x
    user: nobody
    umask: "027"
  - name: me
    executable-path: %[1]s
    executable-args: [%[2]s, whoami, GREETING]
    working-dir: %[3]s
    env: {GREETING: hi}
`, helper, rep.path, dir))
	nobody, err := user.Lookup("nobody")
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]string{
		"whoami " + nobody.Uid + " " + nobody.Gid + " 027 " + dir + " hello, world":            "who",
		fmt.Sprintf("whoami %d %d %03o %s hi", os.Getuid(), os.Getgid(), currentUmask(t), dir): "me",
	}
	for range 2 {
		got := rep.next(t, "whoami ")
		if _, ok := want[got]; !ok {
			t.Errorf("a program reported %q, want one of %v", got, want)
		}
		delete(want, got)
	}
}

// currentUmask returns the umask of the test process, read rather than
// set, which would change it for the whole process meanwhile.
func currentUmask(t *testing.T) int {
	t.Helper()
	f, err := status.ReadFile(os.Getpid())
	if err != nil || f.Umask < 0 {
		t.Fatalf("umask of the test: %v (%d)", err, f.Umask)
	}
	return f.Umask
}
