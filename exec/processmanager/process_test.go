//go:build linux

package processmanager_test

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"go.uber.org/goleak"
	"golang.org/x/sys/unix"

	pm "github.com/plinth-go/plinth/exec/processmanager"
	"github.com/plinth-go/plinth/exec/processmanager/status"
)

func TestNewProcessIsInitialUntilStarted(t *testing.T) {
	m := newManager(t)
	args := []string{"-c", "exit 0"}
	p, err := m.NewProcess("/bin/sh", pm.Args(args...))
	if err != nil {
		t.Fatal(err)
	}
	args[0] = "changed"
	if got := p.GetName(); got != "sh" {
		t.Errorf("GetName() = %q, want sh (the base of the command)", got)
	}
	if got := p.GetCommand(); got != "/bin/sh" {
		t.Errorf("GetCommand() = %q, want /bin/sh", got)
	}
	if got := p.GetArguments(); !slices.Equal(got, []string{"-c", "exit 0"}) {
		t.Errorf("GetArguments() = %q, want [-c exit 0]", got)
	}
	if p.State() != status.Initial || p.IsAlive() || p.GetPid() != 0 || !p.GetStartTime().IsZero() || p.GetUpTime() != 0 {
		t.Errorf("new process: state %s, alive %v, pid %d, start %v, up %v; want initial, false, 0, zero, 0",
			p.State(), p.IsAlive(), p.GetPid(), p.GetStartTime(), p.GetUpTime())
	}
	if _, err := p.Wait(); !errors.Is(err, pm.ErrNotStarted) {
		t.Errorf("Wait() error = %v, want ErrNotStarted", err)
	}
	if _, err := p.UpdateStatus(); !errors.Is(err, pm.ErrNotRunning) {
		t.Errorf("UpdateStatus() error = %v, want ErrNotRunning", err)
	}
	if err := p.Signal(syscall.SIGUSR1); !errors.Is(err, pm.ErrNotRunning) {
		t.Errorf("Signal() error = %v, want ErrNotRunning", err)
	}
	if err := p.Stop(); err != nil {
		t.Errorf("Stop() of a process never started = %v, want nil", err)
	}
	if m.GetProcessByName("sh") != p {
		t.Error("GetProcessByName(sh) did not return the process")
	}
	if _, err := m.NewProcess("/usr/bin/sh"); !errors.Is(err, pm.ErrDuplicateName) {
		t.Errorf("second NewProcess named sh: error = %v, want ErrDuplicateName", err)
	}
}

func TestStartRunsTheProcessAndWaitReportsItsExit(t *testing.T) {
	m := newManager(t)
	out := newLines()
	p := newHelper(t, m, "exit3", []string{"ready", "wait-usr1", "exit", "3"}, pm.Writer(out, out))
	before := time.Now()
	mustStart(t, p)
	out.waitPrefix(t, "waiting", 1)
	if !p.IsAlive() || p.GetPid() <= 0 || p.GetStartTime().Before(before) || p.GetUpTime() <= 0 {
		t.Errorf("started: alive %v, pid %d, start %v, up %v", p.IsAlive(), p.GetPid(), p.GetStartTime(), p.GetUpTime())
	}
	if m.GetProcessByPID(p.GetPid()) != p {
		t.Errorf("GetProcessByPID(%d) did not return the process", p.GetPid())
	}
	if err := p.Start(); !errors.Is(err, pm.ErrRunning) {
		t.Errorf("second Start() = %v, want ErrRunning", err)
	}
	f, err := p.UpdateStatus()
	if err != nil {
		t.Fatal(err)
	}
	if f.Pid != p.GetPid() || f.Name != "testhelper" || !f.State.Alive() || p.State() != f.State {
		t.Errorf("UpdateStatus() = pid %d name %q state %s (recorded %s), want %d testhelper and a live state",
			f.Pid, f.Name, f.State, p.State(), p.GetPid())
	}
	if err := p.Signal(syscall.SIGUSR1); err != nil {
		t.Fatal(err)
	}
	es, err := p.Wait()
	if err != nil {
		t.Fatal(err)
	}
	if es.Code != 3 || es.Signal != 0 || es.Pid != p.GetPid() || es.String() != "exit status 3" {
		t.Errorf("Wait() = %+v (%s), want exit status 3 of pid %d", es, es, p.GetPid())
	}
	if p.IsAlive() || p.GetUpTime() != 0 || p.State() != status.Terminated {
		t.Errorf("after exit: alive %v, up %v, state %s; want false, 0, terminated", p.IsAlive(), p.GetUpTime(), p.State())
	}
}

func TestStartFailsForAMissingCommand(t *testing.T) {
	m := newManager(t)
	p, err := m.NewProcess("/nonexistent/command")
	if err != nil {
		t.Fatal(err)
	}
	if err := p.Start(); err == nil || !strings.Contains(err.Error(), "/nonexistent/command") {
		t.Errorf("Start() = %v, want an error naming the command", err)
	}
	if got := p.Info().LastError; got == "" {
		t.Error("Info().LastError is empty after a failed start")
	}
}

func TestStopSignalsTheWholeGroup(t *testing.T) {
	m := newManager(t)
	out := newLines()
	p := newHelper(t, m, "parent", []string{"spawn", "2", "ready", "sleep", "forever"}, pm.Writer(out, nil))
	mustStart(t, p)
	kids := childPids(t, out, 2)
	out.waitPrefix(t, "ready", 1)
	if err := p.Stop(); err != nil {
		t.Fatal(err)
	}
	es, err := p.Wait()
	if err != nil {
		t.Fatal(err)
	}
	if es.Signal != syscall.SIGTERM {
		t.Errorf("exit = %s, want signal: terminated", es)
	}
	for _, kid := range kids {
		waitFor(t, "grandchild to end", func() bool { return gone(kid) })
	}
}

func TestStopAndWaitSendsSIGKILLAfterTheStopTimeout(t *testing.T) {
	m := newManager(t)
	out := newLines()
	p := newHelper(t, m, "stubborn", []string{"ignore-term", "ready", "sleep", "forever"},
		pm.Writer(out, nil), pm.WithStopTimeout(50*time.Millisecond))
	mustStart(t, p)
	out.waitPrefix(t, "ready", 1)
	es, err := p.StopAndWait()
	if err != nil {
		t.Fatal(err)
	}
	if es.Signal != syscall.SIGKILL {
		t.Errorf("StopAndWait() = %s, want signal: killed", es)
	}
}

func TestKillReapsTheProcessBeforeReturning(t *testing.T) {
	m := newManager(t)
	p := newHelper(t, m, "victim", []string{"sleep", "forever"})
	mustStart(t, p)
	pid := p.GetPid()
	if err := p.Kill(); err != nil {
		t.Fatal(err)
	}
	if p.IsAlive() {
		t.Error("IsAlive() after Kill")
	}
	if err := unix.Kill(pid, 0); !errors.Is(err, unix.ESRCH) {
		t.Errorf("kill(%d, 0) after Kill = %v, want ESRCH (reaped)", pid, err)
	}
	es, err := p.Wait()
	if err != nil || es.Signal != syscall.SIGKILL {
		t.Errorf("Wait() = %s, %v; want signal: killed", es, err)
	}
	if err := p.Kill(); err != nil {
		t.Errorf("second Kill() = %v, want nil", err)
	}
}

func TestRestartStartsANewRun(t *testing.T) {
	m := newManager(t)
	p := newHelper(t, m, "restarted", []string{"sleep", "forever"})
	if err := p.Restart(); err != nil {
		t.Fatalf("Restart() of a process never started: %v", err)
	}
	first := p.GetPid()
	if err := p.Restart(); err != nil {
		t.Fatal(err)
	}
	if second := p.GetPid(); second == first || !p.IsAlive() {
		t.Errorf("after Restart: pid %d (was %d), alive %v; want a new live pid", second, first, p.IsAlive())
	}
	if !gone(first) {
		t.Errorf("first run %d still exists", first)
	}
}

func TestSignalReachesOnlyTheProcess(t *testing.T) {
	m := newManager(t)
	out := newLines()
	p := newHelper(t, m, "usr1", []string{"spawn", "1", "wait-usr1", "exit", "7"}, pm.Writer(out, nil))
	mustStart(t, p)
	kid := childPids(t, out, 1)[0]
	out.waitPrefix(t, "waiting", 1)
	if err := p.Signal(syscall.SIGUSR1); err != nil {
		t.Fatal(err)
	}
	if es, err := p.Wait(); err != nil || es.Code != 7 {
		t.Fatalf("Wait() = %s, %v; want exit status 7", es, err)
	}
	// The grandchild got no signal and outlives its parent (no
	// AutoTerminate): end it.
	if gone(kid) {
		t.Errorf("grandchild %d ended with its parent", kid)
	}
	_ = unix.Kill(kid, syscall.SIGKILL)
}

func TestWriterReceivesOutputOfEveryRunAndLeaksNoDescriptor(t *testing.T) {
	m := newManager(t)
	out, errOut := newLines(), newLines()
	p := newHelper(t, m, "talker", []string{"echo", "out", "stderr", "err"}, pm.Writer(out, errOut))
	before := openFds(t)
	var afterFirst map[string]bool
	for i := 1; i <= 20; i++ {
		mustStart(t, p)
		if _, err := p.Wait(); err != nil {
			t.Fatal(err)
		}
		out.waitPrefix(t, "out", i)
		errOut.waitPrefix(t, "err", i)
		if i == 1 {
			afterFirst = openFds(t) // plus the two pipes, kept across runs
		}
	}
	if leaked := opened(openFds(t), afterFirst); len(leaked) > 0 {
		t.Errorf("descriptors opened by runs 2 to 20 and still open: %q", leaked)
	}
	if err := m.Delete("talker"); err != nil {
		t.Fatal(err)
	}
	if leaked := opened(openFds(t), before); len(leaked) > 0 {
		t.Errorf("descriptors still open after Delete: %q", leaked)
	}
}

// openFds returns the open descriptors of the test process, each as its
// number and what it refers to; a pidfd also names its process, as every
// pidfd links to anon_inode:[pidfd]. Sets of descriptors are compared, not
// counts: descriptors of earlier tests may close meanwhile (idle HTTP
// connections, the handles of processes never waited for, released when
// collected), which must neither hide a leak nor look like one.
func openFds(t testing.TB) map[string]bool {
	t.Helper()
	dir, err := os.Open("/proc/self/fd")
	if err != nil {
		t.Fatal(err)
	}
	defer dir.Close()
	own := strconv.Itoa(int(dir.Fd()))
	names, err := dir.Readdirnames(-1)
	if err != nil {
		t.Fatal(err)
	}
	fds := make(map[string]bool, len(names))
	for _, fd := range names {
		if fd == own {
			continue
		}
		target, err := os.Readlink("/proc/self/fd/" + fd)
		if err != nil {
			continue // closed since the listing
		}
		if target == "anon_inode:[pidfd]" {
			info, _ := os.ReadFile("/proc/self/fdinfo/" + fd)
			for line := range strings.Lines(string(info)) {
				if pid, ok := strings.CutPrefix(line, "Pid:"); ok {
					target += " of pid " + strings.TrimSpace(pid)
				}
			}
		}
		fds[fd+" -> "+target] = true
	}
	return fds
}

// opened returns the descriptors of now that are not in before, sorted.
func opened(now, before map[string]bool) []string {
	var fds []string
	for fd := range now {
		if !before[fd] {
			fds = append(fds, fd)
		}
	}
	slices.Sort(fds)
	return fds
}

func TestEnvVarAndWithDirSetTheEnvironmentAndDirectory(t *testing.T) {
	m := newManager(t)
	out := newLines()
	dir := t.TempDir()
	p, err := m.NewProcess("sh", pm.Args("-c", `echo "$GREETING $(pwd)"`),
		pm.EnvVar([]string{"GREETING=hello", "PATH=" + os.Getenv("PATH")}), pm.WithDir(dir), pm.Writer(out, out))
	if err != nil {
		t.Fatal(err)
	}
	mustStart(t, p)
	if es, err := p.Wait(); err != nil || !es.Success() {
		t.Fatalf("Wait() = %s, %v", es, err)
	}
	if got := out.waitPrefix(t, "", 1); got != "hello "+dir {
		t.Errorf("output %q, want %q", got, "hello "+dir)
	}
}

func TestNotifyReportsStateChangesInOrder(t *testing.T) {
	m := newManager(t)
	ch := make(chan pm.Notification, 100)
	out := newLines()
	p := newHelper(t, m, "notified", []string{"ready", "wait-usr1", "exit", "2"}, pm.Notify(ch), pm.Writer(out, nil))
	if p.GetNotificationChan() == nil {
		t.Fatal("GetNotificationChan() = nil with Notify")
	}
	mustStart(t, p)
	n := next(t, ch)
	if n.Previous != status.Initial || !n.State.Alive() || n.Name != "notified" || n.Pid != p.GetPid() {
		t.Errorf("first notification %+v, want initial -> a live state of pid %d", n, p.GetPid())
	}
	out.waitPrefix(t, "waiting", 1)
	_ = p.Signal(syscall.SIGUSR1)
	last := nextTerminated(t, ch)
	if last.Exit == nil || last.Exit.Code != 2 || last.Restarting {
		t.Errorf("terminated notification %+v, want exit status 2 and no restart", last)
	}
	select {
	case extra := <-ch:
		if extra.State == last.State {
			t.Errorf("notification %+v repeats state %s: notifications are sent on change only", extra, last.State)
		}
	default:
	}
}

func TestSlowNotificationReaderGetsTheLatestStateAndDropsAreCounted(t *testing.T) {
	m := newManager(t)
	ch := make(chan pm.Notification) // nobody reads until the end
	p := newHelper(t, m, "flapping", []string{"exit", "1"},
		pm.Notify(ch), pm.Restarts(40), pm.WithBackoff(0, 0, time.Hour))
	mustStart(t, p)
	waitFor(t, "the restarts to run out", func() bool {
		in := p.Info()
		return in.Restarts == 40 && !in.Alive && in.NotificationsDropped > 0
	})
	// Restarts went on while nobody read: the watcher was never blocked.
	// Reading now yields the queued notifications, ending with the final
	// state.
	for {
		n := next(t, ch)
		if n.State == status.Terminated && !n.Restarting && n.Restarts == 40 {
			break
		}
	}
}

func TestDeleteStopsTheProcessAndForgetsIt(t *testing.T) {
	m := newManager(t)
	p := newHelper(t, m, "deleted", []string{"sleep", "forever"})
	mustStart(t, p)
	pid := p.GetPid()
	if err := m.Delete("deleted"); err != nil {
		t.Fatal(err)
	}
	if m.GetProcessByName("deleted") != nil || len(m.List()) != 0 {
		t.Error("the process is still listed after Delete")
	}
	if !gone(pid) {
		t.Errorf("pid %d still runs after Delete", pid)
	}
	if err := p.Start(); !errors.Is(err, pm.ErrClosed) {
		t.Errorf("Start() after Delete = %v, want ErrClosed", err)
	}
	if err := m.Delete("deleted"); !errors.Is(err, pm.ErrNotFound) {
		t.Errorf("second Delete = %v, want ErrNotFound", err)
	}
}

func TestListIsSortedByName(t *testing.T) {
	m := newManager(t)
	for _, name := range []string{"c", "a", "b"} {
		newHelper(t, m, name, []string{"exit", "0"})
	}
	var names []string
	for _, p := range m.List() {
		names = append(names, p.GetName())
	}
	if !slices.Equal(names, []string{"a", "b", "c"}) {
		t.Errorf("List() names = %q, want [a b c]", names)
	}
}

func TestAttachProcessWatchesAProcessStartedElsewhere(t *testing.T) {
	m := newManager(t)
	cmd := exec.Command("sleep", "1000")
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer cmd.Process.Kill()
	ch := make(chan pm.Notification, 10)
	p, err := m.AttachProcess(cmd.Process.Pid, pm.Notify(ch))
	if err != nil {
		t.Fatal(err)
	}
	if p.GetName() != "sleep" || p.GetCommand() != "" || len(p.GetArguments()) != 0 || p.GetPid() != cmd.Process.Pid {
		t.Errorf("attached: name %q, command %q, args %q, pid %d", p.GetName(), p.GetCommand(), p.GetArguments(), p.GetPid())
	}
	if !p.IsAlive() || p.GetStartTime().IsZero() || time.Since(p.GetStartTime()) > time.Minute {
		t.Errorf("attached: alive %v, start time %v", p.IsAlive(), p.GetStartTime())
	}
	if err := p.Start(); !errors.Is(err, pm.ErrAttached) {
		t.Errorf("Start() = %v, want ErrAttached", err)
	}
	if err := p.Restart(); !errors.Is(err, pm.ErrAttached) {
		t.Errorf("Restart() = %v, want ErrAttached", err)
	}
	if err := p.Kill(); err != nil {
		t.Fatal(err)
	}
	es, err := p.Wait()
	if err != nil || es.Known() {
		t.Errorf("Wait() = %+v, %v; want an unknown exit status", es, err)
	}
	if n := nextTerminated(t, ch); n.Pid != cmd.Process.Pid {
		t.Errorf("terminated notification for pid %d, want %d", n.Pid, cmd.Process.Pid)
	}
	// The test is the parent: it reaps the process and sees SIGKILL.
	err = cmd.Wait()
	var ee *exec.ExitError
	if !errors.As(err, &ee) || ee.Sys().(syscall.WaitStatus).Signal() != syscall.SIGKILL {
		t.Errorf("the process ended with %v, want signal: killed", err)
	}
}

func TestAttachProcessRejectsStartOptionsAndUnknownPids(t *testing.T) {
	m := newManager(t)
	if _, err := m.AttachProcess(os.Getpid(), pm.Args("x")); !errors.Is(err, pm.ErrInvalidOption) {
		t.Errorf("AttachProcess with Args: %v, want ErrInvalidOption", err)
	}
	if _, err := m.AttachProcess(1 << 30); err == nil {
		t.Error("AttachProcess of a pid that does not exist succeeded")
	}
}

func TestDetachedProcessSurvivesTheManager(t *testing.T) {
	m := pm.NewPlugin(pm.UseConf(pm.Config{PollInterval: 10 * time.Millisecond}))
	if err := m.Init(); err != nil {
		t.Fatal(err)
	}
	p, err := m.NewProcess(helper, pm.Args("sleep", "forever"), pm.Detach())
	if err != nil {
		t.Fatal(err)
	}
	mustStart(t, p)
	pid := p.GetPid()
	if sid, _ := unix.Getsid(pid); sid != pid {
		t.Errorf("session of the detached process = %d, want its own (%d)", sid, pid)
	}
	if err := m.Close(); err != nil {
		t.Fatal(err)
	}
	if !exists(pid) {
		t.Fatalf("detached process %d did not survive Close", pid)
	}
	if _, err := p.Wait(); !errors.Is(err, pm.ErrClosed) {
		t.Errorf("Wait() after Close = %v, want ErrClosed", err)
	}
	_ = unix.Kill(pid, syscall.SIGKILL)
	var ws unix.WaitStatus
	if _, err := unix.Wait4(pid, &ws, 0, nil); err != nil {
		t.Errorf("reaping the detached process: %v", err)
	}
}

func TestCloseStopsEveryChild(t *testing.T) {
	m := pm.NewPlugin(pm.UseConf(pm.Config{}))
	if err := m.Init(); err != nil {
		t.Fatal(err)
	}
	out := newLines()
	var pids []int
	for i, steps := range [][]string{
		{"sleep", "forever"},
		{"ignore-term", "ready", "sleep", "forever"},
		{"spawn", "2", "sleep", "forever"},
	} {
		p := newHelper(t, m, string(rune('a'+i)), steps, pm.Writer(out, nil), pm.WithStopTimeout(50*time.Millisecond))
		mustStart(t, p)
		pids = append(pids, p.GetPid())
	}
	out.waitPrefix(t, "ready", 1)
	pids = append(pids, childPids(t, out, 2)...)
	if err := m.Close(); err != nil {
		t.Fatal(err)
	}
	for _, pid := range pids {
		waitFor(t, "process to end", func() bool { return gone(pid) })
	}
	if _, err := m.NewProcess("sleep"); !errors.Is(err, pm.ErrClosed) {
		t.Errorf("NewProcess after Close = %v, want ErrClosed", err)
	}
	if err := m.Close(); err != nil {
		t.Errorf("second Close() = %v", err)
	}
}

func TestDeleteAfterCloseFailsWithErrClosed(t *testing.T) {
	m := pm.NewPlugin(pm.UseConf(pm.Config{}))
	if err := m.Init(); err != nil {
		t.Fatal(err)
	}
	// With a notification channel and a non-file writer, a second shutdown
	// of the process would close its channels and pipes again.
	p := newHelper(t, m, "sleeper", []string{"sleep", "forever"},
		pm.Notify(make(chan pm.Notification, 16)), pm.Writer(newLines(), nil))
	mustStart(t, p)
	if err := m.Close(); err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{"sleeper", "unknown"} {
		if err := m.Delete(name); !errors.Is(err, pm.ErrClosed) {
			t.Errorf("Delete(%q) after Close = %v, want ErrClosed", name, err)
		}
	}
}

func TestNewProcessAndStartRacingCloseAreRefusedOrStopped(t *testing.T) {
	defer goleak.VerifyNone(t, goleak.IgnoreCurrent())
	// Rounds of a manager closed while goroutines create processes with a
	// notification channel (a goroutine each) and start some: Close must
	// return, every process that was created must be stopped, and the
	// calls that lost the race must fail with ErrClosed.
	const rounds, creators, startsPerCreator = 100, 4, 2
	for round := range rounds {
		m := pm.NewPlugin(pm.UseConf(pm.Config{PollInterval: time.Millisecond}))
		if err := m.Init(); err != nil {
			t.Fatal(err)
		}
		var (
			wg       sync.WaitGroup
			mu       sync.Mutex // guards created
			created  []*pm.Process
			creating = make(chan struct{}, creators)
		)
		for c := range creators {
			wg.Go(func() {
				for n := 0; ; n++ {
					p, err := m.NewProcess(helper, pm.WithName(fmt.Sprintf("p%d-%d", c, n)),
						pm.Args("sleep", "forever"), pm.Notify(make(chan pm.Notification, 1)))
					if n == 0 {
						creating <- struct{}{}
					}
					if err != nil {
						if !errors.Is(err, pm.ErrClosed) {
							t.Errorf("NewProcess racing Close = %v, want nil or ErrClosed", err)
						}
						return
					}
					mu.Lock()
					created = append(created, p)
					mu.Unlock()
					if n < startsPerCreator {
						if err := p.Start(); err != nil && !errors.Is(err, pm.ErrClosed) {
							t.Errorf("Start racing Close = %v, want nil or ErrClosed", err)
						}
					}
				}
			})
		}
		for range creators {
			<-creating
		}
		closed := make(chan error, 1)
		go func() { closed <- m.Close() }()
		select {
		case err := <-closed:
			if err != nil {
				t.Fatalf("round %d: Close: %v", round, err)
			}
		case <-time.After(30 * time.Second):
			t.Fatalf("round %d: Close still runs after 30s", round)
		}
		wg.Wait()
		for _, p := range created {
			if p.IsAlive() {
				t.Fatalf("round %d: %s (pid %d) runs after Close", round, p.GetName(), p.GetPid())
			}
		}
	}
}

func TestAutoTerminateKillsAndReapsTheGroupWhenTheProcessExits(t *testing.T) {
	becomeSubreaper(t)
	m := newManager(t)
	out := newLines()
	p := newHelper(t, m, "leader", []string{"spawn", "2", "exit", "0"}, pm.Writer(out, nil), pm.AutoTerminate())
	mustStart(t, p)
	if _, err := p.Wait(); err != nil {
		t.Fatal(err)
	}
	for _, kid := range childPids(t, out, 2) {
		// Reaped by the manager before Wait returned: not even a zombie.
		if err := unix.Kill(kid, 0); !errors.Is(err, unix.ESRCH) {
			t.Errorf("grandchild %d after the exit: kill(0) = %v, want ESRCH", kid, err)
		}
	}
}

func TestInvalidOptionsFailNewProcess(t *testing.T) {
	m := newManager(t)
	for _, tc := range []struct {
		name string
		opt  pm.Option
	}{
		{"mask and list", pm.CPUAffinity("1", "0", 0)},
		{"neither mask nor list", pm.CPUAffinity("", "", 0)},
		{"bad mask", pm.CPUAffinity("0xg", "", 0)},
		{"empty mask", pm.CPUAffinity("0x0", "", 0)},
		{"bad list", pm.CPUAffinity("", "1-", 0)},
		{"descending range", pm.CPUAffinity("", "3-1", 0)},
		{"negative delay", pm.CPUAffinity("", "0", -time.Second)},
		{"nil notify", pm.Notify(nil)},
		{"empty name", pm.WithName("")},
		{"backoff max below initial", pm.WithBackoff(time.Second, time.Millisecond, 0)},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if _, err := m.NewProcess("sleep", tc.opt); !errors.Is(err, pm.ErrInvalidOption) {
				t.Errorf("NewProcess = %v, want ErrInvalidOption", err)
			}
		})
	}
}
