package main

import (
	"bytes"
	"context"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/plinth-go/plinth/infra/kvdb/etcd/etcdtest"
)

// TestBinaryAgainstEtcdProcess builds the real agentctl and runs it against
// etcd in another process: exit codes, stdin and signals go through the OS.
func TestBinaryAgainstEtcdProcess(t *testing.T) {
	if testing.Short() {
		t.Skip("builds two binaries; skipped with -short")
	}
	bin := filepath.Join(t.TempDir(), "agentctl")
	if out, err := exec.Command("go", "build", "-o", bin, ".").CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	etcd := etcdtest.StartProcess(t)
	_, deadPort, _ := net.SplitHostPort(deadAgent)
	environ := append(os.Environ(), "AGENTCTL_ETCD_ENDPOINTS="+etcd.Endpoints()[0], "AGENTCTL_SERVICE_LABEL=e2e")

	agentctl := func(stdin string, args ...string) (int, string, string) {
		t.Helper()
		cmd := exec.Command(bin, args...)
		cmd.Env = environ
		cmd.Stdin = strings.NewReader(stdin)
		var stdout, stderr bytes.Buffer
		cmd.Stdout, cmd.Stderr = &stdout, &stderr
		err := cmd.Run()
		if err != nil && cmd.ProcessState == nil {
			t.Fatal(err)
		}
		return cmd.ProcessState.ExitCode(), stdout.String(), stderr.String()
	}

	steps := []struct {
		name       string
		stdin      string
		args       []string
		wantCode   int
		wantStdout string
		wantStderr string
	}{
		{"put from stdin", `{"state":1}`, []string{"kvdb", "put", "check/status/v1/agent", "-"}, 0, "OK\n", ""},
		{"get relative", "", []string{"kvdb", "get", "check/status/v1/agent"}, 0, "{\"state\":1}\n", ""},
		{"get absolute json", "", []string{"kvdb", "get", "/vnf-agent/e2e/check/status/v1/agent", "-o", "json"}, 0, "\"state\": 1", ""},
		{"list keys", "", []string{"kvdb", "list", "--keys-only"}, 0, "/vnf-agent/e2e/check/status/v1/agent\n", ""},
		{"del", "", []string{"kvdb", "del", "check/status/v1/agent"}, 0, "OK\n", ""},
		{"get missing", "", []string{"kvdb", "get", "check/status/v1/agent"}, 1, "", `key "/vnf-agent/e2e/check/status/v1/agent" not found`},
		{"put with one argument", "", []string{"kvdb", "put", "x"}, 2, "", "want 2 argument(s), got 1"},
		{"status of no agent", "", []string{"status", "--http-port", deadPort, "--timeout", "1h"}, 2, "", "cannot reach the agent at http://127.0.0.1:" + deadPort + ": connection refused"},
		{"log list of no agent", "", []string{"log", "list", "--http-port", deadPort, "--timeout", "1h"}, 4, "", "cannot reach the agent at http://127.0.0.1:" + deadPort + ": connection refused"},
		{"version", "", []string{"version"}, 0, "agentctl ", ""},
		{"--version", "", []string{"--version"}, 0, "go:      go1.", ""},
		{"typo", "", []string{"statu"}, 2, "", `unknown command "statu" (did you mean "status"?)`},
	}
	for _, s := range steps {
		code, stdout, stderr := agentctl(s.stdin, s.args...)
		if code != s.wantCode || !strings.Contains(stdout, s.wantStdout) || !strings.Contains(stderr, s.wantStderr) {
			t.Errorf("%s: agentctl %v = (%d, %q, %q), want (%d, %q, %q)",
				s.name, s.args, code, stdout, stderr, s.wantCode, s.wantStdout, s.wantStderr)
		}
	}

	t.Run("watch ends cleanly on SIGINT", func(t *testing.T) {
		cmd := exec.Command(bin, "kvdb", "watch", "w/")
		cmd.Env = environ
		var stdout syncBuffer
		var stderr bytes.Buffer
		cmd.Stdout, cmd.Stderr = &stdout, &stderr
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		deadline := time.Now().Add(20 * time.Second)
		for !strings.Contains(stdout.String(), "PUT /vnf-agent/e2e/w/k v\n") {
			if time.Now().After(deadline) {
				cmd.Process.Kill()
				cmd.Wait()
				t.Fatalf("watch printed %q; stderr %q", stdout.String(), stderr.String())
			}
			agentctl("", "kvdb", "put", "w/k", "v")
			time.Sleep(50 * time.Millisecond)
		}
		cmd.Process.Signal(syscall.SIGINT)
		done := make(chan error, 1)
		go func() { done <- cmd.Wait() }()
		select {
		case err := <-done:
			if err != nil {
				t.Errorf("watch after SIGINT: %v; stderr %q", err, stderr.String())
			}
		case <-time.After(10 * time.Second):
			cmd.Process.Kill()
			<-done
			t.Error("watch did not end within 10s of SIGINT")
		}
	})

	t.Run("etcd killed", func(t *testing.T) {
		etcd.Kill()
		// Nothing listens on the port any more: refused, reported at once
		// (a wait for --timeout would outlast the test).
		code, _, stderr := agentctl("", "kvdb", "get", "k", "--timeout", "1h")
		if want := "agentctl: cannot reach etcd at " + etcd.Endpoints()[0] + ": connection refused\n"; code != exitUnavailable || stderr != want {
			t.Errorf("get with etcd killed = (%d, %q), want (%d, %q)", code, stderr, exitUnavailable, want)
		}
		etcd.Restart()
		ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
		defer cancel()
		for ctx.Err() == nil {
			if code, _, _ := agentctl("", "kvdb", "list"); code == 0 {
				return
			}
		}
		t.Error("agentctl did not work again after etcd restarted")
	})
}
