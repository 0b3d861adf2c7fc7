package processmanager

import (
	"errors"
	"fmt"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"time"
)

// errAffinityUnsupported is the error of CPUAffinity outside Linux.
var errAffinityUnsupported = fmt.Errorf("%w: CPU affinity on %s (Linux only)", errors.ErrUnsupported, runtime.GOOS)

// formatCPUList writes sorted, unique CPUs as a list with ranges: "0-3,6".
func formatCPUList(cpus []int) string {
	var b strings.Builder
	for i := 0; i < len(cpus); {
		j := i
		for j+1 < len(cpus) && cpus[j+1] == cpus[j]+1 {
			j++
		}
		if b.Len() > 0 {
			b.WriteByte(',')
		}
		b.WriteString(strconv.Itoa(cpus[i]))
		if j > i {
			b.WriteByte('-')
			b.WriteString(strconv.Itoa(cpus[j]))
		}
		i = j + 1
	}
	return b.String()
}

// cpuWords names a few CPUs in a sentence: "CPU 2", "CPUs 2, 5".
func cpuWords(cpus []int) string {
	s := make([]string, len(cpus))
	for i, c := range cpus {
		s[i] = strconv.Itoa(c)
	}
	if len(cpus) == 1 {
		return "CPU " + s[0]
	}
	return "CPUs " + strings.Join(s, ", ")
}

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
