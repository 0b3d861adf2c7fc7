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

// setAffinity binds every thread of pid to cpus. Threads created while it
// runs inherit the affinity of their creator, which may not be set yet, so
// it lists the threads again until a pass finds no new one.
func setAffinity(pid int, cpus []int) error {
	var set unix.CPUSet
	for _, c := range cpus {
		set.Set(c)
	}
	done := make(map[int]bool)
	for range 10 {
		tids, err := threads(pid)
		if err != nil {
			return err
		}
		fresh := 0
		for _, tid := range tids {
			if done[tid] {
				continue
			}
			fresh++
			if err := unix.SchedSetaffinity(tid, &set); err != nil {
				if errors.Is(err, unix.ESRCH) {
					continue // the thread exited
				}
				return fmt.Errorf("sched_setaffinity(%d): %w", tid, err)
			}
			done[tid] = true
		}
		if fresh == 0 {
			return nil
		}
	}
	return nil
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
