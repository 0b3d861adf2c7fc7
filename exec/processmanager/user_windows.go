package processmanager

import (
	"errors"
	"fmt"
	"syscall"
)

// credential is who a process runs as; Windows processes run as the agent.
type credential struct{}

func lookupUser(string) (*credential, error) {
	return nil, fmt.Errorf("%w: running a process as another user on windows", errors.ErrUnsupported)
}

func setUser(*syscall.SysProcAttr, *credential) {}
