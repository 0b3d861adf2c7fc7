package processmanager

import (
	"bytes"
	"fmt"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/plinth-go/plinth/exec/processmanager/status"
)

// AttachProcess watches the process pid, started elsewhere: the status
// watcher reports its state, and Stop, Kill, Signal and Wait work on it
// (Stop and Kill signal the process, not its group). The manager cannot
// start it, so Start, Restart and the options Args, Restarts, Writer,
// Detach, EnvVar, Template, WithDir and WithBackoff do not apply; Wait
// cannot know its exit status unless the agent is its parent. Its name is
// set by WithName, else the name of its status file. It fails for a pid that
// does not exist.
func (p *Plugin) AttachProcess(pid int, options ...Option) (*Process, error) {
	o, err := applyOptions(options)
	if err != nil {
		return nil, fmt.Errorf("process-manager: attach %d: %w", pid, err)
	}
	if len(o.startOnly) > 0 {
		return nil, fmt.Errorf("process-manager: attach %d: %w: %s applies only to processes the manager starts",
			pid, ErrInvalidOption, strings.Join(o.startOnly, ", "))
	}
	if pid <= 0 {
		return nil, fmt.Errorf("process-manager: attach %d: not a pid", pid)
	}
	r := &run{pid: pid, done: make(chan struct{})}
	if err := r.openFds(); err != nil {
		return nil, fmt.Errorf("process-manager: attach %d: %w", pid, err)
	}
	buf := make([]byte, statBufSize)
	n, err := r.stat.ReadAt(buf, 0)
	var st *status.Stat
	if n > 0 {
		st, err = status.ParseStat(buf[:n])
	}
	if st == nil {
		r.closeFds()
		return nil, fmt.Errorf("process-manager: attach %d: %w", pid, err)
	}
	r.started = startTime(st.StartTime)
	if o.name == "" {
		o.name = st.Comm
	}
	proc := &Process{m: p, name: o.name, attached: true, opts: o, state: status.Initial}
	if err := p.add(proc); err != nil {
		r.closeFds()
		return nil, err
	}
	proc.mu.Lock()
	defer proc.mu.Unlock()
	proc.run = r
	proc.readStateLocked(r, buf)
	var affinityErr error
	r.cpus, affinityErr = proc.usableCPUs()
	if affinityErr != nil {
		proc.affinityFailedLocked(r, affinityErr)
	}
	proc.scheduleAffinityLocked(r)
	if proc.removed {
		if r.affinity != nil {
			r.affinity.Stop()
		}
		r.closeFds()
		return nil, fmt.Errorf("process-manager: attach %d: %w", pid, ErrClosed)
	}
	proc.startLoopLocked(r)
	return proc, nil
}

// startTime converts the start time of /proc/<pid>/stat, in clock ticks
// after boot, to a time; the kernel's USER_HZ is 100 on every Linux
// architecture Go supports.
func startTime(ticks uint64) time.Time {
	data, err := os.ReadFile("/proc/stat")
	if err != nil {
		return time.Now()
	}
	for line := range bytes.SplitSeq(data, []byte("\n")) {
		if v, ok := bytes.CutPrefix(line, []byte("btime ")); ok {
			btime, err := strconv.ParseInt(string(bytes.TrimSpace(v)), 10, 64)
			if err != nil {
				break
			}
			return time.Unix(btime, 0).Add(time.Duration(ticks) * (time.Second / 100))
		}
	}
	return time.Now()
}
