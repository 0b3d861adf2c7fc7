package faultsuite

import (
	"context"
	"encoding/json"
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

// programPid returns the pid of a running supervised program, from GET
// /supervisor/programs.
func programPid(ctx context.Context, c *http.Client, a *agent, name string) (int, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, a.url("/supervisor/programs"), nil)
	if err != nil {
		return 0, err
	}
	resp, err := c.Do(req)
	if err != nil {
		return 0, err
	}
	defer resp.Body.Close()
	var progs []struct {
		Name  string `json:"name"`
		State string `json:"state"`
		Pid   int    `json:"pid"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&progs); err != nil {
		return 0, fmt.Errorf("GET /supervisor/programs: %w", err)
	}
	for _, p := range progs {
		if p.Name == name {
			if p.State != "running" || p.Pid == 0 {
				return 0, fmt.Errorf("program %s is %s", name, p.State)
			}
			return p.Pid, nil
		}
	}
	return 0, fmt.Errorf("no program %s", name)
}

// startProgram starts a supervised program through the REST API.
func startProgram(ctx context.Context, c *http.Client, a *agent, name string) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, a.url("/supervisor/programs/"+name+"/start"), nil)
	if err != nil {
		return err
	}
	resp, err := c.Do(req)
	if err != nil {
		return err
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("POST /supervisor/programs/%s/start: %s", name, resp.Status)
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
