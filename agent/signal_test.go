package agent_test

import (
	"bufio"
	"fmt"
	"io"
	"os"
	"os/exec"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/plinth-go/plinth/agent"
	"github.com/plinth-go/plinth/infra"
	"github.com/plinth-go/plinth/logging"
)

const helperEnv = "PLINTH_AGENT_TEST_HELPER"

// signalPlug reports its lifecycle on stdout so that the parent test can
// follow a re-executed test binary.
type signalPlug struct {
	infra.PluginName
	hangOnClose bool
}

func (p *signalPlug) Init() error { return nil }
func (p *signalPlug) Close() error {
	fmt.Println("closing")
	if p.hangOnClose {
		select {}
	}
	fmt.Println("closed")
	return nil
}

// helperMain runs an agent in a re-executed test binary and exits.
func helperMain() bool {
	mode := os.Getenv(helperEnv)
	if mode == "" {
		return false
	}
	a, err := agent.New(agent.Args(), agent.Logs(logging.NewRegistry(logging.WithOutput(io.Discard))),
		agent.AllPlugins(&signalPlug{PluginName: "sig", hangOnClose: mode == "hang"}))
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(2)
	}
	go func() {
		select {
		case <-a.Ready():
			fmt.Println("ready")
		case <-a.Done():
		}
	}()
	if err := a.Run(); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(3)
	}
	os.Exit(0)
	return true
}

func runHelper(t *testing.T, mode string) (*exec.Cmd, *bufio.Scanner, *strings.Builder) {
	t.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), helperEnv+"="+mode)
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	stderr := &strings.Builder{}
	cmd.Stderr = stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = cmd.Process.Kill(); _ = cmd.Wait() })
	return cmd, bufio.NewScanner(stdout), stderr
}

func expectLine(t *testing.T, sc *bufio.Scanner, want string) {
	t.Helper()
	got := make(chan string, 1)
	go func() {
		if sc.Scan() {
			got <- sc.Text()
		} else {
			got <- "<EOF>"
		}
	}()
	select {
	case line := <-got:
		if line != want {
			t.Fatalf("helper printed %q, want %q", line, want)
		}
	case <-time.After(30 * time.Second):
		t.Fatalf("helper did not print %q", want)
	}
}

func TestRunStopsGracefullyOnSIGTERM(t *testing.T) {
	cmd, out, stderr := runHelper(t, "graceful")
	expectLine(t, out, "ready")
	if err := cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	expectLine(t, out, "closing")
	expectLine(t, out, "closed")
	if err := cmd.Wait(); err != nil {
		t.Fatalf("helper exited with %v; stderr: %s", err, stderr)
	}
}

func TestSecondSignalDuringStopReturnsAtOnce(t *testing.T) {
	cmd, out, stderr := runHelper(t, "hang")
	expectLine(t, out, "ready")
	if err := cmd.Process.Signal(syscall.SIGINT); err != nil {
		t.Fatal(err)
	}
	expectLine(t, out, "closing")
	if err := cmd.Process.Signal(syscall.SIGINT); err != nil {
		t.Fatal(err)
	}
	err := cmd.Wait()
	if ee, ok := err.(*exec.ExitError); !ok || ee.ExitCode() != 3 {
		t.Fatalf("helper exited with %v, want exit code 3", err)
	}
	if !strings.Contains(stderr.String(), "stop interrupted by a second signal (interrupt)") {
		t.Errorf("stderr = %q", stderr)
	}
}
