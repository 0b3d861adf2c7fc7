package etcdtest

import (
	"context"
	"fmt"
	"os"
	"strings"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/plinth-go/plinth/infra/kvdb/etcd/embedded"
	"github.com/plinth-go/plinth/internal/freeport"
)

// Start starts an etcd server in the test process on free ports, with its
// data in t.TempDir(), and closes it when the test ends. It fails the test
// when the server does not start.
func Start(t testing.TB) *embedded.Server {
	t.Helper()
	s, err := embedded.Start(t.Context(), embedded.Config{
		Name:          "etcdtest",
		DataDir:       t.TempDir(),
		ClientAddr:    "127.0.0.1:0",
		PeerAddr:      "127.0.0.1:0",
		UnsafeNoFsync: true,
	})
	if err != nil {
		t.Fatalf("etcdtest: %v", err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

// leakWait is how long VerifyTestMain waits for goroutines to end. etcd's
// peer connections can stay blocked in a read for its peer read timeout
// (5 s) after the members at both ends closed.
const leakWait = 10 * time.Second

// VerifyTestMain runs the tests, then fails the test binary if goroutines
// other than those excluded by opts are still running (see [FindLeaks]).
// Use it in TestMain instead of goleak.VerifyTestMain in packages that run
// etcd. It calls os.Exit.
func VerifyTestMain(m *testing.M, opts ...goleak.Option) {
	code := m.Run()
	if code == 0 {
		if err := FindLeaks(opts...); err != nil {
			fmt.Fprintf(os.Stderr, "goleak: errors on successful test run: %v\n", err)
			code = 1
		}
	}
	os.Exit(code)
}

// MainWithSharedServer is a TestMain for packages whose tests share one
// in-process etcd server: it starts the server and stores it in *shared, runs
// the tests, closes the server (after the tests closed their clients) and
// then checks for leaked goroutines like VerifyTestMain. Each test should
// work under its own key prefix. It does not return.
func MainWithSharedServer(m *testing.M, shared **embedded.Server, opts ...goleak.Option) {
	// Goroutines that run before anything starts (runtime, test framework)
	// are not leaks; everything started afterwards must be gone at the end.
	opts = append(opts, goleak.IgnoreCurrent())
	dir, err := os.MkdirTemp("", "etcdtest-shared-")
	if err != nil {
		fmt.Fprintln(os.Stderr, "etcdtest:", err)
		os.Exit(1)
	}
	*shared, err = embedded.Start(context.Background(), embedded.Config{
		DataDir: dir, ClientAddr: "127.0.0.1:0", PeerAddr: "127.0.0.1:0", UnsafeNoFsync: true,
		// Started before m.Run: see NoGRPCGateway.
		NoGRPCGateway: true,
	})
	if err != nil {
		os.RemoveAll(dir)
		fmt.Fprintln(os.Stderr, "etcdtest:", err)
		os.Exit(1)
	}
	code := m.Run()
	// The server goes before the leak check: its goroutines are not the
	// tested package's.
	(*shared).Close()
	os.RemoveAll(dir)
	if code == 0 {
		if err := FindLeaks(opts...); err != nil {
			fmt.Fprintf(os.Stderr, "goleak: errors on successful test run: %v\n", err)
			code = 1
		}
	}
	os.Exit(code)
}

// FindLeaks returns an error listing the goroutines, other than those
// excluded by opts, that are still running after waiting up to ten seconds
// for them to end. Call it in TestMain once every server and client is
// closed.
func FindLeaks(opts ...goleak.Option) error {
	deadline := time.Now().Add(leakWait)
	for {
		err := goleak.Find(opts...)
		if err == nil || time.Now().After(deadline) {
			return err
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// Cluster is a multi-member etcd cluster of separate processes.
type Cluster struct {
	members []*Process
}

// StartCluster starts an n-member cluster, one process per member, and
// waits until every member is ready. Members are killed when the test ends.
func StartCluster(t testing.TB, n int) *Cluster {
	t.Helper()
	if n < 1 {
		t.Fatalf("etcdtest: StartCluster(%d): want at least one member", n)
	}
	bin := binary(t)
	names := make([]string, n)
	peers := make([]string, n)
	var initial []string
	for i := range n {
		names[i] = fmt.Sprintf("member%d", i)
		peers[i] = freeport.Addr(t)
		initial = append(initial, names[i]+"=http://"+peers[i])
	}
	c := &Cluster{}
	for i := range n {
		p := newProcess(t, bin, []ProcessOption{
			WithName(names[i]),
			withPeerAddr(peers[i]),
			WithInitialCluster(strings.Join(initial, ","), embedded.ClusterStateNew),
		})
		c.members = append(c.members, p)
	}
	// Members become ready only together, once a majority runs: spawn all
	// before waiting for any.
	for _, p := range c.members {
		p.spawn()
	}
	for _, p := range c.members {
		p.waitReady()
	}
	return c
}

// Endpoints returns the client endpoints of every member, running or not.
func (c *Cluster) Endpoints() []string {
	var eps []string
	for _, p := range c.members {
		eps = append(eps, p.Endpoints()...)
	}
	return eps
}

// Wipe kills every member, deletes their data directories and starts the
// cluster again on the same ports, empty, as after losing its storage. It
// waits until every member is ready.
func (c *Cluster) Wipe() {
	for _, p := range c.members {
		p.t.Helper()
		p.Kill()
		if err := os.RemoveAll(p.cfg.dataDir); err != nil {
			p.t.Fatalf("etcdtest: wipe %s: %v", p.cfg.name, err)
		}
	}
	for _, p := range c.members {
		p.spawn()
	}
	for _, p := range c.members {
		p.waitReady()
	}
}

// Member returns the i-th member, counting from 0.
func (c *Cluster) Member(i int) *Process { return c.members[i] }

// Size returns the number of members.
func (c *Cluster) Size() int { return len(c.members) }
