package processmanager_test

import (
	"bufio"
	"fmt"
	"os"
	"os/exec"
	"runtime"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	pm "github.com/plinth-go/plinth/exec/processmanager"
	"github.com/plinth-go/plinth/exec/processmanager/status"
)

func TestCPUAffinityBindsEveryThread(t *testing.T) {
	if runtime.NumCPU() < 2 {
		t.Skipf("needs 2 cpus to tell an affinity from the default, have %d", runtime.NumCPU())
	}
	for _, tc := range []struct {
		name       string
		mask, list string
		want       string // Cpus_allowed_list
	}{
		{"list", "", "0", "0"},
		{"mask", "0x2", "", "1"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			m := newManager(t)
			out := newLines()
			p := newHelper(t, m, "pinned", []string{"threads", "4", "ready", "wait-usr1", "affinity"},
				pm.Writer(out, nil), pm.CPUAffinity(tc.mask, tc.list, 0))
			mustStart(t, p)
			out.waitPrefix(t, "waiting", 1)
			// Threads created before the setting (the helper's) are bound.
			if n := countThreads(t, p.GetPid()); n < 5 {
				t.Errorf("%d threads, want at least 5", n)
			}
			checkAffinity(t, p.GetPid(), tc.want)
			_ = p.Signal(syscall.SIGUSR1)
			if got := out.waitPrefix(t, "cpus ", 1); got != "cpus "+tc.want {
				t.Errorf("sched_getaffinity in the process: %q, want %q", got, "cpus "+tc.want)
			}
		})
	}
}

func TestCPUAffinityDelayPostponesTheSetting(t *testing.T) {
	if runtime.NumCPU() < 2 {
		t.Skipf("needs 2 cpus, have %d", runtime.NumCPU())
	}
	m := newManager(t)
	all := fmt.Sprintf("0-%d", runtime.NumCPU()-1)
	late := newHelper(t, m, "late", []string{"sleep", "forever"}, pm.CPUAffinity("", "1", time.Hour))
	mustStart(t, late)
	checkAffinity(t, late.GetPid(), all)

	soon := newHelper(t, m, "soon", []string{"sleep", "forever"}, pm.CPUAffinity("", "1", 20*time.Millisecond))
	mustStart(t, soon)
	waitFor(t, "the delayed affinity", func() bool {
		f, err := status.ReadFile(soon.GetPid())
		return err == nil && f.CpusAllowedList == "1"
	})
	checkAffinity(t, soon.GetPid(), "1")
}

// checkAffinity checks the affinity of every thread of pid, through
// /proc/<pid>/task/<tid>/status and sched_getaffinity.
func checkAffinity(t *testing.T, pid int, want string) {
	t.Helper()
	tasks, err := os.ReadDir(fmt.Sprintf("/proc/%d/task", pid))
	if err != nil {
		t.Fatal(err)
	}
	for _, task := range tasks {
		data, err := os.ReadFile(fmt.Sprintf("/proc/%d/task/%s/status", pid, task.Name()))
		if err != nil {
			t.Fatal(err)
		}
		f, err := status.ParseStatus(data)
		if err != nil {
			t.Fatal(err)
		}
		if f.CpusAllowedList != want {
			t.Errorf("thread %s: Cpus_allowed_list %q, want %q", task.Name(), f.CpusAllowedList, want)
		}
		tid, _ := strconv.Atoi(task.Name())
		var set unix.CPUSet
		if err := unix.SchedGetaffinity(tid, &set); err != nil {
			t.Fatal(err)
		}
		var cpus []string
		for c := range 1024 {
			if set.IsSet(c) {
				cpus = append(cpus, strconv.Itoa(c))
			}
		}
		got := strings.Join(cpus, ",")
		if want == "0-1" {
			want = "0,1"
		}
		if got != strings.ReplaceAll(want, "-", ",") {
			t.Errorf("thread %d: sched_getaffinity %s, want %s", tid, got, want)
		}
	}
}

// TestParentDeathKillsChildren runs the test binary as an agent that starts
// a child and a detached child, kills it with SIGKILL (no Close runs) and
// checks that the child died with it and the detached one did not.
func TestParentDeathKillsChildren(t *testing.T) {
	becomeSubreaper(t)
	agent := exec.Command(os.Args[0], "-test.run=^$")
	agent.Env = append(os.Environ(), fakeAgentEnv+"="+helper)
	stdin, err := agent.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	defer stdin.Close()
	stdout, err := agent.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := agent.Start(); err != nil {
		t.Fatal(err)
	}
	line, err := bufio.NewReader(stdout).ReadString('\n')
	if err != nil {
		t.Fatalf("reading the fake agent: %v", err)
	}
	var child, detached int
	if _, err := fmt.Sscanf(line, "pids %d %d", &child, &detached); err != nil {
		t.Fatalf("fake agent said %q: %v", line, err)
	}
	if err := agent.Process.Kill(); err != nil {
		t.Fatal(err)
	}
	_ = agent.Wait()

	// Both were reparented to the test process (a subreaper): it can wait
	// for them.
	var ws unix.WaitStatus
	if _, err := unix.Wait4(child, &ws, 0, nil); err != nil {
		t.Fatalf("waiting for the child: %v", err)
	}
	if !ws.Signaled() || ws.Signal() != syscall.SIGKILL {
		t.Errorf("child ended with %v, want the parent-death signal SIGKILL", ws)
	}
	if !exists(detached) {
		t.Errorf("detached process %d died with the agent", detached)
	}
	_ = unix.Kill(detached, syscall.SIGKILL)
	if _, err := unix.Wait4(detached, &ws, 0, nil); err != nil {
		t.Errorf("reaping the detached process: %v", err)
	}
}

// TestStartKillCyclesLeaveNoZombiesOrOrphans starts a shell with two
// grandchildren and kills it, 1000 times, then scans /proc for anything left
// behind: zombie children, or members of the process groups used.
func TestStartKillCyclesLeaveNoZombiesOrOrphans(t *testing.T) {
	cycles := 1000
	if testing.Short() {
		cycles = 100
	}
	becomeSubreaper(t)
	m := newManager(t)
	out := newLines()
	p, err := m.NewProcess("sh", pm.Args("-c", "sleep 1000 & sleep 1000 & echo forked $$; wait"), pm.Writer(out, nil))
	if err != nil {
		t.Fatal(err)
	}
	groups := make(map[int]bool, cycles)
	for i := range cycles {
		mustStart(t, p)
		groups[p.GetPid()] = true
		if i%2 == 1 {
			// Every other cycle, let the shell fork before it dies; in the
			// others it may die before, during or after.
			out.waitPrefix(t, "forked "+strconv.Itoa(p.GetPid()), 1)
		}
		if err := p.Kill(); err != nil {
			t.Fatal(err)
		}
	}
	var left []string
	for _, st := range procs() {
		if groups[st.Pgrp] {
			left = append(left, fmt.Sprintf("%d (%s, %s, parent %d)", st.Pid, st.Comm, st.State, st.PPid))
		}
	}
	if len(left) > 0 {
		t.Errorf("%d processes left in the groups of the killed shells: %s", len(left), strings.Join(left, "; "))
	}
	if zs := ourZombies(); len(zs) > 0 {
		t.Errorf("zombie children after %d cycles: %v", cycles, zs)
	}
}

func countThreads(t *testing.T, pid int) int {
	tasks, err := os.ReadDir(fmt.Sprintf("/proc/%d/task", pid))
	if err != nil {
		t.Fatal(err)
	}
	return len(tasks)
}
