package processmanager

import (
	"errors"
	"fmt"
	"os"
	"slices"
	"strconv"
	"strings"

	"golang.org/x/sys/unix"
)

// affinitySupported reports whether CPUAffinity can bind processes.
const affinitySupported = true

// checkCPUs returns the CPUs of cpus that the agent may run on, and an
// error naming the others: those the machine does not have (or has
// offline), and those outside the agent's own affinity (a container's
// cpuset). The kernel would bind to the usable CPUs of a set without a
// word, and refuse a set with none as merely "invalid argument", so the
// check says which CPU is the problem. When the agent cannot read what it
// may use, every CPU passes and the kernel has the last word.
func checkCPUs(cpus []int) ([]int, error) {
	var allowed unix.CPUSet
	if err := unix.SchedGetaffinity(os.Getpid(), &allowed); err != nil {
		return cpus, nil
	}
	online := onlineCPUs()
	var usable, missing, denied []int
	for _, c := range cpus {
		switch {
		case allowed.IsSet(c):
			usable = append(usable, c)
		case online != nil && !slices.Contains(online, c):
			missing = append(missing, c)
		default:
			denied = append(denied, c)
		}
	}
	var problems []string
	if len(missing) > 0 {
		verb := "does"
		if len(missing) > 1 {
			verb = "do"
		}
		problems = append(problems, fmt.Sprintf("%s %s not exist on this machine (CPUs %s)", cpuWords(missing), verb, formatCPUList(online)))
	}
	if len(denied) > 0 {
		var mine []int
		for c := range maxCPU {
			if allowed.IsSet(c) {
				mine = append(mine, c)
			}
		}
		verb := "is"
		if len(denied) > 1 {
			verb = "are"
		}
		problems = append(problems, fmt.Sprintf("%s %s not available to the agent (it may use CPUs %s)", cpuWords(denied), verb, formatCPUList(mine)))
	}
	switch {
	case len(problems) == 0:
		return cpus, nil
	case len(usable) == 0:
		return nil, errors.New(strings.Join(problems, "; ") + "; the process runs unbound")
	}
	return usable, fmt.Errorf("%s; bound to CPUs %s only", strings.Join(problems, "; "), formatCPUList(usable))
}

// onlineCPUs returns the CPUs the machine has online, or nil when it
// cannot tell.
func onlineCPUs() []int {
	b, err := os.ReadFile("/sys/devices/system/cpu/online")
	if err != nil {
		return nil
	}
	cpus, err := ParseCPUList(strings.TrimSpace(string(b)))
	if err != nil {
		return nil
	}
	return cpus
}

// binder binds the threads of a running process to a set of CPUs.
type binder struct {
	pid int
	set *unix.CPUSet
	// got is the affinity a thread bound to set reports: set without the
	// CPUs the process may not use; nil until a thread is bound.
	got    *unix.CPUSet
	seen   map[int]bool  // threads bound, or found with an affinity the process chose
	before []unix.CPUSet // the affinities of the threads before the binding
}

func newBinder(pid int, cpus []int) *binder {
	return &binder{pid: pid, set: cpuSet(cpus), seen: make(map[int]bool)}
}

func cpuSet(cpus []int) *unix.CPUSet {
	var set unix.CPUSet
	for _, c := range cpus {
		set.Set(c)
	}
	return &set
}

// bind binds the threads it has not seen yet and returns how many it bound.
// Threads created meanwhile inherit the affinity of their creator, which
// may not be bound yet, so it lists the threads again until a listing
// finds no new one, at most maxListings times: a process that keeps
// creating threads is left to the next call. With inheritedOnly, as for
// the listings after the first call, it binds only threads whose affinity
// is one the threads had before the binding: others were created by a
// thread that the process bound elsewhere itself, which is its choice.
func (b *binder) bind(inheritedOnly bool) (int, error) {
	bound := 0
	for range maxListings {
		tids, err := threads(b.pid)
		if err != nil {
			return bound, err
		}
		fresh := 0
		for _, tid := range tids {
			if b.seen[tid] {
				continue
			}
			fresh++
			var cur unix.CPUSet
			if err := unix.SchedGetaffinity(tid, &cur); err != nil {
				if errors.Is(err, unix.ESRCH) {
					continue // the thread exited
				}
				return bound, fmt.Errorf("sched_getaffinity(%d): %w", tid, err)
			}
			b.seen[tid] = true
			inherited := slices.Contains(b.before, cur)
			if cur == *b.set || (b.got != nil && cur == *b.got) || (inheritedOnly && !inherited) {
				continue
			}
			if !inherited {
				b.before = append(b.before, cur)
			}
			if err := unix.SchedSetaffinity(tid, b.set); err != nil {
				if errors.Is(err, unix.ESRCH) {
					continue
				}
				return bound, fmt.Errorf("sched_setaffinity(%d): %w", tid, err)
			}
			if b.got == nil {
				var got unix.CPUSet
				if unix.SchedGetaffinity(tid, &got) == nil {
					b.got = &got
				}
			}
			bound++
		}
		if fresh == 0 {
			break
		}
	}
	return bound, nil
}

func threads(pid int) ([]int, error) {
	entries, err := os.ReadDir("/proc/" + strconv.Itoa(pid) + "/task")
	if err != nil {
		return nil, err
	}
	tids := make([]int, 0, len(entries))
	for _, e := range entries {
		if tid, err := strconv.Atoi(e.Name()); err == nil {
			tids = append(tids, tid)
		}
	}
	return tids, nil
}
