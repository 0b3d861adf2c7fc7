//go:build linux

package processmanager_test

import (
	"bufio"
	"errors"
	"fmt"
	"io/fs"
	"math/big"
	"os"
	"os/exec"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	pm "github.com/plinth-go/plinth/exec/processmanager"
	"github.com/plinth-go/plinth/exec/processmanager/status"
	"github.com/plinth-go/plinth/internal/testwait"
)

func TestCPUAffinityBindsEveryThread(t *testing.T) {
	cpus := allowedCPUs(t)
	if len(cpus) < 2 {
		t.Skipf("needs 2 allowed cpus to tell an affinity from the default; this process may use %v", cpus)
	}
	first, last := cpus[0], cpus[len(cpus)-1]
	type binding struct {
		name       string
		mask, list string
		want       []int
	}
	cases := []binding{
		{"list", "", strconv.Itoa(first), []int{first}},
		{"mask", cpuMask(last), "", []int{last}},
	}
	if len(cpus) >= 3 {
		// Several cpus, which the kernel prints as ranges ("0-1").
		some := cpus[:len(cpus)-1]
		cases = append(cases, binding{"several", "", cpuList(some), some})
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			m := newManager(t)
			out := newLines()
			p := newHelper(t, m, "pinned", []string{"threads", "4", "ready", "wait-usr1", "affinity"},
				pm.Writer(out, nil), pm.CPUAffinity(tc.mask, tc.list, 0))
			mustStart(t, p)
			// The helper prints "ready" once its 4 locked threads exist.
			out.waitPrefix(t, "waiting", 1)
			if n := countThreads(t, p.GetPid()); n < 5 {
				t.Errorf("%d threads, want at least 5", n)
			}
			checkAffinity(t, p.GetPid(), tc.want)
			_ = p.Signal(syscall.SIGUSR1)
			line := out.waitPrefix(t, "cpus ", 1)
			got, err := pm.ParseCPUList(strings.TrimPrefix(line, "cpus "))
			if err != nil || !slices.Equal(got, tc.want) {
				t.Errorf("sched_getaffinity in the process: %q (%v, %v), want %v", line, got, err, tc.want)
			}
		})
	}
}

func TestCPUAffinityDelayPostponesTheSetting(t *testing.T) {
	cpus := allowedCPUs(t)
	if len(cpus) < 2 {
		t.Skipf("needs 2 allowed cpus to tell an affinity from the default; this process may use %v", cpus)
	}
	target := cpus[len(cpus)-1]
	m := newManager(t)
	late := newHelper(t, m, "late", []string{"sleep", "forever"}, pm.CPUAffinity("", strconv.Itoa(target), time.Hour))
	mustStart(t, late)
	// Children inherit the affinity of the test process until the setting.
	checkAffinity(t, late.GetPid(), cpus)

	soon := newHelper(t, m, "soon", []string{"sleep", "forever"}, pm.CPUAffinity("", strconv.Itoa(target), 20*time.Millisecond))
	mustStart(t, soon)
	waitAffinity(t, soon.GetPid(), []int{target})
}

func TestCPUAffinityBindsEveryThreadOfAnAttachedProcess(t *testing.T) {
	cpus := allowedCPUs(t)
	if len(cpus) < 2 {
		t.Skipf("needs 2 allowed cpus to tell an affinity from the default; this process may use %v", cpus)
	}
	target := cpus[len(cpus)-1]
	cmd := exec.Command(helper, "threads", "4", "ready", "sleep", "forever")
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
	})
	// Once ready, its threads exist: the binding finds them running.
	if line, err := bufio.NewReader(stdout).ReadString('\n'); err != nil || !strings.HasPrefix(line, "ready ") {
		t.Fatalf("helper said %q, %v; want ready", line, err)
	}
	checkAffinity(t, cmd.Process.Pid, cpus)
	m := newManager(t)
	if _, err := m.AttachProcess(cmd.Process.Pid, pm.CPUAffinity("", strconv.Itoa(target), 0)); err != nil {
		t.Fatal(err)
	}
	if n := countThreads(t, cmd.Process.Pid); n < 5 {
		t.Errorf("%d threads, want at least 5", n)
	}
	waitAffinity(t, cmd.Process.Pid, []int{target})
}

// maxCPUs is the number of cpus a unix.CPUSet holds.
const maxCPUs = 1024

// allowedCPUs returns the cpus the test process may run on, which the
// processes it starts inherit. They need not be 0 to runtime.NumCPU()-1: a
// cpuset or taskset may leave out any cpu.
func allowedCPUs(t *testing.T) []int {
	t.Helper()
	var set unix.CPUSet
	if err := unix.SchedGetaffinity(0, &set); err != nil {
		t.Fatal(err)
	}
	return cpusOf(&set)
}

func cpusOf(set *unix.CPUSet) []int {
	var cpus []int
	for c := range maxCPUs {
		if set.IsSet(c) {
			cpus = append(cpus, c)
		}
	}
	return cpus
}

// cpuMask returns the hexadecimal mask of cpus, of any width.
func cpuMask(cpus ...int) string {
	m := new(big.Int)
	for _, c := range cpus {
		m.SetBit(m, c, 1)
	}
	return fmt.Sprintf("%x", m)
}

// cpuList returns cpus as a comma-separated list.
func cpuList(cpus []int) string {
	s := make([]string, len(cpus))
	for i, c := range cpus {
		s[i] = strconv.Itoa(c)
	}
	return strings.Join(s, ",")
}

// checkAffinity checks that every thread of pid may run on want and only
// there.
func checkAffinity(t *testing.T, pid int, want []int) {
	t.Helper()
	for _, problem := range affinityProblems(t, pid, want) {
		t.Error(problem)
	}
}

// waitAffinity waits until every thread of pid may run on want and only
// there, failing the test after 20s. A delayed setting also binds, a
// little later, the threads whose creation was under way as it started.
func waitAffinity(t *testing.T, pid int, want []int) {
	t.Helper()
	testwait.For(t, 20*time.Second, fmt.Sprintf("every thread of %d on cpus %v", pid, want), func() (bool, string) {
		problems := affinityProblems(t, pid, want)
		return len(problems) == 0, strings.Join(problems, "; ")
	})
}

// affinityProblems checks the affinity of every thread of pid, through
// /proc/<pid>/task/<tid>/status and sched_getaffinity. Lists are compared
// as sets of cpus: the kernel prints {0, 1} as "0-1".
func affinityProblems(t *testing.T, pid int, want []int) []string {
	t.Helper()
	tasks, err := os.ReadDir(fmt.Sprintf("/proc/%d/task", pid))
	if err != nil {
		t.Fatal(err)
	}
	var problems []string
	checked := 0
	for _, task := range tasks {
		tid, err := strconv.Atoi(task.Name())
		if err != nil {
			t.Fatalf("task %q: %v", task.Name(), err)
		}
		data, err := os.ReadFile(fmt.Sprintf("/proc/%d/task/%d/status", pid, tid))
		if errors.Is(err, fs.ErrNotExist) || errors.Is(err, unix.ESRCH) {
			continue // the thread ended: it has no affinity left to check
		}
		if err != nil {
			t.Fatal(err)
		}
		f, err := status.ParseStatus(data)
		if err != nil {
			t.Fatal(err)
		}
		if got, err := pm.ParseCPUList(f.CpusAllowedList); err != nil || !slices.Equal(got, want) {
			problems = append(problems, fmt.Sprintf("thread %d: Cpus_allowed_list %q (%v, %v), want %v",
				tid, f.CpusAllowedList, got, err, want))
		}
		var set unix.CPUSet
		if err := unix.SchedGetaffinity(tid, &set); errors.Is(err, unix.ESRCH) {
			continue
		} else if err != nil {
			t.Fatal(err)
		}
		if got := cpusOf(&set); !slices.Equal(got, want) {
			problems = append(problems, fmt.Sprintf("thread %d: sched_getaffinity %v, want %v", tid, got, want))
		}
		checked++
	}
	if checked == 0 {
		problems = append(problems, fmt.Sprintf("no thread of pid %d to check", pid))
	}
	return problems
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
	t.Helper()
	tasks, err := os.ReadDir(fmt.Sprintf("/proc/%d/task", pid))
	if err != nil {
		t.Fatal(err)
	}
	return len(tasks)
}
