package status

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"strconv"
	"strings"
)

// File holds /proc/<pid>/status. Fields the kernel did not print keep their
// zero value, except Umask, which is -1 when absent (kernels before 4.7).
type File struct {
	// Name is the command name, as the kernel prints it (at most 15 bytes,
	// with "\n" and "\\" escaped).
	Name  string
	Umask int // file mode creation mask, parsed as octal
	// State is the state; StateLetter is its letter ("S"), StateName the
	// kernel's description ("sleeping", "disk sleep").
	State       State
	StateLetter string
	StateName   string
	Tgid        int
	Pid         int
	PPid        int
	TracerPid   int
	UID         [4]int // real, effective, saved set, file system
	GID         [4]int
	Threads     int
	// VMPeak, VMSize, VMRSS and VMSwap are in bytes.
	VMPeak, VMSize, VMRSS, VMSwap uint64
	CpusAllowedList               string // for example "0-3"
	VoluntaryCtxtSwitches         uint64
	NonvoluntaryCtxtSwitches      uint64
	// Fields holds every line, value trimmed, by label ("Cpus_allowed").
	Fields map[string]string
}

// ReadFile reads and parses /proc/<pid>/status.
func ReadFile(pid int) (*File, error) {
	data, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/status")
	if err != nil {
		return nil, err
	}
	return ParseStatus(data)
}

// ParseStatus parses the content of /proc/<pid>/status. A line without a
// colon, a State, Pid, ids or counters that do not parse are errors; lines
// it does not know are kept in Fields only.
func ParseStatus(data []byte) (*File, error) {
	f := &File{Umask: -1, Fields: make(map[string]string)}
	var errs []error
	for len(data) > 0 {
		var line []byte
		if i := bytes.IndexByte(data, '\n'); i >= 0 {
			line, data = data[:i], data[i+1:]
		} else {
			line, data = data, nil
		}
		if len(line) == 0 {
			continue
		}
		colon := bytes.IndexByte(line, ':')
		if colon <= 0 {
			errs = append(errs, fmt.Errorf("line %q has no label", line))
			continue
		}
		label := string(line[:colon])
		// The kernel separates label and value with a tab; the value itself
		// may contain spaces and colons (Name).
		value := strings.TrimLeft(string(line[colon+1:]), " \t")
		if label != "Name" {
			value = strings.TrimRight(value, " \t")
		}
		f.Fields[label] = value
		if err := f.set(label, value); err != nil {
			errs = append(errs, fmt.Errorf("%s: %w", label, err))
		}
	}
	if f.Pid == 0 && len(errs) == 0 {
		errs = append(errs, errors.New("no Pid line"))
	}
	if len(errs) > 0 {
		return nil, fmt.Errorf("%w: status: %w", ErrMalformed, errors.Join(errs...))
	}
	return f, nil
}

func (f *File) set(label, value string) error {
	var err error
	switch label {
	case "Name":
		f.Name = value
	case "Umask":
		var u uint64
		u, err = strconv.ParseUint(value, 8, 32)
		f.Umask = int(u)
	case "State":
		letter, desc, _ := strings.Cut(value, " ")
		if len(letter) != 1 {
			return fmt.Errorf("bad state %q", value)
		}
		st, ok := FromLetter(letter[0])
		if !ok {
			return fmt.Errorf("unknown state %q", value)
		}
		f.State, f.StateLetter = st, letter
		f.StateName = strings.Trim(desc, "()")
	case "Tgid":
		f.Tgid, err = strconv.Atoi(value)
	case "Pid":
		f.Pid, err = strconv.Atoi(value)
		if err == nil && f.Pid <= 0 {
			err = fmt.Errorf("pid %d", f.Pid)
		}
	case "PPid":
		f.PPid, err = strconv.Atoi(value)
	case "TracerPid":
		f.TracerPid, err = strconv.Atoi(value)
	case "Uid":
		err = parseIDs(value, &f.UID)
	case "Gid":
		err = parseIDs(value, &f.GID)
	case "Threads":
		f.Threads, err = strconv.Atoi(value)
	case "VmPeak":
		f.VMPeak, err = parseKB(value)
	case "VmSize":
		f.VMSize, err = parseKB(value)
	case "VmRSS":
		f.VMRSS, err = parseKB(value)
	case "VmSwap":
		f.VMSwap, err = parseKB(value)
	case "Cpus_allowed_list":
		f.CpusAllowedList = value
	case "voluntary_ctxt_switches":
		f.VoluntaryCtxtSwitches, err = strconv.ParseUint(value, 10, 64)
	case "nonvoluntary_ctxt_switches":
		f.NonvoluntaryCtxtSwitches, err = strconv.ParseUint(value, 10, 64)
	}
	return err
}

func parseIDs(value string, ids *[4]int) error {
	fs := strings.Fields(value)
	if len(fs) != 4 {
		return fmt.Errorf("%d ids, want 4", len(fs))
	}
	for i, s := range fs {
		v, err := strconv.Atoi(s)
		if err != nil {
			return err
		}
		ids[i] = v
	}
	return nil
}

// parseKB parses "1234 kB" into bytes.
func parseKB(value string) (uint64, error) {
	num, unit, _ := strings.Cut(value, " ")
	if unit != "kB" {
		return 0, fmt.Errorf("unit %q, want kB", unit)
	}
	v, err := strconv.ParseUint(num, 10, 64)
	if err != nil {
		return 0, err
	}
	if v > (1<<64-1)/1024 {
		return 0, fmt.Errorf("%s kB overflows", num)
	}
	return v * 1024, nil
}
