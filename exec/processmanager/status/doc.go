// Package status reads the state of Linux processes from /proc: the state
// letter of /proc/<pid>/stat and the fields of /proc/<pid>/status.
//
// # States
//
// A State is either a state the kernel reports (running, sleeping, idle,
// disk-sleep, stopped, tracing-stop, zombie, dead …) or one of three states
// the process manager defines:
//
//   - Initial: the process is defined but has not been started.
//   - Terminated: the process is not running, or does not respond.
//   - Unavailable: the process runs but its status cannot be read.
//
// # Parsing
//
// ParseStat and ParseStatus parse the text of the files; they never panic
// and reject malformed input with an error. The command name in
// /proc/<pid>/stat may contain spaces and parentheses, so it is delimited by
// the first "(" and the last ")". Umask is octal, as the kernel prints it.
//
// # Concurrency
//
// The functions are safe for concurrent use.
package status
