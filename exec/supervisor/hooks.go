package supervisor

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"strings"
	"time"
)

// hookWaitDelay bounds how long a hook's output is awaited after the hook
// exits or is killed, when processes it left behind hold its pipe.
const hookWaitDelay = time.Second

// maxHookOutput bounds the output of a hook kept for the log.
const maxHookOutput = 4 << 10

// hookRun is a hook of the conf, ready to run.
type hookRun struct {
	Hook
	path    string
	timeout time.Duration
}

func (h hookRun) matches(ev Event) bool {
	return h.EventType == "" || h.EventType == ev.Type
}

// resolveHooks prepares the hooks of conf.
func resolveHooks(conf *Config) ([]hookRun, error) {
	var hooks []hookRun
	for _, h := range conf.Hooks {
		path, err := exec.LookPath(h.Cmd)
		if err != nil {
			return nil, fmt.Errorf("supervisor: hook %s: %w", h.Cmd, lookPathError(h.Cmd, err))
		}
		hooks = append(hooks, hookRun{Hook: h, path: path, timeout: cmp.Or(h.Timeout, DefaultHookTimeout)})
	}
	return hooks, nil
}

// hooksFor returns the hooks of hooks that apply to the program named name.
func hooksFor(hooks []hookRun, name string) []hookRun {
	var out []hookRun
	for _, h := range hooks {
		if h.ProgramName == "" || h.ProgramName == name {
			out = append(out, h)
		}
	}
	return out
}

// hookEnvAllowed names the agent's environment variables that a hook
// inherits: what a shell script needs to run. Everything else of the
// agent's environment (its config variables such as SUPERVISOR_CONFIG,
// credentials, tokens) stays out, so that a hook sees only the documented
// SUPERVISOR_* variables of its event besides these.
var hookEnvAllowed = [...]string{
	"PATH", "HOME", "USER", "LOGNAME", "SHELL", "TMPDIR", "TZ",
	"LANG", "LC_ALL", "LC_CTYPE", "LC_MESSAGES",
}

// hookEnv is the environment of a hook run for ev.
func hookEnv(ev Event) []string {
	env := make([]string, 0, len(hookEnvAllowed)+10)
	for _, k := range hookEnvAllowed {
		if v, ok := os.LookupEnv(k); ok {
			env = append(env, k+"="+v)
		}
	}
	return append(env, ev.Env()...)
}

// runHook runs h for ev and waits for it, at most its timeout. The hook
// runs in a process group of its own, killed when the hook ends, so that
// nothing it started outlives it.
func (p *Plugin) runHook(h hookRun, ev Event) {
	ctx, cancel := context.WithTimeout(p.ctx, h.timeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, h.path, h.CmdArgs...)
	cmd.Env = hookEnv(ev)
	out := &cappedBuffer{}
	cmd.Stdout, cmd.Stderr = out, out
	cmd.SysProcAttr = ownGroup()
	cmd.Cancel = func() error { return killGroup(cmd.Process) }
	cmd.WaitDelay = hookWaitDelay
	err := cmd.Start()
	if err != nil {
		p.Log.Warnf("hook %s for %s %s: %v", h.Cmd, ev.Program, ev.Type, err)
		return
	}
	err = cmd.Wait()
	// The group outlives its leader while members remain, and its id is
	// not reused meanwhile, so this reaches only what the hook left.
	_ = killGroup(cmd.Process)
	output := strings.TrimSpace(out.String())
	switch {
	case err == nil:
		if output != "" {
			p.Log.Debugf("hook %s for %s %s: %s", h.Cmd, ev.Program, ev.Type, output)
		}
	case errors.Is(ctx.Err(), context.DeadlineExceeded):
		p.Log.Warnf("hook %s for %s %s: killed after its timeout of %v: %s", h.Cmd, ev.Program, ev.Type, h.timeout, output)
	case p.ctx.Err() != nil:
		p.Log.Warnf("hook %s for %s %s: killed as the agent stops", h.Cmd, ev.Program, ev.Type)
	default:
		p.Log.Warnf("hook %s for %s %s failed: %v: %s", h.Cmd, ev.Program, ev.Type, err, output)
	}
}

// cappedBuffer keeps the first maxHookOutput bytes written to it. One
// goroutine writes to it: os/exec shares one pipe between stdout and stderr
// when they are the same writer.
type cappedBuffer struct {
	b         []byte
	truncated bool
}

func (c *cappedBuffer) Write(p []byte) (int, error) {
	room := maxHookOutput - len(c.b)
	if len(p) > room {
		c.truncated = true
	}
	c.b = append(c.b, p[:min(max(room, 0), len(p))]...)
	return len(p), nil
}

func (c *cappedBuffer) String() string {
	if c.truncated {
		return string(c.b) + "…"
	}
	return string(c.b)
}
