package status

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"strconv"
)

// Stat holds the fields of /proc/<pid>/stat the process manager uses. Times
// are in clock ticks (usually 100 per second).
type Stat struct {
	Pid        int
	Comm       string // the command name, without parentheses
	State      State
	PPid       int
	Pgrp       int
	Session    int
	UTime      uint64 // user time
	STime      uint64 // system time
	NumThreads int
	// StartTime is when the process started, in ticks after boot. With the
	// pid it identifies a process: a reused pid has another StartTime.
	StartTime uint64
	VSize     uint64 // virtual memory in bytes
	RSS       int64  // resident pages
	Processor int    // CPU the process last ran on; -1 if not reported
}

// ErrMalformed is wrapped by the parse errors of this package.
var ErrMalformed = errors.New("malformed proc file")

// ReadStat reads and parses /proc/<pid>/stat.
func ReadStat(pid int) (*Stat, error) {
	data, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return nil, err
	}
	return ParseStat(data)
}

// ParseStat parses the content of /proc/<pid>/stat.
func ParseStat(data []byte) (*Stat, error) {
	open := bytes.IndexByte(data, '(')
	end := bytes.LastIndexByte(data, ')')
	if open < 0 || end < open {
		return nil, fmt.Errorf("%w: stat: no command in parentheses", ErrMalformed)
	}
	if end+1 >= len(data) || data[end+1] != ' ' {
		return nil, fmt.Errorf("%w: stat: no space after the command", ErrMalformed)
	}
	s := &Stat{Comm: string(data[open+1 : end]), Processor: -1}
	pid, err := strconv.Atoi(string(bytes.TrimSpace(data[:open])))
	if err != nil {
		return nil, fmt.Errorf("%w: stat: pid: %v", ErrMalformed, err)
	}
	s.Pid = pid
	// Fields after the command, numbered as in proc(5) from 3 (state).
	fields := bytes.Fields(data[end+1:])
	if len(fields) < 22 {
		return nil, fmt.Errorf("%w: stat: %d fields after the command, want at least 22", ErrMalformed, len(fields))
	}
	if len(fields[0]) != 1 {
		return nil, fmt.Errorf("%w: stat: state %q", ErrMalformed, fields[0])
	}
	st, ok := FromLetter(fields[0][0])
	if !ok {
		return nil, fmt.Errorf("%w: stat: unknown state %q", ErrMalformed, fields[0])
	}
	s.State = st
	field := func(n int) []byte { return fields[n-3] }
	var errs []error
	toInt := func(n int, name string) int {
		v, err := strconv.Atoi(string(field(n)))
		if err != nil {
			errs = append(errs, fmt.Errorf("%s: %v", name, err))
		}
		return v
	}
	toUint := func(n int, name string) uint64 {
		v, err := strconv.ParseUint(string(field(n)), 10, 64)
		if err != nil {
			errs = append(errs, fmt.Errorf("%s: %v", name, err))
		}
		return v
	}
	s.PPid = toInt(4, "ppid")
	s.Pgrp = toInt(5, "pgrp")
	s.Session = toInt(6, "session")
	s.UTime = toUint(14, "utime")
	s.STime = toUint(15, "stime")
	s.NumThreads = toInt(20, "num_threads")
	s.StartTime = toUint(22, "starttime")
	s.VSize = toUint(23, "vsize")
	rss, err := strconv.ParseInt(string(field(24)), 10, 64)
	if err != nil {
		errs = append(errs, fmt.Errorf("rss: %v", err))
	}
	s.RSS = rss
	if len(fields) >= 39-2 {
		s.Processor = toInt(39, "processor")
	}
	if len(errs) > 0 {
		return nil, fmt.Errorf("%w: stat: %w", ErrMalformed, errors.Join(errs...))
	}
	return s, nil
}

// ParseStatLetter returns the state of the content of /proc/<pid>/stat
// without parsing the other fields; the status watcher calls it on every
// poll.
func ParseStatLetter(data []byte) (State, error) {
	end := bytes.LastIndexByte(data, ')')
	if end < 0 || end+2 >= len(data) || data[end+1] != ' ' {
		return "", fmt.Errorf("%w: stat: no state after the command", ErrMalformed)
	}
	st, ok := FromLetter(data[end+2])
	if !ok || (end+3 < len(data) && data[end+3] != ' ' && data[end+3] != '\n') {
		return "", fmt.Errorf("%w: stat: bad state %q", ErrMalformed, data[end+2])
	}
	return st, nil
}
