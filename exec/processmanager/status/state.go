package status

// State is the state of a process. The zero value is Initial.
type State string

// The states the kernel reports (see proc(5)).
const (
	Running     State = "running"      // R
	Sleeping    State = "sleeping"     // S: interruptible sleep
	DiskSleep   State = "disk-sleep"   // D: uninterruptible sleep
	Stopped     State = "stopped"      // T: stopped by a signal
	TracingStop State = "tracing-stop" // t: stopped by a debugger
	Zombie      State = "zombie"       // Z: exited, not yet reaped
	Dead        State = "dead"         // X, x
	Idle        State = "idle"         // I: idle kernel thread
	Parked      State = "parked"       // P
	Waking      State = "waking"       // W (or paging before 2.6)
	WakeKill    State = "wakekill"     // K
)

// The states the process manager defines.
const (
	// Initial applies only to a process that was defined but never started.
	Initial State = "initial"
	// Terminated applies to a process that is not running or does not
	// respond.
	Terminated State = "terminated"
	// Unavailable applies to a process that runs but whose status cannot be
	// read.
	Unavailable State = "unavailable"
)

// String returns the state name; the zero State prints as "initial".
func (s State) String() string {
	if s == "" {
		return string(Initial)
	}
	return string(s)
}

// Alive reports whether s is the state of a process that runs: neither
// Initial, Terminated, Zombie nor Dead. Stopped and Unavailable count as
// alive.
func (s State) Alive() bool {
	switch s {
	case "", Initial, Terminated, Zombie, Dead:
		return false
	}
	return true
}

// FromLetter returns the state of a state letter of /proc/<pid>/stat, and
// false for an unknown letter.
func FromLetter(c byte) (State, bool) {
	switch c {
	case 'R':
		return Running, true
	case 'S':
		return Sleeping, true
	case 'D':
		return DiskSleep, true
	case 'T':
		return Stopped, true
	case 't':
		return TracingStop, true
	case 'Z':
		return Zombie, true
	case 'X', 'x':
		return Dead, true
	case 'I':
		return Idle, true
	case 'P':
		return Parked, true
	case 'W':
		return Waking, true
	case 'K':
		return WakeKill, true
	}
	return "", false
}
