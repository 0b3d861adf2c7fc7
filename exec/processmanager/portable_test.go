package processmanager_test

import (
	"errors"
	"os"
	"runtime"
	"testing"
	"time"

	pm "github.com/plinth-go/plinth/exec/processmanager"
	"github.com/plinth-go/plinth/exec/processmanager/status"
)

// portableChildEnv makes the test binary a child process for the tests
// that run on every system (no test helper, no shell): "wait" waits to be
// stopped, "exit3" exits with code 3.
const portableChildEnv = "PROCESSMANAGER_PORTABLE_CHILD"

func init() {
	switch os.Getenv(portableChildEnv) {
	case "":
		return
	case "wait":
		// Until stopped: this child orders nothing in the test.
		time.Sleep(time.Hour)
	case "exit3":
		os.Exit(3)
	}
	os.Exit(0)
}

func portableChild(mode string) pm.Option {
	return pm.EnvVar(append(os.Environ(), portableChildEnv+"="+mode))
}

// TestStartStopRestartOnEverySystem covers what the process manager does
// on every system, through the pidfd on Linux and the portable fallback
// elsewhere: start, stop, wait, restarts, and CPU affinity refused clearly
// where it is not supported.
func TestStartStopRestartOnEverySystem(t *testing.T) {
	m := pm.NewPlugin()
	if err := m.Init(); err != nil {
		t.Fatal(err)
	}
	defer m.Close()

	p, err := m.NewProcess(os.Args[0], pm.WithName("waiter"), portableChild("wait"))
	if err != nil {
		t.Fatal(err)
	}
	if err := p.Start(); err != nil {
		t.Fatal(err)
	}
	if !p.IsAlive() || p.GetPid() <= 0 {
		t.Fatalf("after Start: alive %v pid %d, want a live process", p.IsAlive(), p.GetPid())
	}
	es, err := p.StopAndWait()
	if err != nil || es.Success() || p.IsAlive() {
		t.Errorf("StopAndWait = %v, %v (alive %v), want a stopped process", es, err, p.IsAlive())
	}
	if st := p.State(); st != status.Terminated {
		t.Errorf("State() = %s after the stop, want %s", st, status.Terminated)
	}

	ch := make(chan pm.Notification, 64)
	c, err := m.NewProcess(os.Args[0], pm.WithName("crasher"), portableChild("exit3"),
		pm.Restarts(2), pm.WithBackoff(0, 0, 0), pm.Notify(ch))
	if err != nil {
		t.Fatal(err)
	}
	if err := c.Start(); err != nil {
		t.Fatal(err)
	}
	deadline := time.After(time.Minute)
	for done := false; !done; {
		select {
		case n := <-ch:
			if n.State == status.Terminated && n.Exit != nil && !n.Restarting {
				if n.Exit.Code != 3 || n.Restarts != 2 {
					t.Errorf("last notification %+v, want exit status 3 after 2 restarts", n)
				}
				done = true
			}
		case <-deadline:
			t.Fatal("the crasher did not give up within a minute")
		}
	}

	_, err = m.NewProcess(os.Args[0], pm.WithName("bound"), pm.CPUAffinity("", "0", 0))
	switch {
	case runtime.GOOS == "linux" && err != nil:
		t.Errorf("CPUAffinity on Linux: %v", err)
	case runtime.GOOS != "linux" && !(errors.Is(err, pm.ErrInvalidOption) && errors.Is(err, errors.ErrUnsupported)):
		t.Errorf("CPUAffinity on %s: %v, want ErrInvalidOption and ErrUnsupported", runtime.GOOS, err)
	}
}
