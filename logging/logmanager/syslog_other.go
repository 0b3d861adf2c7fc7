//go:build windows || plan9

package logmanager

import (
	"errors"

	"github.com/plinth-go/plinth/logging"
)

var errNoSyslog = errors.New("syslog is not available on this system")

func checkSyslog(HookConfig) error { return errNoSyslog }

func newSyslogHook(HookConfig) (logging.Hook, error) { return nil, errNoSyslog }
