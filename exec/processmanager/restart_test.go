//go:build linux

package processmanager_test

import (
	"os"
	"path/filepath"
	"strconv"
	"syscall"
	"testing"
	"time"

	pm "github.com/plinth-go/plinth/exec/processmanager"
	"github.com/plinth-go/plinth/exec/processmanager/status"
)

func TestRestartsCountIsHonoured(t *testing.T) {
	for _, tc := range []struct {
		name     string
		restarts int32
	}{
		{"none", 0},
		{"one", 1},
		{"three", 3},
	} {
		t.Run(tc.name, func(t *testing.T) {
			m := newManager(t)
			ch := make(chan pm.Notification, 100)
			p := newHelper(t, m, "crasher", []string{"exit", "1"},
				pm.Restarts(tc.restarts), pm.WithBackoff(0, 0, time.Hour), pm.Notify(ch))
			mustStart(t, p)
			for i := 0; ; i++ {
				n := nextTerminated(t, ch)
				if n.Exit == nil || n.Exit.Code != 1 {
					t.Fatalf("terminated notification %+v, want exit status 1", n)
				}
				if !n.Restarting {
					if i != int(tc.restarts) || n.Restarts != int(tc.restarts) {
						t.Errorf("gave up after %d exits (%d restarts), want %d restarts", i+1, n.Restarts, tc.restarts)
					}
					break
				}
			}
			if in := p.Info(); in.State != status.Terminated || in.Alive || in.Restarts != int(tc.restarts) {
				t.Errorf("Info() = %+v, want terminated after %d restarts", in, tc.restarts)
			}
		})
	}
}

func TestNegativeRestartsRestartForeverUntilStop(t *testing.T) {
	m := newManager(t)
	ch := make(chan pm.Notification, 100)
	out := newLines()
	settle := filepath.Join(t.TempDir(), "settle")
	p := newHelper(t, m, "forever", []string{"crash-unless", settle, "wait-usr1", "exit", "1"},
		pm.Restarts(-1), pm.WithBackoff(0, 0, time.Hour), pm.Notify(ch), pm.Writer(out, nil))
	mustStart(t, p)
	// cn-infra restarted "always" processes once; go well past that.
	for {
		n := nextTerminated(t, ch)
		if !n.Restarting {
			t.Fatalf("no restart scheduled after %d restarts with Restarts(-1): %+v", n.Restarts, n)
		}
		if n.Restarts >= 10 {
			break
		}
	}
	// Stop a run that is running: one stopped between two runs would
	// cancel the restart without a notification saying so.
	if err := os.WriteFile(settle, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	waiting := out.waitPrefix(t, "waiting ", 1)
	if err := p.Stop(); err != nil {
		t.Fatal(err)
	}
	for {
		n := nextTerminated(t, ch)
		if "waiting "+strconv.Itoa(n.Pid) != waiting {
			// A run that crashed before the file existed.
			if !n.Restarting {
				t.Fatalf("crash of pid %d: %+v, want a restart", n.Pid, n)
			}
			continue
		}
		if n.Restarting || n.Exit == nil || n.Exit.Signal != syscall.SIGTERM {
			t.Errorf("after Stop: %+v, want SIGTERM and no restart", n)
		}
		break
	}
	if p.IsAlive() {
		t.Errorf("pid %d runs after Stop", p.GetPid())
	}
}

func TestStopAndKillTurnAutomaticRestartsOff(t *testing.T) {
	for _, tc := range []struct {
		name string
		stop func(p *pm.Process) error
		sig  syscall.Signal
	}{
		{"Stop", (*pm.Process).Stop, syscall.SIGTERM},
		{"StopAndWait", func(p *pm.Process) error { _, err := p.StopAndWait(); return err }, syscall.SIGTERM},
		{"Kill", (*pm.Process).Kill, syscall.SIGKILL},
	} {
		t.Run(tc.name, func(t *testing.T) {
			m := newManager(t)
			ch := make(chan pm.Notification, 100)
			p := newHelper(t, m, "stopped", []string{"sleep", "forever"},
				pm.Restarts(-1), pm.WithBackoff(0, 0, time.Hour), pm.Notify(ch))
			mustStart(t, p)
			if err := tc.stop(p); err != nil {
				t.Fatal(err)
			}
			n := nextTerminated(t, ch)
			if n.Restarting || n.Exit == nil || n.Exit.Signal != tc.sig {
				t.Errorf("after %s: %+v, want %v and no restart", tc.name, n, tc.sig)
			}
			if p.IsAlive() || p.Info().Restarts != 0 {
				t.Errorf("after %s: alive %v, restarts %d", tc.name, p.IsAlive(), p.Info().Restarts)
			}
			// Start turns them on again.
			mustStart(t, p)
			if err := p.Signal(syscall.SIGKILL); err != nil {
				t.Fatal(err)
			}
			if n := nextTerminated(t, ch); !n.Restarting {
				t.Errorf("after Start and a crash: %+v, want a restart", n)
			}
		})
	}
}

func TestStopCancelsAPendingRestart(t *testing.T) {
	m := newManager(t)
	ch := make(chan pm.Notification, 100)
	p := newHelper(t, m, "pending", []string{"exit", "1"},
		pm.Restarts(-1), pm.WithBackoff(time.Hour, time.Hour, time.Hour), pm.Notify(ch))
	mustStart(t, p)
	if n := nextTerminated(t, ch); !n.Restarting || n.RestartIn != time.Hour {
		t.Fatalf("notification %+v, want a restart in 1h", n)
	}
	// Stop during the backoff, then Start: the hour-long wait is cancelled
	// and the process starts at once.
	if err := p.Stop(); err != nil {
		t.Fatal(err)
	}
	mustStart(t, p)
	if n := nextTerminated(t, ch); n.Restarts != 0 {
		t.Errorf("after Stop and Start: %+v, want a fresh count", n)
	}
}

func TestBackoffDoublesUpToTheCap(t *testing.T) {
	m := newManager(t)
	ch := make(chan pm.Notification, 100)
	ms := time.Millisecond
	p := newHelper(t, m, "backoff", []string{"exit", "1"},
		pm.Restarts(6), pm.WithBackoff(ms, 8*ms, time.Hour), pm.Notify(ch))
	mustStart(t, p)
	var got []time.Duration
	for {
		n := nextTerminated(t, ch)
		if !n.Restarting {
			break
		}
		got = append(got, n.RestartIn)
	}
	want := []time.Duration{ms, 2 * ms, 4 * ms, 8 * ms, 8 * ms, 8 * ms}
	if len(got) != len(want) {
		t.Fatalf("delays %v, want %v", got, want)
	}
	for i := range want {
		if got[i] != want[i] {
			t.Fatalf("delays %v, want %v", got, want)
		}
	}
}

func TestBackoffResetsAfterAStableRun(t *testing.T) {
	m := newManager(t)
	ch := make(chan pm.Notification, 100)
	out := newLines()
	stable := filepath.Join(t.TempDir(), "stable")
	// A run that crashes at once lasts milliseconds: reset is far above
	// that, and yet short enough to wait for a run that lasts longer.
	const initial, maxDelay, reset = time.Millisecond, time.Second, time.Second
	p := newHelper(t, m, "flaky", []string{"crash-unless", stable, "wait-usr1", "exit", "1"},
		pm.Restarts(-1), pm.WithBackoff(initial, maxDelay, reset), pm.Notify(ch), pm.Writer(out, nil))
	mustStart(t, p)

	// The delay that follows each run is predicted from how long the runs
	// lasted, as each notification says: it doubles after every run
	// shorter than reset, up to the cap, and starts again from initial
	// after a longer one. A crash slowed down by a loaded machine past
	// reset legitimately resets the delay too.
	streak := 0
	check := func(n pm.Notification) {
		t.Helper()
		if n.Exit == nil || !n.Restarting {
			t.Fatalf("notification %+v, want an exit and a restart", n)
		}
		if n.Exit.RunTime >= reset {
			streak = 0
		}
		want := initial
		for range streak {
			want = min(2*want, maxDelay)
		}
		streak++
		if n.RestartIn != want {
			t.Fatalf("delay after a run of %v: %v, want %v", n.Exit.RunTime, n.RestartIn, want)
		}
	}
	// Crashing at once, the delay doubles: 1ms, 2ms, 4ms.
	for {
		n := nextTerminated(t, ch)
		check(n)
		if n.RestartIn >= 4*initial {
			break
		}
	}
	if err := os.WriteFile(stable, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	// Some more quick crashes may happen before a run sees the file.
	out.waitPrefix(t, "waiting", 1)
	waitFor(t, "a stable run", func() bool { return p.GetUpTime() > reset })
	if err := p.Signal(syscall.SIGUSR1); err != nil {
		t.Fatal(err)
	}
	for {
		n := nextTerminated(t, ch)
		check(n)
		if n.Exit.RunTime >= reset {
			if n.RestartIn != initial {
				t.Errorf("delay after a stable run %v, want the initial %v", n.RestartIn, initial)
			}
			break
		}
	}
	if err := p.Kill(); err != nil {
		t.Fatal(err)
	}
}

func TestRestartAfterAStartFailureKeepsTrying(t *testing.T) {
	m := newManager(t)
	ch := make(chan pm.Notification, 100)
	dir := t.TempDir()
	cmd := filepath.Join(dir, "appears")
	// The command exits 1, then disappears: the restart fails to exec.
	if err := os.WriteFile(cmd, []byte("#!/bin/sh\nrm -f \"$0\"\nexit 1\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	p, err := m.NewProcess(cmd, pm.Restarts(2), pm.WithBackoff(0, 0, time.Hour), pm.Notify(ch))
	if err != nil {
		t.Fatal(err)
	}
	mustStart(t, p)
	if n := nextTerminated(t, ch); n.Exit == nil || n.Exit.Code != 1 || !n.Restarting {
		t.Fatalf("first exit %+v", n)
	}
	n := nextTerminated(t, ch)
	if n.Err == nil || !n.Restarting {
		t.Fatalf("failed restart %+v, want an error and another attempt", n)
	}
	if n = nextTerminated(t, ch); n.Err == nil || n.Restarting {
		t.Fatalf("last failed restart %+v, want an error and no more attempts", n)
	}
}
