//go:build linux

package processmanager_test

import (
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"go.uber.org/goleak"
	"golang.org/x/sys/unix"

	pm "github.com/plinth-go/plinth/exec/processmanager"
	"github.com/plinth-go/plinth/exec/processmanager/status"
	"github.com/plinth-go/plinth/internal/testwait"
)

// helper is the path of the test helper binary (internal/testhelper),
// built by TestMain.
var helper string

// fakeAgentEnv makes the test binary act as an agent that starts children
// and waits to be killed (see TestParentDeathKillsChildren).
const fakeAgentEnv = "PROCESSMANAGER_TEST_FAKE_AGENT"

func TestMain(m *testing.M) {
	if os.Getenv(fakeAgentEnv) != "" {
		runFakeAgent()
		return
	}
	dir, err := os.MkdirTemp("", "processmanager-test")
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

// runFakeAgent starts the helper twice through a manager, once detached,
// prints both pids and waits to be killed.
func runFakeAgent() {
	m := pm.NewPlugin()
	if err := m.Init(); err != nil {
		fmt.Println("error", err)
		os.Exit(1)
	}
	child, err := m.NewProcess(os.Getenv(fakeAgentEnv), pm.WithName("child"), pm.Args("sleep", "forever"))
	if err == nil {
		err = child.Start()
	}
	detached, err2 := m.NewProcess(os.Getenv(fakeAgentEnv), pm.WithName("detached"), pm.Args("sleep", "forever"), pm.Detach())
	if err2 == nil {
		err2 = detached.Start()
	}
	if err := errors.Join(err, err2); err != nil {
		fmt.Println("error", err)
		os.Exit(1)
	}
	fmt.Printf("pids %d %d\n", child.GetPid(), detached.GetPid())
	// Block until killed; reading stdin keeps the runtime from finding a
	// deadlock.
	_, _ = io.Copy(io.Discard, os.Stdin)
	os.Exit(0)
}

// newManager returns an initialized manager polling every 10ms, closed
// when the test ends.
func newManager(t testing.TB, conf ...pm.Config) *pm.Plugin {
	t.Helper()
	c := pm.Config{PollInterval: 10 * time.Millisecond}
	if len(conf) > 0 {
		c = conf[0]
	}
	m := pm.NewPlugin(pm.UseConf(c))
	if err := m.Init(); err != nil {
		t.Fatalf("Init: %v", err)
	}
	t.Cleanup(func() {
		if err := m.Close(); err != nil {
			t.Errorf("Close: %v", err)
		}
	})
	return m
}

// newHelper defines a process running the helper with the given steps.
func newHelper(t testing.TB, m *pm.Plugin, name string, steps []string, opts ...pm.Option) *pm.Process {
	t.Helper()
	opts = append([]pm.Option{pm.WithName(name), pm.Args(steps...)}, opts...)
	p, err := m.NewProcess(helper, opts...)
	if err != nil {
		t.Fatalf("NewProcess(%s): %v", name, err)
	}
	return p
}

func mustStart(t testing.TB, p *pm.Process) {
	t.Helper()
	if err := p.Start(); err != nil {
		t.Fatalf("Start(%s): %v", p.GetName(), err)
	}
}

// lines is a writer that keeps the lines written to it and lets tests wait
// for one.
type lines struct {
	mu      sync.Mutex // guards buf and all
	buf     []byte
	all     []string
	changed chan struct{} // cap 1
}

func newLines() *lines { return &lines{changed: make(chan struct{}, 1)} }

func (l *lines) Write(p []byte) (int, error) {
	l.mu.Lock()
	l.buf = append(l.buf, p...)
	for {
		i := strings.IndexByte(string(l.buf), '\n')
		if i < 0 {
			break
		}
		l.all = append(l.all, string(l.buf[:i]))
		l.buf = l.buf[i+1:]
	}
	l.mu.Unlock()
	select {
	case l.changed <- struct{}{}:
	default:
	}
	return len(p), nil
}

func (l *lines) Lines() []string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return append([]string(nil), l.all...)
}

// waitPrefix waits for the n-th line (from 1) starting with prefix and
// returns it.
func (l *lines) waitPrefix(t testing.TB, prefix string, n int) string {
	t.Helper()
	deadline := time.After(20 * time.Second)
	for {
		seen := 0
		for _, line := range l.Lines() {
			if strings.HasPrefix(line, prefix) {
				if seen++; seen == n {
					return line
				}
			}
		}
		select {
		case <-l.changed:
		case <-deadline:
			t.Fatalf("no line %d starting with %q; got %q", n, prefix, l.Lines())
		}
	}
}

// waitFor polls cond until it holds, failing the test after 20s.
func waitFor(t testing.TB, what string, cond func() bool) {
	t.Helper()
	testwait.For(t, 20*time.Second, what, func() (bool, string) { return cond(), "" })
}

// next receives a notification, failing the test after 20s.
func next(t testing.TB, ch <-chan pm.Notification) pm.Notification {
	t.Helper()
	select {
	case n, ok := <-ch:
		if !ok {
			t.Fatal("notification channel closed")
		}
		return n
	case <-time.After(20 * time.Second):
		t.Fatal("no notification")
	}
	panic("unreachable")
}

// nextTerminated skips notifications until one with state Terminated.
func nextTerminated(t testing.TB, ch <-chan pm.Notification) pm.Notification {
	t.Helper()
	for {
		if n := next(t, ch); n.State == status.Terminated {
			return n
		}
	}
}

// gone reports whether pid no longer exists or is a zombie.
func gone(pid int) bool {
	st, err := status.ReadStat(pid)
	return err != nil || st.State == status.Zombie || st.State == status.Dead
}

// exists reports whether pid exists and is not a zombie.
func exists(pid int) bool { return !gone(pid) }

// childPids parses the "child <pid>" lines of the helper.
func childPids(t testing.TB, out *lines, n int) []int {
	t.Helper()
	var pids []int
	for i := 1; i <= n; i++ {
		f := strings.Fields(out.waitPrefix(t, "child ", i))
		pid, err := strconv.Atoi(f[1])
		if err != nil {
			t.Fatal(err)
		}
		pids = append(pids, pid)
	}
	return pids
}

// becomeSubreaper makes the test process the reaper of orphans of its
// descendants until the test ends, so that tests can see and reap them
// instead of depending on what PID 1 does.
func becomeSubreaper(t testing.TB) {
	t.Helper()
	if err := unix.Prctl(unix.PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0); err != nil {
		t.Fatalf("PR_SET_CHILD_SUBREAPER: %v", err)
	}
	t.Cleanup(func() {
		_ = unix.Prctl(unix.PR_SET_CHILD_SUBREAPER, 0, 0, 0, 0)
		reapOrphans()
	})
}

// reapOrphans reaps zombies among our children that no exec.Cmd owns:
// those reparented to the test process.
func reapOrphans() {
	for _, z := range ourZombies() {
		var ws unix.WaitStatus
		_, _ = unix.Wait4(z, &ws, unix.WNOHANG, nil)
	}
}

// procs returns the stat of every process.
func procs() []*status.Stat {
	entries, _ := os.ReadDir("/proc")
	var list []*status.Stat
	for _, e := range entries {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		if st, err := status.ReadStat(pid); err == nil {
			list = append(list, st)
		}
	}
	return list
}

// ourZombies returns the pids of zombie children of the test process.
func ourZombies() []int {
	var zs []int
	for _, st := range procs() {
		if st.PPid == os.Getpid() && st.State == status.Zombie {
			zs = append(zs, st.Pid)
		}
	}
	return zs
}
