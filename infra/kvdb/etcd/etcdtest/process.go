package etcdtest

import (
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/plinth-go/plinth/internal/freeport"
)

// Timeouts of the process helpers. They are generous because a loaded CI
// machine with -race can be slow to start a member.
const (
	readyTimeout = 60 * time.Second
	stopTimeout  = 15 * time.Second
)

// ProcessOption customizes StartProcess.
type ProcessOption func(*processConfig)

type processConfig struct {
	name           string
	dataDir        string
	clientAddr     string
	peerAddr       string
	initialCluster string
	clusterState   string
	fsync          bool
}

// WithName sets the member name. If unset, "etcdtest" is used.
func WithName(name string) ProcessOption {
	return func(c *processConfig) { c.name = name }
}

// WithDataDir sets the data directory, for example to start a second member
// on the data of a first one. If unset, a fresh directory in t.TempDir() is
// used.
func WithDataDir(dir string) ProcessOption {
	return func(c *processConfig) { c.dataDir = dir }
}

// WithClientAddr sets the client address (host:port). If unset, a free port
// on 127.0.0.1 is used.
func WithClientAddr(addr string) ProcessOption {
	return func(c *processConfig) { c.clientAddr = addr }
}

// WithInitialCluster makes the member part of a multi-member cluster; see
// embedded.Config.InitialCluster. StartCluster is usually simpler.
func WithInitialCluster(members, state string) ProcessOption {
	return func(c *processConfig) { c.initialCluster, c.clusterState = members, state }
}

// WithFsync makes the member fsync its writes, as in production. Without
// it writes are not synced, which loses nothing when only the process dies.
func WithFsync() ProcessOption {
	return func(c *processConfig) { c.fsync = true }
}

func withPeerAddr(addr string) ProcessOption {
	return func(c *processConfig) { c.peerAddr = addr }
}

// Process is an etcd member running as a separate process
// (cmd/plinth-etcd). Its methods must be called from the test goroutine or
// its children, and not concurrently with each other.
type Process struct {
	t    testing.TB
	bin  string
	args []string
	cfg  processConfig

	cmd   *exec.Cmd
	out   *outputWriter
	done  chan struct{} // closed when the process has exited
	ready chan struct{} // closed when the ready line was printed
	err   error         // exit error, valid after done
}

// StartProcess builds cmd/plinth-etcd (once per test binary), starts it on
// free ports with its data in t.TempDir() and waits until it serves
// clients. The process is killed when the test ends.
func StartProcess(t testing.TB, opts ...ProcessOption) *Process {
	t.Helper()
	p := newProcess(t, binary(t), opts)
	p.spawn()
	p.waitReady()
	return p
}

func newProcess(t testing.TB, bin string, opts []ProcessOption) *Process {
	t.Helper()
	cfg := processConfig{name: "etcdtest"}
	for _, opt := range opts {
		opt(&cfg)
	}
	// Fixed ports, so that Restart comes back where clients expect it.
	if cfg.clientAddr == "" {
		cfg.clientAddr = freeport.Addr(t)
	}
	if cfg.peerAddr == "" {
		cfg.peerAddr = freeport.Addr(t)
	}
	if cfg.dataDir == "" {
		cfg.dataDir = filepath.Join(t.TempDir(), "etcd")
	}
	args := []string{
		"-name", cfg.name,
		"-data-dir", cfg.dataDir,
		"-listen-client", cfg.clientAddr,
		"-listen-peer", cfg.peerAddr,
	}
	if cfg.initialCluster != "" {
		args = append(args, "-initial-cluster", cfg.initialCluster, "-cluster-state", cfg.clusterState)
	}
	if !cfg.fsync {
		args = append(args, "-unsafe-no-fsync")
	}
	p := &Process{t: t, bin: bin, args: args, cfg: cfg}
	t.Cleanup(p.Kill)
	return p
}

// spawn starts the process without waiting for it to be ready.
func (p *Process) spawn() {
	p.t.Helper()
	p.out = &outputWriter{}
	p.ready = make(chan struct{})
	p.out.onReady = sync.OnceFunc(func() { close(p.ready) })
	cmd := exec.Command(p.bin, p.args...)
	cmd.Stdout = p.out
	cmd.Stderr = p.out
	cmd.SysProcAttr = sysProcAttr()
	if err := cmd.Start(); err != nil {
		p.t.Fatalf("etcdtest: start %s: %v", p.bin, err)
	}
	p.cmd = cmd
	p.done = make(chan struct{})
	go func() {
		p.err = cmd.Wait()
		close(p.done)
	}()
}

// waitReady waits for the ready line, and fails the test with the output of
// the process when it exits or times out first.
func (p *Process) waitReady() {
	p.t.Helper()
	select {
	case <-p.ready:
	case <-p.done:
		p.t.Fatalf("etcdtest: member %s exited before it was ready (%v); output:\n%s", p.cfg.name, p.err, p.out)
	case <-time.After(readyTimeout):
		p.Kill()
		p.t.Fatalf("etcdtest: member %s not ready within %v; output:\n%s", p.cfg.name, readyTimeout, p.out)
	}
}

// Endpoints returns the client endpoint of the member as host:port. It
// stays the same across restarts.
func (p *Process) Endpoints() []string { return []string{p.cfg.clientAddr} }

// PeerURL returns the peer URL of the member.
func (p *Process) PeerURL() string { return "http://" + p.cfg.peerAddr }

// Pid returns the process id of the running member, or 0.
func (p *Process) Pid() int {
	if !p.Running() {
		return 0
	}
	return p.cmd.Process.Pid
}

// DataDir returns the data directory of the member.
func (p *Process) DataDir() string { return p.cfg.dataDir }

// Running reports whether the process runs.
func (p *Process) Running() bool {
	if p.done == nil {
		return false
	}
	select {
	case <-p.done:
		return false
	default:
		return true
	}
}

// Kill sends SIGKILL and waits until the process is gone, as after a crash.
// It does nothing if the process does not run.
func (p *Process) Kill() {
	if !p.Running() {
		return
	}
	_ = p.cmd.Process.Signal(syscall.SIGKILL)
	<-p.done
}

// Stop sends SIGTERM and waits until the process has exited; it fails the
// test if the exit is not clean or takes longer than 15 s.
func (p *Process) Stop() {
	p.t.Helper()
	if !p.Running() {
		return
	}
	_ = p.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-p.done:
		if p.err != nil {
			p.t.Errorf("etcdtest: member %s stopped with %v; output:\n%s", p.cfg.name, p.err, p.out)
		}
	case <-time.After(stopTimeout):
		p.Kill()
		p.t.Errorf("etcdtest: member %s did not stop within %v of SIGTERM; killed", p.cfg.name, stopTimeout)
	}
}

// Restart starts the member again on the same ports and data directory and
// waits until it is ready. A running process is killed first. A member of a
// cluster is ready again only while a majority of the cluster runs.
func (p *Process) Restart() {
	p.t.Helper()
	p.Kill()
	p.spawn()
	p.waitReady()
}

// Output returns what the process wrote to stdout and stderr since it last
// started.
func (p *Process) Output() string { return p.out.String() }

// outputWriter collects the output of a process and calls onReady when the
// ready line appears.
type outputWriter struct {
	onReady func()

	mu      sync.Mutex // guards buf and scanned
	buf     bytes.Buffer
	scanned int // bytes of buf already searched for complete lines
}

func (w *outputWriter) Write(b []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.buf.Write(b)
	for {
		rest := w.buf.Bytes()[w.scanned:]
		i := bytes.IndexByte(rest, '\n')
		if i < 0 {
			break
		}
		if bytes.HasPrefix(rest[:i], []byte("ready ")) {
			w.onReady()
		}
		w.scanned += i + 1
	}
	return len(b), nil
}

func (w *outputWriter) String() string {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.buf.String()
}

// The binary is built once per test binary.
var build struct {
	once sync.Once
	path string
	err  error
}

// binary returns the path of a plinth-etcd built for this test binary.
func binary(t testing.TB) string {
	t.Helper()
	build.once.Do(func() { build.path, build.err = buildBinary() })
	if build.err != nil {
		t.Fatalf("etcdtest: %v", build.err)
	}
	return build.path
}

const mainPackage = "github.com/plinth-go/plinth/cmd/plinth-etcd"

// buildBinary builds plinth-etcd into a directory of the system temp dir
// shared by test binaries, replacing the file atomically: test binaries of
// several packages may build concurrently, and the go build cache makes
// builds after the first cheap.
func buildBinary() (string, error) {
	goBin, err := exec.LookPath("go")
	if err != nil {
		return "", fmt.Errorf("the go command, to build the binary: %w", err)
	}
	dir := filepath.Join(os.TempDir(), fmt.Sprintf("plinth-etcdtest-%d", os.Getuid()))
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return "", err
	}
	tmp, err := os.CreateTemp(dir, "plinth-etcd-*.tmp")
	if err != nil {
		return "", err
	}
	tmp.Close()
	defer os.Remove(tmp.Name())
	cmd := exec.Command(goBin, "build", "-o", tmp.Name(), mainPackage)
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Run(); err != nil {
		return "", fmt.Errorf("go build %s: %v\n%s", mainPackage, err, strings.TrimSpace(out.String()))
	}
	path := filepath.Join(dir, "plinth-etcd")
	if err := os.Rename(tmp.Name(), path); err != nil {
		return "", fmt.Errorf("install plinth-etcd: %w", err)
	}
	return path, nil
}
