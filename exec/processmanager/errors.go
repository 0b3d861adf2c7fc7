package processmanager

import (
	"errors"
	"fmt"
)

// Errors of the process manager. Compare with errors.Is.
var (
	// ErrNotFound is returned by Delete and GetTemplate for a name the
	// manager does not know.
	ErrNotFound = errors.New("not found")
	// ErrDuplicateName is returned when a process is created with the name
	// of an existing one; choose another with WithName.
	ErrDuplicateName = errors.New("duplicate process name")
	// ErrRunning is returned by Start for a process that runs.
	ErrRunning = errors.New("process is running")
	// ErrNotStarted is returned by Wait and StopAndWait for a process that
	// was never started.
	ErrNotStarted = errors.New("process was never started")
	// ErrNotRunning is returned by Signal and UpdateStatus for a process
	// that does not run.
	ErrNotRunning = errors.New("process is not running")
	// ErrAttached is returned by Start and Restart for an attached process:
	// the manager did not start it and does not know its command.
	ErrAttached = errors.New("process is attached: the manager cannot start it")
	// ErrManaged is returned by the REST control endpoints for a process
	// started with ManagedBy: its owner must be asked instead.
	ErrManaged = errors.New("process is managed by another plugin")
	// ErrNoTemplatePath is returned by the template functions and by the
	// Template option when the config sets no template-path.
	ErrNoTemplatePath = errors.New("no template-path configured")
	// ErrClosed is returned by every function once Close has begun (by
	// NewProcess, AttachProcess, Start and Delete among others, also when
	// they race with Close) or the process was deleted.
	ErrClosed = errors.New("process manager closed")
	// ErrInvalidOption is wrapped by the errors of options with a bad
	// value and of options that do not apply (Args to an attached process).
	ErrInvalidOption = errors.New("invalid process option")
)

// TemplateError is returned for a template file that cannot be read or is
// invalid. It names the file, so that an operator can fix it.
type TemplateError struct {
	File string // path of the template file
	Err  error  // the cause
}

func (e *TemplateError) Error() string {
	return fmt.Sprintf("process-manager: template %s: %v", e.File, e.Err)
}

func (e *TemplateError) Unwrap() error { return e.Err }
