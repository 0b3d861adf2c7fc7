package exampletest

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/plinth-go/plinth/internal/testwait"
)

// builds holds what Binary built in this test binary.
var builds struct {
	mu    sync.Mutex // guards dir and byPkg
	dir   string     // "" until the first build
	byPkg map[string]*build
}

type build struct {
	once sync.Once
	path string
	err  error
}

// Binary returns the path of the command importPath, built with go build
// the first time a test of this test binary asks for it. It fails the test
// when the build fails.
func Binary(t testing.TB, importPath string) string {
	t.Helper()
	builds.mu.Lock()
	if builds.dir == "" {
		dir, err := os.MkdirTemp("", "plinth-exampletest-")
		if err != nil {
			builds.mu.Unlock()
			t.Fatalf("exampletest: %v", err)
		}
		builds.dir, builds.byPkg = dir, map[string]*build{}
	}
	b := builds.byPkg[importPath]
	if b == nil {
		b = &build{}
		builds.byPkg[importPath] = b
	}
	dir := builds.dir
	builds.mu.Unlock()

	b.once.Do(func() { b.path, b.err = goBuild(dir, importPath) })
	if b.err != nil {
		t.Fatalf("exampletest: %v", b.err)
	}
	return b.path
}

// Main runs the tests of an example's package: m.Run, then RemoveBinaries,
// then, when every test passed, a check that no goroutine was left
// running. It exits with the result. Call it from TestMain.
func Main(m *testing.M) {
	code := m.Run()
	RemoveBinaries()
	if code == 0 {
		if err := goleak.Find(); err != nil {
			fmt.Fprintln(os.Stderr, "goleak:", err)
			code = 1
		}
	}
	os.Exit(code)
}

// RemoveBinaries deletes what Binary built. TestMain calls it once the tests
// have run.
func RemoveBinaries() {
	builds.mu.Lock()
	defer builds.mu.Unlock()
	if builds.dir != "" {
		os.RemoveAll(builds.dir)
	}
	builds.dir, builds.byPkg = "", nil
}

func goBuild(dir, importPath string) (string, error) {
	goBin, err := exec.LookPath("go")
	if err != nil {
		return "", fmt.Errorf("the go command, to build the binary: %w", err)
	}
	out := filepath.Join(dir, path.Base(importPath))
	if runtime.GOOS == "windows" {
		out += ".exe"
	}
	b, err := exec.Command(goBin, "build", "-o", out, importPath).CombinedOutput()
	if err != nil {
		return "", fmt.Errorf("go build %s: %v\n%s", importPath, err, bytes.TrimSpace(b))
	}
	return out, nil
}

// Env returns an environment that holds only PATH, HOME and TMPDIR of the
// test's own, followed by vars ("KEY=value"). Whatever else the caller's
// shell exports (ETCD_ENDPOINTS, CONFIG_DIR, HTTP_PORT…) would change what
// an example does, so it is left out.
func Env(vars ...string) []string {
	var env []string
	for _, k := range []string{"PATH", "HOME", "TMPDIR"} {
		if v, ok := os.LookupEnv(k); ok {
			env = append(env, k+"="+v)
		}
	}
	return append(env, vars...)
}

// Command describes a program to Start.
type Command struct {
	// Binary is the executable, usually from [Binary].
	Binary string
	// Args are the arguments, without the program name.
	Args []string
	// Env is the environment; if nil, Env() is used.
	Env []string
	// Dir is the working directory; if empty, a new t.TempDir() is used, so
	// that what the program writes by default stays out of the source tree.
	Dir string
}

// Process is a started program. Its standard output and error are collected
// together.
type Process struct {
	cmd  *exec.Cmd
	out  *output
	done chan struct{} // closed when the process has exited and its output is read
	err  error         // of cmd.Wait; valid once done is closed
}

// Start starts c and returns at once. When the test ends, a process still
// running is killed, and the output of a failed test is logged.
func Start(t testing.TB, c Command) *Process {
	t.Helper()
	if c.Env == nil {
		c.Env = Env()
	}
	if c.Dir == "" {
		c.Dir = t.TempDir()
	}
	p := &Process{out: &output{changed: make(chan struct{}, 1)}, done: make(chan struct{})}
	p.cmd = exec.Command(c.Binary, c.Args...)
	p.cmd.Env, p.cmd.Dir = c.Env, c.Dir
	p.cmd.Stdout, p.cmd.Stderr = p.out, p.out
	p.cmd.SysProcAttr = sysProcAttr()
	if err := p.cmd.Start(); err != nil {
		t.Fatalf("exampletest: start %s: %v", c.Binary, err)
	}
	go func() {
		p.err = p.cmd.Wait()
		close(p.done)
	}()
	t.Cleanup(func() {
		select {
		case <-p.done:
		default:
			_ = p.cmd.Process.Kill()
			<-p.done
		}
		if t.Failed() {
			t.Logf("output of %s %s:\n%s", filepath.Base(c.Binary), strings.Join(c.Args, " "), p.Output())
		}
	})
	return p
}

// Pid returns the process id.
func (p *Process) Pid() int { return p.cmd.Process.Pid }

// Output returns everything the process printed so far.
func (p *Process) Output() string { return p.out.String() }

// WaitOutput waits until the output contains s and returns the output. It
// fails the test when the process exits or timeout passes first.
func (p *Process) WaitOutput(t testing.TB, s string, timeout time.Duration) string {
	t.Helper()
	deadline := time.NewTimer(timeout)
	defer deadline.Stop()
	for {
		if out := p.Output(); strings.Contains(out, s) {
			return out
		}
		select {
		case <-p.out.changed:
		case <-p.done:
			if out := p.Output(); strings.Contains(out, s) {
				return out
			}
			t.Fatalf("exited (%v) without printing %q", p.err, s)
		case <-deadline.C:
			t.Fatalf("%q not printed after %v", s, timeout)
		}
	}
}

// Wait waits until the process exits and returns its exit code (-1 when a
// signal ended it). It fails the test when timeout passes first.
func (p *Process) Wait(t testing.TB, timeout time.Duration) int {
	t.Helper()
	select {
	case <-p.done:
	case <-time.After(timeout):
		t.Fatalf("still running after %v", timeout)
	}
	var exit *exec.ExitError
	if p.err != nil && !errors.As(p.err, &exit) {
		t.Fatalf("wait: %v", p.err)
	}
	return p.cmd.ProcessState.ExitCode()
}

// Interrupt sends SIGINT, as Ctrl-C in a terminal does, and returns the exit
// code (see Wait).
func (p *Process) Interrupt(t testing.TB, timeout time.Duration) int {
	t.Helper()
	if err := p.cmd.Process.Signal(os.Interrupt); err != nil {
		t.Fatalf("SIGINT: %v", err)
	}
	return p.Wait(t, timeout)
}

// WaitFor calls cond until it reports true, and fails the test with cond's
// last explanation when timeout passes first: it is [testwait.For].
func WaitFor(t testing.TB, timeout time.Duration, what string, cond func() (ok bool, why string)) {
	t.Helper()
	testwait.For(t, timeout, what, cond)
}

// output collects what a process prints and signals each write on changed,
// a capacity-1 channel so that signals coalesce.
type output struct {
	mu      sync.Mutex // guards buf
	buf     bytes.Buffer
	changed chan struct{}
}

func (o *output) Write(b []byte) (int, error) {
	o.mu.Lock()
	n, err := o.buf.Write(b)
	o.mu.Unlock()
	select {
	case o.changed <- struct{}{}:
	default:
	}
	return n, err
}

func (o *output) String() string {
	o.mu.Lock()
	defer o.mu.Unlock()
	return o.buf.String()
}
