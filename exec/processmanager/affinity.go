package processmanager

import (
	"errors"
	"fmt"
	"os"
	"slices"
	"strconv"
	"strings"
	"time"

	"golang.org/x/sys/unix"
)

// maxCPU bounds the CPUs of a mask or list: the size of unix.CPUSet.
const maxCPU = 1024

func parseAffinity(mask, list string) ([]int, error) {
	switch {
	case mask != "" && list != "":
		return nil, errors.New("set a mask or a list, not both")
	case mask != "":
		return ParseCPUMask(mask)
	case list != "":
		return ParseCPUList(list)
	}
	return nil, errors.New("neither a mask nor a list")
}

// ParseCPUMask returns the CPUs of a hexadecimal mask as taskset reads it:
// an optional "0x", hexadecimal digits, optionally in comma-separated groups
// ("ff,ffffffff"); bit 0 is CPU 0. The CPUs are sorted; a mask without CPUs
// is an error.
func ParseCPUMask(mask string) ([]int, error) {
	s := strings.TrimPrefix(strings.TrimPrefix(mask, "0x"), "0X")
	s = strings.ReplaceAll(s, ",", "")
	if s == "" {
		return nil, fmt.Errorf("cpu mask %q: no digits", mask)
	}
	var cpus []int
	for i := len(s) - 1; i >= 0; i-- {
		d, err := strconv.ParseUint(s[i:i+1], 16, 8)
		if err != nil {
			return nil, fmt.Errorf("cpu mask %q: %q is not hexadecimal", mask, s[i])
		}
		base := 4 * (len(s) - 1 - i)
		for bit := range 4 {
			if d&(1<<bit) == 0 {
				continue
			}
			if base+bit >= maxCPU {
				return nil, fmt.Errorf("cpu mask %q: cpu %d above %d", mask, base+bit, maxCPU-1)
			}
			cpus = append(cpus, base+bit)
		}
	}
	if len(cpus) == 0 {
		return nil, fmt.Errorf("cpu mask %q selects no cpu", mask)
	}
	return cpus, nil
}

// ParseCPUList returns the CPUs of a list as taskset -c reads it: comma
// separated CPUs and ranges, a range optionally with a stride ("0-2,5",
// "0-10:2"). The CPUs are sorted and unique.
func ParseCPUList(list string) ([]int, error) {
	var cpus []int
	for item := range strings.SplitSeq(list, ",") {
		item = strings.TrimSpace(item)
		rng, strideStr, hasStride := strings.Cut(item, ":")
		loStr, hiStr, isRange := strings.Cut(rng, "-")
		lo, err := parseCPU(loStr)
		if err != nil {
			return nil, fmt.Errorf("cpu list %q: %w", list, err)
		}
		hi, stride := lo, 1
		if isRange {
			if hi, err = parseCPU(hiStr); err != nil {
				return nil, fmt.Errorf("cpu list %q: %w", list, err)
			}
			if hi < lo {
				return nil, fmt.Errorf("cpu list %q: range %d-%d goes down", list, lo, hi)
			}
		}
		if hasStride {
			if !isRange {
				return nil, fmt.Errorf("cpu list %q: stride without a range in %q", list, item)
			}
			if stride, err = strconv.Atoi(strideStr); err != nil || stride <= 0 {
				return nil, fmt.Errorf("cpu list %q: bad stride %q", list, strideStr)
			}
		}
		for c := lo; c <= hi; c += stride {
			cpus = append(cpus, c)
		}
	}
	slices.Sort(cpus)
	return slices.Compact(cpus), nil
}

func parseCPU(s string) (int, error) {
	c, err := strconv.Atoi(s)
	if err != nil || c < 0 {
		return 0, fmt.Errorf("%q is not a cpu number", s)
	}
	if c >= maxCPU {
		return 0, fmt.Errorf("cpu %d above %d", c, maxCPU-1)
	}
	return c, nil
}

// A running process may be creating a thread while its threads are bound:
// the new thread copies the affinity of its creator before the creator is
// bound, and shows up in /proc/<pid>/task only once created, possibly after
// the last listing. The kernel offers no way to wait for such creations, so
// a binder lists the threads again affinitySettle after binding them, up to
// affinitySettleRounds times, as long as it finds threads with the
// affinity the threads had before; the creations under way take far less
// than affinitySettle, even on a loaded machine. Those threads may in turn
// have created others, which the next listing finds.
const (
	affinitySettle       = 100 * time.Millisecond
	affinitySettleRounds = 10
	maxListings          = 10
)

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
