//go:build unix

package supervisor_test

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/plinth-go/plinth/exec/supervisor"
	"github.com/plinth-go/plinth/infra/config"
)

func TestParseConfigReadsEveryKey(t *testing.T) {
	dir := t.TempDir()
	conf := fmt.Sprintf(`
hooks-shutdown-timeout: 2s
programs:
  - name: vpp
    executable-path: sh
    executable-args: ["-c", "sleep 1000"]
    logfile-path: /tmp/vpp.log
    restarts: 4
    cpu-affinity-mask: 4
    cpu-affinity-setup-delay: 1000000000
    priority: -1
    working-dir: %[1]s
    env: {A: "1", B: two}
    stop-signal: INT
    stop-timeout: 3s
    restart-delay: 0s
    restart-delay-max: 1m
  - executable-path: /bin/true
    cpu-affinity-list: "0,2-3"
    cpu-affinity-setup-delay: 250ms
hooks:
  - program-name: vpp
    event-type: terminated
    cmd: /bin/true
    cmd-args: [a, b]
    timeout: 30s
  - cmd: true
`, dir)
	c, err := supervisor.ParseConfig("supervisor.conf", []byte(conf))
	if err != nil {
		t.Fatal(err)
	}
	zero := time.Duration(0)
	want := &supervisor.Config{
		HooksShutdownTimeout: 2 * time.Second,
		Programs: []supervisor.Program{{
			Name:                  "vpp",
			ExecutablePath:        "sh",
			ExecutableArgs:        []string{"-c", "sleep 1000"},
			LogfilePath:           "/tmp/vpp.log",
			Restarts:              4,
			CPUAffinityMask:       "4",
			CPUAffinitySetupDelay: supervisor.Delay(time.Second),
			Priority:              -1,
			WorkingDir:            dir,
			Env:                   map[string]string{"A": "1", "B": "two"},
			StopSignal:            "INT",
			StopTimeout:           3 * time.Second,
			RestartDelay:          &zero,
			RestartDelayMax:       time.Minute,
		}, {
			// The name comes from the executable.
			Name:                  "true",
			ExecutablePath:        "/bin/true",
			CPUAffinityList:       "0,2-3",
			CPUAffinitySetupDelay: supervisor.Delay(250 * time.Millisecond),
		}},
		Hooks: []supervisor.Hook{
			{ProgramName: "vpp", EventType: supervisor.EventTypeTerminated, Cmd: "/bin/true", CmdArgs: []string{"a", "b"}, Timeout: 30 * time.Second},
			{Cmd: "true"},
		},
	}
	if !reflect.DeepEqual(c.Programs, want.Programs) || !reflect.DeepEqual(c.Hooks, want.Hooks) || c.HooksShutdownTimeout != want.HooksShutdownTimeout {
		t.Errorf("ParseConfig =\n%+v\nwant\n%+v", *c, *want)
	}
	if w := c.Warnings(); len(w) != 0 {
		t.Errorf("Warnings() = %v, want none", w)
	}
}

func TestParseConfigAcceptsTheSeedExample(t *testing.T) {
	// The example of the original documentation, with harmless programs:
	// an unquoted mask and a delay in nanoseconds.
	conf := `
programs:
  - name: "vpp"
    executable-path: "/bin/sleep"
    executable-args: ["1000"]
    logfile-path: "/tmp/supervisor.log"
    restarts: 4
    cpu-affinity-mask: 4
    cpu-affinity-setup-delay: 1000000000
  - name: "agent"
    executable-path: "/bin/sleep"
    executable-args: ["1000"]
    logfile-path: "/tmp/supervisor.log"
hooks:
  - program-name: "vpp"
    event-type: "terminated"
    cmd: "/bin/true"
`
	c, err := supervisor.ParseConfig("supervisor.conf", []byte(conf))
	if err != nil {
		t.Fatal(err)
	}
	if p := c.Programs[0]; p.CPUAffinityMask != "4" || time.Duration(p.CPUAffinitySetupDelay) != time.Second {
		t.Errorf("vpp: mask %q delay %v, want \"4\" and 1s", p.CPUAffinityMask, time.Duration(p.CPUAffinitySetupDelay))
	}
}

func TestParseConfigDefaults(t *testing.T) {
	c, err := supervisor.ParseConfig("supervisor.conf", []byte("programs:\n  - executable-path: /bin/sleep.sh.orig\n"))
	if err == nil {
		t.Fatalf("a missing executable loaded: %+v", c)
	}
	c, err = supervisor.ParseConfig("supervisor.conf", []byte("programs:\n  - executable-path: sleep\n"))
	if err != nil {
		t.Fatal(err)
	}
	want := supervisor.Program{Name: "sleep", ExecutablePath: "sleep"}
	if !reflect.DeepEqual(c.Programs[0], want) {
		t.Errorf("program = %+v, want %+v: every other field zero, its default applied at start", c.Programs[0], want)
	}
	empty, err := supervisor.ParseConfig("supervisor.conf", []byte("# nothing\n"))
	if err != nil || len(empty.Programs) != 0 || len(empty.Hooks) != 0 {
		t.Errorf("ParseConfig(comment only) = %+v, %v, want an empty conf", empty, err)
	}
}

func TestParseConfigErrorsNameFileLineAndKey(t *testing.T) {
	// user is refused for an agent that does not run as root, and must
	// exist for one that does.
	userError := `supervisor.conf:4: key "programs[0].user": program "vpp": no user "no-such-user-here" on this machine`
	if euid := os.Geteuid(); euid != 0 {
		userError = fmt.Sprintf(`supervisor.conf:4: key "programs[0].user": program "vpp": running it as user "no-such-user-here" needs an agent that runs as root (it runs as uid %d)`, euid)
	}
	tests := []struct {
		name string
		conf string
		want string // the whole message of the first error
	}{
		{"unknown key", "programs:\n  - executable-path: sleep\n    restart: 3\n",
			`supervisor.conf:3: unknown key "programs[0].restart" in supervisor config`},
		{"missing executable", "programs:\n  - name: a\n    executable-path: /nonexistent/vpp\n",
			`supervisor.conf:3: key "programs[0].executable-path": executable "/nonexistent/vpp" does not exist`},
		{"executable not in PATH", "programs:\n  - executable-path: no-such-program-anywhere\n",
			`supervisor.conf:2: key "programs[0].executable-path": executable "no-such-program-anywhere" not found in PATH`},
		{"no executable", "programs:\n  - name: a\n",
			`supervisor.conf:2: key "programs[0].executable-path": missing: a program needs an executable`},
		{"bad duration", "programs:\n  - executable-path: sleep\n    stop-timeout: 5x\n",
			`supervisor.conf:3: key "programs[0].stop-timeout": cannot parse "5x" as duration`},
		{"bare number as stop timeout", "programs:\n  - executable-path: sleep\n    stop-timeout: 5\n",
			`supervisor.conf:3: key "programs[0].stop-timeout": cannot parse 5 as duration: a duration needs a unit, e.g. "5s"`},
		{"bad setup delay", "programs:\n  - executable-path: sleep\n    cpu-affinity-setup-delay: soon\n",
			`supervisor.conf:3: key "programs[0].cpu-affinity-setup-delay": cannot parse "soon" as duration: want a duration such as "1s" or a number of nanoseconds`},
		{"negative setup delay", "programs:\n  - executable-path: sleep\n    cpu-affinity-setup-delay: -5\n",
			`supervisor.conf:3: key "programs[0].cpu-affinity-setup-delay": cannot parse -5 as duration: negative`},
		{"duplicate name", "programs:\n  - executable-path: sleep\n  - name: sleep\n    executable-path: true\n",
			`supervisor.conf:3: key "programs[1].name": program name "sleep" already used at line 2; names must be unique`},
		{"bad name", "programs:\n  - name: a/b\n    executable-path: sleep\n",
			`supervisor.conf:2: key "programs[0].name": program name "a/b": must not contain "/", white space or control characters`},
		{"bad signal", "programs:\n  - executable-path: sleep\n    stop-signal: SIGNOPE\n",
			`supervisor.conf:3: key "programs[0].stop-signal": unknown signal "SIGNOPE"`},
		{"bad restarts", "programs:\n  - executable-path: sleep\n    restarts: -2\n",
			`supervisor.conf:3: key "programs[0].restarts": -2: want -1 (always), 0 (never) or a count`},
		{"bad working dir", "programs:\n  - executable-path: sleep\n    working-dir: /nonexistent/dir\n",
			`supervisor.conf:3: key "programs[0].working-dir": "/nonexistent/dir" is not a directory`},
		{"hook for an unknown program", "programs:\n  - executable-path: sleep\nhooks:\n  - program-name: vpp\n    cmd: true\n",
			`supervisor.conf:4: key "hooks[0].program-name": no program is named "vpp" (programs: sleep)`},
		{"hook for an unknown event", "hooks:\n  - event-type: sleeping\n    cmd: true\n",
			`supervisor.conf:2: key "hooks[0].event-type": unknown event type "sleeping"; want one of started, status, terminated, gave-up, failed, stopped`},
		{"hook without command", "hooks:\n  - event-type: started\n",
			`supervisor.conf:2: key "hooks[0].cmd": missing: a hook needs a command`},
		{"hook command missing", "hooks:\n  - cmd: /nonexistent/hook.sh\n",
			`supervisor.conf:2: key "hooks[0].cmd": executable "/nonexistent/hook.sh" does not exist`},
		{"directory and working-dir", "programs:\n  - name: vpp\n    executable-path: sleep\n    working-dir: /tmp\n    directory: /tmp\n",
			`supervisor.conf:5: key "programs[0].directory": program "vpp": set directory or working-dir, not both`},
		{"environment and env", "programs:\n  - name: vpp\n    executable-path: sleep\n    env: {A: b}\n    environment: A=c\n",
			`supervisor.conf:5: key "programs[0].environment": program "vpp": set environment or env, not both`},
		{"bad environment", "programs:\n  - executable-path: sleep\n    environment: 'A=\"open'\n",
			`supervisor.conf:3: key "programs[0].environment": environment "A=\"open": unterminated quote in the value of A`},
		{"unknown dependency", "programs:\n  - name: agent\n    executable-path: sleep\n    depends-on: [vpp]\n",
			`supervisor.conf:4: key "programs[0].depends-on[0]": program "agent" depends on "vpp", which no program is named (programs: agent)`},
		{"dependency cycle", "programs:\n  - name: a\n    executable-path: sleep\n    depends-on: [b]\n  - name: b\n    executable-path: sleep\n    depends-on: [a]\n",
			`supervisor.conf:4: key "programs[0].depends-on": program "a": dependency cycle a -> b -> a`},
		{"depends on itself", "programs:\n  - name: a\n    executable-path: sleep\n    depends-on: [a]\n",
			`supervisor.conf:4: key "programs[0].depends-on": program "a": dependency cycle a -> a`},
		{"bad autorestart", "programs:\n  - executable-path: sleep\n    autorestart: sometimes\n",
			`supervisor.conf:3: key "programs[0].autorestart": "sometimes": want always, unexpected or never`},
		{"bad exit code", "programs:\n  - executable-path: sleep\n    exit-codes: [0, 256]\n",
			`supervisor.conf:3: key "programs[0].exit-codes[1]": 256: an exit code is 0 to 255`},
		{"bad start-seconds", "programs:\n  - executable-path: sleep\n    start-seconds: soon\n",
			`supervisor.conf:3: key "programs[0].start-seconds": cannot parse "soon" as seconds`},
		{"negative start-retries", "programs:\n  - executable-path: sleep\n    start-retries: -1\n",
			`supervisor.conf:3: key "programs[0].start-retries": -1: want 0 or more`},
		{"stop-as-group without kill-as-group", "programs:\n  - name: vpp\n    executable-path: sleep\n    stop-as-group: true\n    kill-as-group: false\n",
			`supervisor.conf:5: key "programs[0].kill-as-group": program "vpp": stop-as-group implies kill-as-group`},
		{"unknown user", "programs:\n  - name: vpp\n    executable-path: sleep\n    user: no-such-user-here\n",
			userError},
		{"bad umask", "programs:\n  - executable-path: sleep\n    umask: 088\n",
			`supervisor.conf:3: key "programs[0].umask": cannot parse "088" as a umask`},
		{"bad size", "programs:\n  - executable-path: sleep\n    logfile-max-bytes: 1XB\n",
			`supervisor.conf:3: key "programs[0].logfile-max-bytes": cannot parse "1XB" as a size: unknown unit "XB"`},
		{"negative backups", "programs:\n  - executable-path: sleep\n    logfile-backups: -1\n",
			`supervisor.conf:3: key "programs[0].logfile-backups": -1: want 0 or more`},
		{"invalid YAML", "programs:\n  - executable-path: [sleep\n",
			`supervisor.conf:`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := supervisor.ParseConfig("supervisor.conf", []byte(tt.conf))
			if err == nil {
				t.Fatal("ParseConfig succeeded")
			}
			var ce *config.Error
			if !errors.As(err, &ce) {
				t.Fatalf("error %v (%T) is not a *config.Error", err, err)
			}
			if got := ce.Error(); !strings.HasPrefix(got, tt.want) {
				t.Errorf("error\n%s\nwant\n%s", got, tt.want)
			}
		})
	}
}

func TestParseConfigReportsEveryProblem(t *testing.T) {
	conf := "programs:\n  - executable-path: /nonexistent/a\n  - executable-path: sleep\n    stop-signal: NOPE\n"
	_, err := supervisor.ParseConfig("s.conf", []byte(conf))
	if err == nil || strings.Count(err.Error(), "\n") != 1 || !strings.Contains(err.Error(), "s.conf:2:") || !strings.Contains(err.Error(), "s.conf:4:") {
		t.Errorf("ParseConfig error\n%v\nwant the problems of lines 2 and 4", err)
	}
}

func TestInvalidAffinityIsAWarningNamingFileAndLine(t *testing.T) {
	tests := []struct{ name, keys, want string }{
		{"mask", `cpu-affinity-mask: "xyz"`, `supervisor.conf:3: key "programs[0].cpu-affinity-mask": cpu mask "xyz"`},
		{"list", `cpu-affinity-list: "3-1"`, `supervisor.conf:3: key "programs[0].cpu-affinity-list": `},
		{"both", "cpu-affinity-mask: \"1\"\n    cpu-affinity-list: \"0\"", `supervisor.conf:4: key "programs[0].cpu-affinity-list": set cpu-affinity-mask or cpu-affinity-list, not both`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, err := supervisor.ParseConfig("supervisor.conf", []byte("programs:\n  - executable-path: sleep\n    "+tt.keys+"\n"))
			if err != nil {
				t.Fatalf("an invalid affinity failed the conf: %v", err)
			}
			w := c.Warnings()
			if len(w) != 1 || !strings.HasPrefix(w[0].Error(), tt.want) {
				t.Errorf("Warnings() = %v, want one starting with %q", w, tt.want)
			}
		})
	}
}

func TestLoadConfig(t *testing.T) {
	if _, err := supervisor.LoadConfig(filepath.Join(t.TempDir(), "missing.conf")); !errors.Is(err, config.ErrNotFound) {
		t.Errorf("LoadConfig(missing) = %v, want ErrNotFound", err)
	}
	path := filepath.Join(t.TempDir(), "supervisor.conf")
	if err := os.WriteFile(path, []byte("programs:\n  - executable-path: sleep\n    bogus: 1\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := supervisor.LoadConfig(path); err == nil || !strings.HasPrefix(err.Error(), path+":3: ") {
		t.Errorf("LoadConfig error %v, want one naming %s:3", err, path)
	}
}

func TestParseSignal(t *testing.T) {
	for in, want := range map[string]syscall.Signal{"TERM": syscall.SIGTERM, "sigint": syscall.SIGINT, "SIGHUP": syscall.SIGHUP, "9": syscall.SIGKILL, " usr1 ": syscall.SIGUSR1} {
		if got, err := supervisor.ParseSignal(in); err != nil || got != want {
			t.Errorf("ParseSignal(%q) = %v, %v, want %v", in, got, err, want)
		}
	}
	for _, in := range []string{"", "0", "65", "SIGNOPE", "-1"} {
		if got, err := supervisor.ParseSignal(in); err == nil {
			t.Errorf("ParseSignal(%q) = %v, want an error", in, got)
		}
	}
}

func TestParseConfigReadsTheSupervisordKeys(t *testing.T) {
	c, err := supervisor.ParseConfig("supervisor.conf", []byte(`
programs:
  - name: vpp
    executable-path: sleep
    start-seconds: 2.5
    start-retries: 3
    autorestart: unexpected
    exit-codes: [0, 2]
    stop-as-group: false
    directory: /tmp
    environment: A="x, y",B=z,C="say \"hi\""
    umask: 022
    stderr-logfile-path: /tmp/vpp.err
    logfile-max-bytes: 512KiB
    logfile-backups: 0
  - name: agent
    executable-path: sleep
    start-seconds: 1500ms
    depends-on: [vpp]
    logfile-max-bytes: 1048576
`))
	if err != nil {
		t.Fatal(err)
	}
	vpp, agent := c.Programs[0], c.Programs[1]
	if time.Duration(vpp.StartSeconds) != 2500*time.Millisecond || time.Duration(agent.StartSeconds) != 1500*time.Millisecond {
		t.Errorf("start-seconds %v and %v, want 2.5s and 1.5s", time.Duration(vpp.StartSeconds), time.Duration(agent.StartSeconds))
	}
	if vpp.StartRetries != 3 || vpp.Autorestart != "unexpected" || !reflect.DeepEqual(vpp.ExitCodes, []int{0, 2}) ||
		vpp.StopAsGroup == nil || *vpp.StopAsGroup || vpp.KillAsGroup != nil || vpp.Directory != "/tmp" {
		t.Errorf("vpp = %+v", vpp)
	}
	if want := (supervisor.EnvVars{"A": "x, y", "B": "z", "C": `say "hi"`}); !reflect.DeepEqual(vpp.Environment, want) {
		t.Errorf("environment %q, want %q", vpp.Environment, want)
	}
	if vpp.Umask == nil || *vpp.Umask != 0o22 {
		t.Errorf("umask %v, want 022", vpp.Umask)
	}
	if *vpp.LogfileMaxBytes != 512<<10 || *vpp.LogfileBackups != 0 || *agent.LogfileMaxBytes != 1<<20 || agent.LogfileBackups != nil {
		t.Errorf("rotation: vpp %d/%d, agent %d/%v", *vpp.LogfileMaxBytes, *vpp.LogfileBackups, *agent.LogfileMaxBytes, agent.LogfileBackups)
	}
	if !slices.Equal(agent.DependsOn, []string{"vpp"}) {
		t.Errorf("depends-on %v", agent.DependsOn)
	}
}

func TestParseByteSize(t *testing.T) {
	for in, want := range map[string]int64{"0": 0, "1024": 1024, "1MB": 1 << 20, "1mb": 1 << 20, "512KiB": 512 << 10,
		"2 GB": 2 << 30, "10KB": 10 << 10, "7B": 7} {
		if got, err := supervisor.ParseByteSize(in); err != nil || got != want {
			t.Errorf("ParseByteSize(%q) = %d, %v; want %d", in, got, err, want)
		}
	}
	for _, bad := range []string{"", "MB", "-1", "1TB", "1.5MB", "99999999999999999999"} {
		if got, err := supervisor.ParseByteSize(bad); err == nil {
			t.Errorf("ParseByteSize(%q) = %d, want an error", bad, got)
		}
	}
}
