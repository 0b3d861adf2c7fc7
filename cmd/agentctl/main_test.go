package main

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	clientv3 "go.etcd.io/etcd/client/v3"
	"go.uber.org/zap"

	"github.com/plinth-go/plinth/infra/kvdb/etcd/embedded"
	"github.com/plinth-go/plinth/infra/kvdb/etcd/etcdtest"
)

// testEtcd is one etcd server shared by the tests of the package; each test
// works under its own service label, so tests do not see each other's keys.
var testEtcd *embedded.Server

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "agentctl-test")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	testEtcd, err = embedded.Start(context.Background(), embedded.Config{
		DataDir: dir, ClientAddr: "127.0.0.1:0", PeerAddr: "127.0.0.1:0", UnsafeNoFsync: true,
		// Started before m.Run, which the gateway's logger races with.
		NoGRPCGateway: true,
	})
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	code := m.Run()
	testEtcd.Close()
	os.RemoveAll(dir)
	if code == 0 {
		if err := etcdtest.FindLeaks(); err != nil {
			fmt.Fprintf(os.Stderr, "goleak: %v\n", err)
			code = 1
		}
	}
	os.Exit(code)
}

// result is what one agentctl run produced.
type result struct {
	code           int
	stdout, stderr string
}

// env is the environment of a test run: the shared etcd and a label
// unique to the test.
type env map[string]string

func testEnv(t *testing.T) env {
	return env{
		"AGENTCTL_ETCD_ENDPOINTS": strings.Join(testEtcd.Endpoints(), ","),
		"AGENTCTL_SERVICE_LABEL":  label(t),
	}
}

var nonLabel = regexp.MustCompile(`[^A-Za-z0-9_-]+`)

// label makes a service label out of the test name.
func label(t *testing.T) string {
	return nonLabel.ReplaceAllString(t.Name(), "_")
}

// agentctl runs the command in-process with the given environment and
// stdin.
func (e env) agentctl(t *testing.T, stdin string, args ...string) result {
	t.Helper()
	return e.agentctlCtx(t.Context(), stdin, args...)
}

func (e env) agentctlCtx(ctx context.Context, stdin string, args ...string) result {
	var stdout, stderr bytes.Buffer
	code := run(ctx, args, func(k string) string { return e[k] }, strings.NewReader(stdin), &stdout, &stderr)
	return result{code: code, stdout: stdout.String(), stderr: stderr.String()}
}

// ok fails the test unless the run succeeded, and returns its stdout.
func (r result) ok(t *testing.T) string {
	t.Helper()
	if r.code != exitOK {
		t.Fatalf("exit code %d, want 0; stderr: %s", r.code, r.stderr)
	}
	return r.stdout
}

// newClient returns an etcd client of the shared server, to check and
// prepare what agentctl sees.
func newClient(t *testing.T) *clientv3.Client {
	t.Helper()
	cli, err := clientv3.New(clientv3.Config{Endpoints: testEtcd.Endpoints(), DialTimeout: 2 * time.Second, Logger: zap.NewNop()})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cli.Close() })
	return cli
}

func etcdPut(t *testing.T, cli *clientv3.Client, key, value string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), 5*time.Second)
	defer cancel()
	if _, err := cli.Put(ctx, key, value); err != nil {
		t.Fatal(err)
	}
}

// syncBuffer is a bytes.Buffer safe for one writer and concurrent readers.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}
