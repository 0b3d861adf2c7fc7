//go:build linux

package faultsuite

import (
	"context"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

// sleeperConf is a supervisor.conf with one program that runs until it is
// killed, and is not restarted automatically, so that its state changes
// only when a test kills or starts it.
const sleeperConf = `programs:
  - name: "sleeper"
    executable-path: "sleep"
    executable-args: ["1000"]
    restarts: 0
`

// programStatus is the part of a program's entry in GET
// /supervisor/programs (and of the answer to its actions) that the tests
// read.
type programStatus struct {
	Name     string `json:"name"`
	State    string `json:"state"`
	Pid      int    `json:"pid"`
	Restarts int    `json:"restarts"`
}

func programStatuses(ctx context.Context, c *http.Client, a *agent) ([]programStatus, error) {
	var progs []programStatus
	err := requestJSON(ctx, c, http.MethodGet, a.url("/supervisor/programs"), &progs)
	return progs, err
}

// programByName returns the status of the program named name.
func programByName(ctx context.Context, c *http.Client, a *agent, name string) (programStatus, error) {
	progs, err := programStatuses(ctx, c, a)
	if err != nil {
		return programStatus{}, err
	}
	for _, p := range progs {
		if p.Name == name {
			return p, nil
		}
	}
	return programStatus{}, fmt.Errorf("no program %s", name)
}

// programPid returns the pid of a running supervised program.
func programPid(ctx context.Context, c *http.Client, a *agent, name string) (int, error) {
	p, err := programByName(ctx, c, a, name)
	if err != nil {
		return 0, err
	}
	if p.State != "running" || p.Pid == 0 {
		return 0, fmt.Errorf("program %s is %s", name, p.State)
	}
	return p.Pid, nil
}

// startProgram starts a supervised program through the REST API.
func startProgram(ctx context.Context, c *http.Client, a *agent, name string) error {
	var st programStatus
	return requestJSON(ctx, c, http.MethodPost, a.url("/supervisor/programs/"+name+"/start"), &st)
}

// stopProgram stops a supervised program through the REST API, as an
// operator does; the program then stays stopped.
func stopProgram(ctx context.Context, c *http.Client, a *agent, name string) error {
	var st programStatus
	if err := requestJSON(ctx, c, http.MethodPost, a.url("/supervisor/programs/"+name+"/stop"), &st); err != nil {
		return err
	}
	if st.State != "stopped" || st.Pid != 0 {
		return fmt.Errorf("POST /supervisor/programs/%s/stop: program %+v, want it stopped", name, st)
	}
	return nil
}

// alive reports whether pid is a live "sleep" process. A zombie is dead:
// once its parent is gone nobody may reap it soon. The command line tells
// a reused pid apart (a zombie has none).
func alive(t *testing.T, pid int) bool {
	t.Helper()
	stat, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return false
	}
	// The state follows the command name in parentheses, which may hold
	// spaces: look after the last ')'.
	s := string(stat)
	if i := strings.LastIndexByte(s, ')'); i < 0 || len(s) < i+3 || s[i+2] == 'Z' || s[i+2] == 'X' {
		return false
	}
	cmdline, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/cmdline")
	argv0, _, _ := strings.Cut(string(cmdline), "\x00")
	return err == nil && filepath.Base(argv0) == "sleep"
}
