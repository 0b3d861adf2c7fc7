package processmanager

import (
	"time"

	"github.com/plinth-go/plinth/exec/processmanager/status"
)

// POption is the cn-infra name of [Option].
type POption = Option

// GetAllProcesses is the cn-infra name of [Plugin.List].
func (p *Plugin) GetAllProcesses() []*Process { return p.List() }

// GetUptime is the cn-infra name of [Process.GetUpTime].
func (p *Process) GetUptime() time.Duration { return p.GetUpTime() }

// GetStatus is the cn-infra name of [status.ReadFile]: it reads the status
// file of pid, any process's. [Process.UpdateStatus] reads the process's
// own and records its state.
func (p *Process) GetStatus(pid int) (*status.File, error) { return status.ReadFile(pid) }

// GetInstanceName is the cn-infra name of the Name of [Process.UpdateStatus]:
// the name of the process in its status file, or "" when the process does
// not run or the file cannot be read.
func (p *Process) GetInstanceName() string {
	f, err := p.UpdateStatus()
	if err != nil {
		return ""
	}
	return f.Name
}
