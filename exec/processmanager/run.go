package processmanager

import (
	"cmp"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"syscall"
	"time"

	"github.com/plinth-go/plinth/exec/processmanager/status"
	"github.com/plinth-go/plinth/internal/backoff"
)

// outputDrainTimeout bounds how long deleting a process or closing the
// manager waits for output still held by processes that left the group of
// the process (they keep its pipe open).
const outputDrainTimeout = time.Second

// spawnLocked starts a run of the process: it forks on the manager's
// spawner thread, opens a pidfd and the stat file of the child, and reads
// its initial state.
func (p *Process) spawnLocked() (*run, error) {
	if err := p.openOutputsLocked(); err != nil {
		return nil, err
	}
	cmd := exec.Command(p.cmd, p.opts.args...)
	if cmd.Err != nil {
		return nil, cmd.Err
	}
	cmd.Env = p.opts.env
	cmd.Dir = p.opts.dir
	cmd.Stdout, cmd.Stderr = p.outputs.stdout, p.outputs.stderr
	cmd.SysProcAttr = sysProcAttr(p.opts.detach)
	if p.opts.user != nil {
		setUser(cmd.SysProcAttr, p.opts.user)
	}
	use, affinityErr := p.usableCPUs()
	var cpus []int
	if p.opts.affinityDelay == 0 {
		cpus = use
	}
	res := p.m.spawn(cmd, cpus, p.opts.umask)
	if res.err != nil {
		return nil, res.err
	}
	r := &run{pid: cmd.Process.Pid, cmd: cmd, group: true, cpus: use, started: time.Now(), done: make(chan struct{})}
	if err := r.openFds(); err != nil {
		// Nothing can watch the child: do not leave it running.
		_ = r.signal(syscall.SIGKILL, true)
		_ = cmd.Wait()
		reapGroup(r.pid)
		r.closeFds()
		return nil, err
	}
	p.run = r
	p.m.Log.Debugf("%s started, pid %d", p.name, r.pid)
	p.affinityErr = nil
	if err := cmp.Or(affinityErr, res.affinityErr); err != nil {
		p.affinityFailedLocked(r, err)
	}
	p.readStateLocked(r, make([]byte, statBufSize))
	p.scheduleAffinityLocked(r)
	return r, nil
}

// statBufSize holds /proc/<pid>/stat, at most about 700 bytes.
const statBufSize = 1024

// readStateLocked reads the state of r from its stat file and records it.
func (p *Process) readStateLocked(r *run, buf []byte) {
	if r.exited || r.fdsClosed {
		return
	}
	st, ok := r.readState(buf)
	if !ok {
		return // exited; the run loop records it
	}
	p.setStateLocked(st, Notification{})
}

// supervise waits for runs of the process to exit, records how, and
// restarts the process as its restart policy says. It ends when the
// process is not to be restarted.
func (p *Process) supervise(r *run, loop chan struct{}) {
	defer func() {
		p.mu.Lock()
		if p.loop == loop {
			p.loop, p.wake = nil, nil
		}
		p.mu.Unlock()
		close(loop)
	}()
	for {
		if !r.waitExit() {
			p.abandon(r)
			return
		}
		delay, again := p.recordExit(r)
		for {
			if !again || !p.waitRestart(delay) {
				return
			}
			var err error
			if r, err = p.restartRun(); err == nil {
				break
			}
			if errors.Is(err, errNoRestart) {
				return
			}
			delay, again = p.recordFailedRestart(err)
		}
	}
}

var errNoRestart = errors.New("no restart")

// abandon records that the manager stopped watching r while it runs.
func (p *Process) abandon(r *run) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if r.affinity != nil {
		r.affinity.Stop()
	}
	r.abandoned = true
	r.closeFds()
	close(r.done)
}

// recordExit reaps the process of r, kills and reaps the rest of its group
// when it was stopped or AutoTerminate is set, records the exit and decides
// on a restart.
func (p *Process) recordExit(r *run) (delay time.Duration, restart bool) {
	p.mu.Lock()
	r.exited = true
	killGroup := r.group && (r.stopping || p.opts.autoTerminate)
	if killGroup {
		// The leader is an unreaped zombie: the group id is still its own.
		_ = r.signal(syscall.SIGKILL, true)
	}
	if r.affinity != nil {
		r.affinity.Stop()
	}
	p.mu.Unlock()

	es := ExitStatus{Pid: r.pid, Code: -1, Time: time.Now()}
	es.RunTime = es.Time.Sub(r.started)
	if r.cmd != nil {
		r.reap()
		if ws, ok := r.cmd.ProcessState.Sys().(syscall.WaitStatus); ok {
			if ws.Signaled() {
				es.Signal = ws.Signal()
			} else {
				es.Code = ws.ExitStatus()
			}
		}
		if killGroup {
			reapGroup(r.pid)
		}
	}

	p.mu.Lock()
	defer p.mu.Unlock()
	r.exit = es
	r.closeFds()
	close(r.done)
	p.lastExit = &es
	p.m.Log.Debugf("%s (pid %d) exited: %s after %v", p.name, r.pid, es, es.RunTime)
	if es.RunTime >= p.opts.backoff.reset {
		p.delays.Reset()
	}
	delay, restart, reason := p.nextRestartLocked(&es, nil)
	p.setStateLocked(status.Terminated, Notification{Exit: &es, Restarting: restart, RestartIn: delay, Reason: reason})
	return delay, restart
}

// recordFailedRestart records an automatic restart that failed to start
// the process and decides on the next attempt.
func (p *Process) recordFailedRestart(err error) (time.Duration, bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.lastErr = err
	p.m.Log.Warnf("%s: restart failed: %v", p.name, err)
	delay, restart, reason := p.nextRestartLocked(nil, err)
	p.setStateLocked(status.Terminated, Notification{Err: err, Restarting: restart, RestartIn: delay, Reason: reason})
	return delay, restart
}

// nextRestartLocked says whether the process restarts automatically after
// a run ended (exit) or an automatic restart failed (err), after which
// delay (the next of p.delays), and why, as the RestartPolicy says.
func (p *Process) nextRestartLocked(exit *ExitStatus, err error) (time.Duration, bool, string) {
	if !p.autoRestart || p.removed || p.m.closing.Load() {
		p.autoRestart = false
		return 0, false, ""
	}
	// Taking the delay advances the schedule even when no restart follows:
	// restarts are then off, and only Start turns them on again, with a
	// schedule that starts over.
	delay := p.delays.Next()
	limit := p.opts.restarts
	restart, reason := limit < 0 || p.restarts < int(limit), ""
	if f := p.opts.restartPolicy; f != nil {
		d := f(RunEnd{Exit: exit, Err: err, Restarts: p.restarts, Restart: restart, Delay: delay})
		restart, delay, reason = d.Restart, max(d.Delay, 0), d.Reason
	}
	if !restart {
		p.autoRestart = false
		return 0, false, reason
	}
	return delay, true, reason
}

// waitRestart waits d and reports whether the restart is still wanted:
// Stop, Kill or Delete end the wait through p.wake.
func (p *Process) waitRestart(d time.Duration) bool {
	p.mu.Lock()
	wake := p.wake
	p.mu.Unlock()
	return d <= 0 || backoff.Sleep(wake, d)
}

// restartRun starts the process again unless restarts were turned off
// meanwhile.
func (p *Process) restartRun() (*run, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if !p.autoRestart || p.removed || p.m.closing.Load() {
		p.autoRestart = false
		return nil, errNoRestart
	}
	p.restarts++
	p.m.Log.Infof("%s: automatic restart %d", p.name, p.restarts)
	return p.spawnLocked()
}

// scheduleAffinityLocked binds the threads of r, after the configured
// delay if any. A child started without a delay is bound already (see
// Plugin.startBound); an attached process is bound at once.
func (p *Process) scheduleAffinityLocked(r *run) {
	if r.cpus == nil || (p.opts.affinityDelay == 0 && r.cmd != nil) {
		return
	}
	b := newBinder(r.pid, r.cpus)
	delay := p.opts.affinityDelay
	round := 0
	if delay == 0 {
		if !p.bindLocked(r, b, round) {
			return
		}
		delay, round = affinitySettle, 1
	}
	r.affinity = time.AfterFunc(delay, func() {
		p.m.runTracked(func() { p.bindRun(r, b, round) })
	})
}

// bindRun binds the threads of r from the given round on: round 0 binds
// them all, and the later ones, affinitySettle apart, bind the threads
// created with the affinity they had before, whose creation was under way
// when their creator was bound. It ends when a later round finds none,
// after affinitySettleRounds of them, or when r exits.
func (p *Process) bindRun(r *run, b *binder, round int) {
	for ; ; round++ {
		p.mu.Lock()
		more := p.bindLocked(r, b, round)
		p.mu.Unlock()
		if !more {
			return
		}
		t := time.NewTimer(affinitySettle)
		select {
		case <-t.C:
		case <-r.done:
			t.Stop()
			return
		}
	}
}

// bindLocked runs one round of the binding of r and reports whether
// another is due. Holding the lock while r has not exited guarantees that
// its pid is not reused meanwhile.
func (p *Process) bindLocked(r *run, b *binder, round int) bool {
	if r.exited || r.abandoned || r.fdsClosed {
		return false
	}
	n, err := b.bind(round > 0)
	switch {
	case err != nil:
		p.affinityFailedLocked(r, err)
		return false
	case round == 0:
		p.m.Log.Debugf("%s (pid %d): bound to cpus %v", p.name, r.pid, r.cpus)
	case n > 0:
		p.m.Log.Debugf("%s (pid %d): bound %d threads created during the binding", p.name, r.pid, n)
	}
	return (round == 0 || n > 0) && round < affinitySettleRounds
}

// usableCPUs returns the CPUs of the CPUAffinity option that the agent may
// run on, nil when none or without the option, and an error naming the
// others.
func (p *Process) usableCPUs() ([]int, error) {
	if p.opts.affinity == nil {
		return nil, nil
	}
	return checkCPUs(p.opts.affinity)
}

// affinityFailedLocked records that r could not be bound as asked: in
// Info.AffinityError until the next run, and in Info.LastError.
func (p *Process) affinityFailedLocked(r *run, err error) {
	p.affinityErr = err
	p.lastErr = fmt.Errorf("cpu affinity: %w", err)
	p.m.Log.Warnf("%s (pid %d): cpu affinity: %v", p.name, r.pid, err)
}

// outputs holds the pipes between runs of a process and writers that are
// not files. The write ends stay open across restarts, so one copying
// goroutine per pipe serves every run.
type outputs struct {
	stdout, stderr *os.File // what the child gets
	pipes          []*pipe
}

type pipe struct {
	r, w   *os.File
	stream string        // "stdout", "stderr" or "stdout and stderr", for the log
	done   chan struct{} // closed when copying ends
}

func (p *Process) openOutputsLocked() error {
	if p.outputs != nil {
		return nil
	}
	o := &outputs{}
	var shared *pipe // the pipe of stdout, when stderr goes to the same writer
	for i, w := range []io.Writer{p.opts.stdout, p.opts.stderr} {
		var f *os.File
		switch w := w.(type) {
		case nil:
		case *os.File:
			f = w
		default:
			if i == 1 && shared != nil && sameWriter(p.opts.stdout, w) {
				f = shared.w
				break
			}
			pr, pw, err := os.Pipe()
			if err != nil {
				o.close()
				return err
			}
			stream := [2]string{"stdout", "stderr"}[i]
			if i == 0 && sameWriter(w, p.opts.stderr) {
				stream = "stdout and stderr"
			}
			pp := &pipe{r: pr, w: pw, stream: stream, done: make(chan struct{})}
			o.pipes = append(o.pipes, pp)
			if !p.m.goTracked(func() { p.copyOutput(w, pp) }) {
				close(pp.done)
			}
			f, shared = pw, pp
		}
		if i == 0 {
			o.stdout = f
		} else {
			o.stderr = f
		}
	}
	p.outputs = o
	return nil
}

// outputBufSize is the size of one read from an output pipe, and so of
// one write to the writer: the pipe holds 64 KiB by default, so two reads
// empty a full one.
const outputBufSize = 32 << 10

// copyOutput feeds w from the pipe until the pipe is closed (see
// outputs.close). It reads whatever w does: a child blocks in write() once
// the pipe is full, and the pipe serves every later run too, so a reader
// that stopped at the first failed write would hang the process and all
// its restarts. What w refuses (an error, or a short write) is dropped and
// counted in Info.OutputBytesDropped, and the next read is offered to w
// again, so output flows again once w recovers. A writer that blocks still
// holds the process back: that is backpressure, not a failure.
func (p *Process) copyOutput(w io.Writer, pp *pipe) {
	defer close(pp.done)
	buf := make([]byte, outputBufSize)
	var tr writerTrouble
	for {
		n, err := pp.r.Read(buf)
		if n > 0 {
			p.writeOutput(w, buf[:n], pp.stream, &tr)
		}
		if err != nil {
			// EOF once every write end is closed, or the drain deadline
			// of outputs.close passed.
			if tr.failing {
				p.m.Log.Warnf("%s: %s writer: %d bytes dropped while it failed, until the output was closed",
					p.name, pp.stream, tr.dropped)
			}
			return
		}
	}
}

// writeOutput writes b to w, and counts and logs what w refuses.
func (p *Process) writeOutput(w io.Writer, b []byte, stream string, tr *writerTrouble) {
	n, err := w.Write(b)
	if err == nil && n < len(b) {
		err = io.ErrShortWrite
	}
	if err == nil {
		if tr.failing {
			p.m.Log.Infof("%s: %s writer accepts output again; %d bytes dropped while it failed",
				p.name, stream, tr.dropped)
			*tr = writerTrouble{}
		}
		return
	}
	n = min(max(n, 0), len(b)) // a writer that breaks the io.Writer contract
	dropped := uint64(len(b) - n)
	p.outputDropped.Add(dropped)
	now := time.Now()
	if !tr.failing {
		*tr = writerTrouble{failing: true, nextLog: now, every: backoff.Backoff{Min: time.Second, Max: time.Minute}}
	}
	tr.dropped += dropped
	if !now.Before(tr.nextLog) {
		p.m.Log.Warnf("%s: %s writer: %v: dropping what it refuses (%d bytes so far) and offering it the output that follows",
			p.name, stream, err, tr.dropped)
		tr.nextLog = now.Add(tr.every.Next())
	}
}

// writerTrouble is a run of failed writes to an output writer: the first
// failure is logged, then one every doubling interval up to a minute, not
// one per read of the pipe; the end of the run is logged with what it
// dropped.
type writerTrouble struct {
	failing bool
	dropped uint64 // bytes dropped during the run
	nextLog time.Time
	every   backoff.Backoff // the intervals between two warnings
}

// close closes the write ends, lets the copying goroutines read what is
// left for up to outputDrainTimeout, and closes the read ends.
func (o *outputs) close() {
	for _, pp := range o.pipes {
		pp.w.Close()
	}
	deadline := time.Now().Add(outputDrainTimeout)
	for _, pp := range o.pipes {
		_ = pp.r.SetReadDeadline(deadline)
		<-pp.done
		pp.r.Close()
	}
}

// sameWriter reports whether a and b are the same writer, as os/exec does
// to share one pipe; writers that are not comparable are different.
func sameWriter(a, b io.Writer) (same bool) {
	defer func() {
		if recover() != nil {
			same = false
		}
	}()
	return a == b
}
