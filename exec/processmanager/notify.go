package processmanager

import (
	"fmt"
	"sync"
	"syscall"
	"time"

	"github.com/plinth-go/plinth/exec/processmanager/status"
)

// Notification reports a change of the state of a process. Notifications of
// one process arrive in order; there is no order between processes.
type Notification struct {
	// Name is the name of the process in the manager.
	Name string
	// Pid is the pid of the run the state belongs to; 0 before the first
	// start.
	Pid int
	// State is the new state and Previous the state before.
	State    status.State
	Previous status.State
	// Exit is the exit status of the run that ended, when State is
	// Terminated.
	Exit *ExitStatus
	// Restarting reports, when State is Terminated, that an automatic
	// restart is scheduled in RestartIn.
	Restarting bool
	RestartIn  time.Duration
	// Restarts counts the automatic restarts since the last Start.
	Restarts int
	// Err is the error of a failed automatic restart, with State Terminated.
	Err error
	// Reason is the Reason of the RestartDecision of a WithRestartPolicy
	// policy, with State Terminated; empty without a policy.
	Reason string
	// Time is when the change was observed.
	Time time.Time
}

// notifyQueueSize bounds the notifications waiting for a slow reader: enough
// for a burst of restarts (terminated, running, sleeping per restart) while
// keeping what a stuck reader costs small.
const notifyQueueSize = 16

// notifier forwards notifications to a channel without ever blocking the
// sender: a goroutine does the blocking sends from a bounded queue.
type notifier struct {
	ch   chan Notification
	own  bool          // close ch when done
	wake chan struct{} // cap 1: the queue has grown
	done chan struct{} // closed to stop the forwarder

	mu      sync.Mutex // guards queue and dropped
	queue   []Notification
	dropped uint64
}

func newNotifier(ch chan Notification, own bool) *notifier {
	return &notifier{ch: ch, own: own, wake: make(chan struct{}, 1), done: make(chan struct{})}
}

// push queues n, dropping the oldest notification when the queue is full.
func (n *notifier) push(msg Notification) {
	n.mu.Lock()
	if len(n.queue) == notifyQueueSize {
		copy(n.queue, n.queue[1:])
		n.queue = n.queue[:len(n.queue)-1]
		n.dropped++
	}
	n.queue = append(n.queue, msg)
	n.mu.Unlock()
	select {
	case n.wake <- struct{}{}:
	default:
	}
}

func (n *notifier) droppedCount() uint64 {
	n.mu.Lock()
	defer n.mu.Unlock()
	return n.dropped
}

// forward runs until done is closed; queued notifications not yet
// delivered then are dropped (the reader is going away with the process).
func (n *notifier) forward() {
	if n.own {
		defer close(n.ch)
	}
	for {
		n.mu.Lock()
		var msg Notification
		ok := len(n.queue) > 0
		if ok {
			msg = n.queue[0]
			n.queue = n.queue[1:]
		}
		n.mu.Unlock()
		if !ok {
			select {
			case <-n.wake:
				continue
			case <-n.done:
				return
			}
		}
		select {
		case n.ch <- msg:
		case <-n.done:
			return
		}
	}
}

// ExitStatus describes how a run of a process ended.
type ExitStatus struct {
	// Pid is the pid of the run.
	Pid int `json:"pid"`
	// Code is the exit code, or -1 when the process was killed by a signal
	// or its status is unknown (attached processes).
	Code int `json:"code"`
	// Signal is the signal that killed the process, or 0.
	Signal syscall.Signal `json:"signal,omitempty"`
	// Time is when the exit was observed and RunTime how long the run
	// lasted.
	Time    time.Time     `json:"time"`
	RunTime time.Duration `json:"run_time_ns"`
}

// Known reports whether the exit code or signal is known: it is not for
// attached processes, which are not children of the agent.
func (e ExitStatus) Known() bool { return e.Code >= 0 || e.Signal != 0 }

// Success reports whether the process exited with code 0.
func (e ExitStatus) Success() bool { return e.Code == 0 }

// String returns "exit status 3", "signal: killed" or "exit status unknown".
func (e ExitStatus) String() string {
	switch {
	case e.Signal != 0:
		return "signal: " + e.Signal.String()
	case e.Code >= 0:
		return fmt.Sprintf("exit status %d", e.Code)
	}
	return "exit status unknown"
}
