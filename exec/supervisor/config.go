package supervisor

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"time"

	"gopkg.in/yaml.v3"

	"github.com/plinth-go/plinth/exec/processmanager"
	"github.com/plinth-go/plinth/infra/config"
	"github.com/plinth-go/plinth/infra/kvdb"
)

// Defaults of the program and hook settings.
const (
	// DefaultStopTimeout is how long a program has to exit after its stop
	// signal before it is killed (supervisord's stopwaitsecs).
	DefaultStopTimeout = 10 * time.Second
	// DefaultRestartDelay and DefaultRestartDelayMax bound the exponential
	// backoff between automatic restarts: the first restart waits 100ms,
	// each further one twice the previous, up to 30s. A run of 10s resets it.
	DefaultRestartDelay    = 100 * time.Millisecond
	DefaultRestartDelayMax = 30 * time.Second
	// DefaultHookTimeout is how long a hook may run before it is killed.
	DefaultHookTimeout = 10 * time.Second
	// DefaultHooksShutdownTimeout is how long Close lets the hooks of the
	// last events run, once every program has stopped, before it kills them.
	DefaultHooksShutdownTimeout = 5 * time.Second
	// DefaultLogfileMaxBytes and DefaultLogfileBackups bound the disk a
	// program's log takes, as supervisord's defaults do: 50MB, and 10
	// rotated files, so at most 550MB per log file.
	DefaultLogfileMaxBytes = 50 << 20
	DefaultLogfileBackups  = 10
)

// Values of Program.Autorestart.
const (
	AutorestartAlways     = "always"
	AutorestartUnexpected = "unexpected"
	AutorestartNever      = "never"
)

// Config is the content of supervisor.conf. A zero Config is valid: the
// supervisor runs nothing.
type Config struct {
	// Programs are the programs to run, started in ascending Priority and,
	// within one priority, in the order of the file.
	Programs []Program `yaml:"programs"`
	// Hooks are commands run on the events of the programs.
	Hooks []Hook `yaml:"hooks"`
	// HooksShutdownTimeout bounds how long Close waits, after stopping the
	// programs, for the hooks still queued or running; the rest are killed
	// or skipped. If zero, DefaultHooksShutdownTimeout (5s) is used.
	HooksShutdownTimeout time.Duration `yaml:"hooks-shutdown-timeout"`

	warnings []error
}

// Program is one program of the conf file.
type Program struct {
	// Name identifies the program in hooks, logs, the status check and the
	// REST API; it must be unique. If empty, it is the base name of the
	// executable without its extension.
	Name string `yaml:"name"`
	// ExecutablePath is the program to run: a path, or a name looked up in
	// PATH. Required; it must exist and be executable when the conf is
	// loaded.
	ExecutablePath string `yaml:"executable-path"`
	// ExecutableArgs are the arguments, without the program itself.
	ExecutableArgs []string `yaml:"executable-args"`
	// LogfilePath receives the standard output and error of the program,
	// appended as the program writes them (the program writes to the file
	// directly: nothing is buffered by the agent). If empty, both go to the
	// standard output of the agent. Programs may share a file.
	LogfilePath string `yaml:"logfile-path"`
	// Restarts is how many times the program is restarted after it exits;
	// -1 restarts it always. Zero (the default) never restarts it.
	Restarts int `yaml:"restarts"`
	// CPUAffinityMask binds every thread of the program to the CPUs of a
	// hexadecimal mask, as taskset reads it ("4", "0x5", "ff,ffffffff").
	CPUAffinityMask string `yaml:"cpu-affinity-mask"`
	// CPUAffinityList binds every thread of the program to a list of CPUs
	// ("0,2-3", "0-7:2"). Set the mask or the list, not both. An invalid
	// mask or list is logged and ignored: the program runs unbound.
	CPUAffinityList string `yaml:"cpu-affinity-list"`
	// CPUAffinitySetupDelay postpones the binding after each start, for
	// programs that set up their own threads first. A duration with a unit
	// ("1s"), or a bare number of nanoseconds (1000000000).
	CPUAffinitySetupDelay Delay `yaml:"cpu-affinity-setup-delay"`
	// Priority orders the starts: lower first. Programs stop a priority at
	// a time, higher first, the programs of one priority together.
	// Default 0.
	Priority int `yaml:"priority"`
	// WorkingDir is the working directory of the program; if empty, the
	// agent's.
	WorkingDir string `yaml:"working-dir"`
	// Env adds variables to the environment the program inherits from the
	// agent, or overrides them.
	Env map[string]string `yaml:"env"`
	// StopSignal asks the program to exit: a name with or without "SIG"
	// ("TERM", "SIGINT") or a number. If empty, SIGTERM. It is sent to the
	// process group of the program.
	StopSignal string `yaml:"stop-signal"`
	// StopTimeout is how long the program has to exit after its stop signal
	// before its process group is killed (SIGKILL). If zero,
	// DefaultStopTimeout (10s).
	StopTimeout time.Duration `yaml:"stop-timeout"`
	// RestartDelay is the delay before the first automatic restart; each
	// further one doubles it up to RestartDelayMax. If unset,
	// DefaultRestartDelay (100ms); "0s" restarts at once every time.
	RestartDelay *time.Duration `yaml:"restart-delay"`
	// RestartDelayMax caps the restart delay. If zero,
	// DefaultRestartDelayMax (30s), or RestartDelay when that is larger.
	RestartDelayMax time.Duration `yaml:"restart-delay-max"`

	// StartSeconds is how long a run must last to count as started
	// (supervisord's startsecs): a number of seconds (1, 2.5) or a
	// duration ("1500ms"). Until then the program is starting; a run that
	// ends sooner is a failed start, retried up to StartRetries times.
	// Zero (the default) counts every run as started at once.
	StartSeconds Seconds `yaml:"start-seconds,omitempty"`
	// StartRetries is how many failed starts in a row (an exit before
	// StartSeconds, or a failure to execute the program) are retried, with
	// the restart backoff, before the program is fatal (supervisord's
	// startretries). Default 0: a failed start is not retried.
	StartRetries int `yaml:"start-retries,omitempty"`
	// Autorestart says which exits of a started program restart it
	// (supervisord's autorestart): "always", "unexpected" (an exit code
	// not in ExitCodes, or a signal) or "never"; true and false stand for
	// always and never. If empty, Restarts alone decides, as it always has.
	// With Autorestart, a positive Restarts caps the restarts in a row,
	// and 0 or -1 leave them uncapped.
	Autorestart string `yaml:"autorestart,omitempty"`
	// ExitCodes are the expected exit codes for autorestart "unexpected"
	// (supervisord's exitcodes). If empty, [0].
	ExitCodes []int `yaml:"exit-codes,omitempty"`
	// StopAsGroup sends the stop signal to the process group of the
	// program (supervisord's stopasgroup) rather than to the program
	// alone. If unset, true, as it always was. It implies KillAsGroup.
	StopAsGroup *bool `yaml:"stop-as-group,omitempty"`
	// KillAsGroup sends the SIGKILL that follows StopTimeout to the
	// process group (supervisord's killasgroup). If unset, StopAsGroup.
	// Either way, what is left of the group once the program has exited
	// after a stop is killed.
	KillAsGroup *bool `yaml:"kill-as-group,omitempty"`
	// Directory is supervisord's name for WorkingDir; set one of the two.
	Directory string `yaml:"directory,omitempty"`
	// Environment is supervisord's name for Env, as a mapping or as
	// supervisord writes it: KEY="value",KEY2="value2". Set one of the two.
	Environment EnvVars `yaml:"environment,omitempty"`
	// User runs the program as this user, a name or a uid (supervisord's
	// user). The agent must run as root.
	User string `yaml:"user,omitempty"`
	// Umask is the octal file mode creation mask of the program ("022"),
	// as supervisord's umask; if unset, the agent's. Linux only.
	Umask *Umask `yaml:"umask,omitempty"`
	// StderrLogfilePath receives the standard error of the program. If
	// empty, it goes where the standard output goes.
	StderrLogfilePath string `yaml:"stderr-logfile-path,omitempty"`
	// LogfileMaxBytes rotates a log file of the program once it would grow
	// past this size: an integer number of bytes, or a size with a unit
	// ("1MB", "512KiB"; KB, MB and GB are powers of 1024, as in
	// supervisord). If unset, DefaultLogfileMaxBytes (50MB); 0 turns
	// rotation off, and the program then writes to the file itself.
	LogfileMaxBytes *ByteSize `yaml:"logfile-max-bytes,omitempty"`
	// LogfileBackups is how many rotated files are kept (file.1 the
	// newest). If unset, DefaultLogfileBackups (10); 0 keeps none: the
	// file starts again empty.
	LogfileBackups *int `yaml:"logfile-backups,omitempty"`
	// DependsOn names the programs that must have been running for their
	// StartSeconds before this one starts; they stop after it.
	DependsOn []string `yaml:"depends-on,omitempty"`
}

// Hook is a command run on events of programs.
type Hook struct {
	// ProgramName limits the hook to the events of one program; if empty,
	// it runs for every program.
	ProgramName string `yaml:"program-name"`
	// EventType limits the hook to one type of event (see EventType); if
	// empty, it runs for every event.
	EventType EventType `yaml:"event-type"`
	// Cmd is the command: a path, or a name looked up in PATH. Required;
	// it must exist and be executable when the conf is loaded.
	Cmd string `yaml:"cmd"`
	// CmdArgs are the arguments of the command.
	CmdArgs []string `yaml:"cmd-args"`
	// Timeout bounds a run of the hook: its process group is killed after
	// it. If zero, DefaultHookTimeout (10s).
	Timeout time.Duration `yaml:"timeout"`
}

// Delay is a duration read from YAML either with a unit ("1s", "250ms") or
// as a bare number of nanoseconds (1000000000), the form of the conf files
// written for cn-infra's supervisor.
type Delay time.Duration

// UnmarshalYAML implements yaml.Unmarshaler.
func (d *Delay) UnmarshalYAML(n *yaml.Node) error {
	if n.Kind != yaml.ScalarNode {
		return &yaml.TypeError{Errors: []string{fmt.Sprintf("line %d: expected a duration, got a %s", n.Line, kindName(n.Kind))}}
	}
	v, err := parseDelay(n.Value)
	if err != nil {
		return &yaml.TypeError{Errors: []string{fmt.Sprintf("line %d: %v", n.Line, err)}}
	}
	*d = Delay(v)
	return nil
}

// MarshalYAML implements yaml.Marshaler: a Delay is written with a unit.
func (d Delay) MarshalYAML() (any, error) { return time.Duration(d).String(), nil }

func parseDelay(s string) (time.Duration, error) {
	s = strings.TrimSpace(s)
	if n, err := strconv.ParseInt(s, 10, 64); err == nil {
		if n < 0 {
			return 0, fmt.Errorf("cannot parse %s as duration: negative", s)
		}
		return time.Duration(n), nil
	}
	v, err := time.ParseDuration(s)
	if err != nil {
		return 0, fmt.Errorf("cannot parse %q as duration: want a duration such as \"1s\" or a number of nanoseconds", s)
	}
	if v < 0 {
		return 0, fmt.Errorf("cannot parse %q as duration: negative", s)
	}
	return v, nil
}

// Seconds is a duration read from YAML as a number of seconds (1, 2.5),
// the form of supervisord's startsecs, or with a unit ("1500ms").
type Seconds time.Duration

// UnmarshalYAML implements yaml.Unmarshaler.
func (d *Seconds) UnmarshalYAML(n *yaml.Node) error {
	if n.Kind != yaml.ScalarNode {
		return &yaml.TypeError{Errors: []string{fmt.Sprintf("line %d: expected a number of seconds, got a %s", n.Line, kindName(n.Kind))}}
	}
	v, err := parseSeconds(n.Value)
	if err != nil {
		return &yaml.TypeError{Errors: []string{fmt.Sprintf("line %d: %v", n.Line, err)}}
	}
	*d = Seconds(v)
	return nil
}

// MarshalYAML implements yaml.Marshaler: Seconds are written with a unit.
func (d Seconds) MarshalYAML() (any, error) { return time.Duration(d).String(), nil }

// maxSeconds bounds a number of seconds, far above any sensible start-seconds.
const maxSeconds = 1 << 30

func parseSeconds(s string) (time.Duration, error) {
	s = strings.TrimSpace(s)
	if f, err := strconv.ParseFloat(s, 64); err == nil {
		if f < 0 || f > maxSeconds || f != f {
			return 0, fmt.Errorf("cannot parse %s as seconds: want 0 to %d", s, maxSeconds)
		}
		return time.Duration(f * float64(time.Second)), nil
	}
	v, err := time.ParseDuration(s)
	if err != nil {
		return 0, fmt.Errorf("cannot parse %q as seconds: want a number of seconds such as 1 or a duration such as \"1500ms\"", s)
	}
	if v < 0 {
		return 0, fmt.Errorf("cannot parse %q as seconds: negative", s)
	}
	return v, nil
}

// ByteSize is a size in bytes read from YAML as an integer or with a unit:
// B, KB, MB, GB (powers of 1024, as supervisord reads them) or KiB, MiB,
// GiB, in any case.
type ByteSize int64

// UnmarshalYAML implements yaml.Unmarshaler.
func (b *ByteSize) UnmarshalYAML(n *yaml.Node) error {
	if n.Kind != yaml.ScalarNode {
		return &yaml.TypeError{Errors: []string{fmt.Sprintf("line %d: expected a size, got a %s", n.Line, kindName(n.Kind))}}
	}
	v, err := ParseByteSize(n.Value)
	if err != nil {
		return &yaml.TypeError{Errors: []string{fmt.Sprintf("line %d: %v", n.Line, err)}}
	}
	*b = ByteSize(v)
	return nil
}

// MarshalYAML implements yaml.Marshaler: a size is written in bytes.
func (b ByteSize) MarshalYAML() (any, error) { return int64(b), nil }

// ParseByteSize reads a size: "1048576", "1MB", "512KiB", "2gb".
func ParseByteSize(s string) (int64, error) {
	t := strings.TrimSpace(s)
	i := len(t)
	for i > 0 && (t[i-1] < '0' || t[i-1] > '9') {
		i--
	}
	num, unit := t[:i], strings.ToUpper(strings.TrimSpace(t[i:]))
	n, err := strconv.ParseInt(strings.TrimSpace(num), 10, 64)
	if err != nil || n < 0 {
		return 0, fmt.Errorf("cannot parse %q as a size: want a number of bytes, or one with a unit such as 1MB or 512KiB", s)
	}
	var mult int64
	switch unit {
	case "", "B":
		mult = 1
	case "KB", "KIB", "K":
		mult = 1 << 10
	case "MB", "MIB", "M":
		mult = 1 << 20
	case "GB", "GIB", "G":
		mult = 1 << 30
	default:
		return 0, fmt.Errorf("cannot parse %q as a size: unknown unit %q (want B, KB, MB, GB, KiB, MiB or GiB)", s, t[i:])
	}
	if n > (1<<62)/mult {
		return 0, fmt.Errorf("cannot parse %q as a size: too large", s)
	}
	return n * mult, nil
}

// Umask is a file mode creation mask read from YAML in octal, as
// supervisord reads it: 022, "0022" and "0o22" are all 0o22.
type Umask os.FileMode

// UnmarshalYAML implements yaml.Unmarshaler.
func (u *Umask) UnmarshalYAML(n *yaml.Node) error {
	if n.Kind != yaml.ScalarNode {
		return &yaml.TypeError{Errors: []string{fmt.Sprintf("line %d: expected an octal umask, got a %s", n.Line, kindName(n.Kind))}}
	}
	s := strings.TrimPrefix(strings.TrimPrefix(strings.TrimSpace(n.Value), "0o"), "0O")
	v, err := strconv.ParseUint(s, 8, 32)
	if err != nil || v > 0o777 {
		return &yaml.TypeError{Errors: []string{fmt.Sprintf("line %d: cannot parse %q as a umask: want an octal mask from 000 to 777 such as 022", n.Line, n.Value)}}
	}
	*u = Umask(v)
	return nil
}

// MarshalYAML implements yaml.Marshaler: a umask is written in octal.
func (u Umask) MarshalYAML() (any, error) { return fmt.Sprintf("%04o", uint32(u)), nil }

// EnvVars are environment variables read from YAML as a mapping, or as
// supervisord writes them: KEY="value",KEY2=value2.
type EnvVars map[string]string

// UnmarshalYAML implements yaml.Unmarshaler.
func (e *EnvVars) UnmarshalYAML(n *yaml.Node) error {
	switch n.Kind {
	case yaml.MappingNode:
		var m map[string]string
		if err := n.Decode(&m); err != nil {
			return err
		}
		*e = m
		return nil
	case yaml.ScalarNode:
		m, err := parseEnvString(n.Value)
		if err != nil {
			return &yaml.TypeError{Errors: []string{fmt.Sprintf("line %d: %v", n.Line, err)}}
		}
		*e = m
		return nil
	}
	return &yaml.TypeError{Errors: []string{fmt.Sprintf("line %d: expected a mapping or KEY=\"value\",… , got a %s", n.Line, kindName(n.Kind))}}
}

// parseEnvString reads KEY="value",KEY2=value2: values in double quotes
// may hold commas and escape a quote or backslash with a backslash.
func parseEnvString(s string) (map[string]string, error) {
	m := map[string]string{}
	rest := strings.TrimSpace(s)
	for rest != "" {
		key, after, ok := strings.Cut(rest, "=")
		key = strings.TrimSpace(key)
		if !ok || key == "" {
			return nil, fmt.Errorf("environment %q: want KEY=\"value\" pairs separated by commas", s)
		}
		after = strings.TrimLeft(after, " \t")
		var val strings.Builder
		if strings.HasPrefix(after, `"`) {
			i, closed := 1, false
			for i < len(after) {
				c := after[i]
				if c == '\\' && i+1 < len(after) {
					val.WriteByte(after[i+1])
					i += 2
					continue
				}
				i++
				if c == '"' {
					closed = true
					break
				}
				val.WriteByte(c)
			}
			if !closed {
				return nil, fmt.Errorf("environment %q: unterminated quote in the value of %s", s, key)
			}
			after = strings.TrimLeft(after[i:], " \t")
			if after != "" && after[0] != ',' {
				return nil, fmt.Errorf("environment %q: want a comma after the value of %s", s, key)
			}
		} else {
			v, _, _ := strings.Cut(after, ",")
			val.WriteString(strings.TrimSpace(v))
			after = after[len(v):]
		}
		m[key] = val.String()
		rest = strings.TrimSpace(strings.TrimPrefix(after, ","))
	}
	return m, nil
}

func kindName(k yaml.Kind) string {
	switch k {
	case yaml.MappingNode:
		return "mapping"
	case yaml.SequenceNode:
		return "list"
	}
	return "value"
}

// Warnings returns the problems of the conf that do not stop it from
// being used: invalid CPU affinity values, which are ignored (the program
// runs unbound), as the conf format has always done. Each is a
// *config.Error naming the file and line. The plugin logs them.
func (c *Config) Warnings() []error { return slices.Clone(c.warnings) }

// LoadConfig reads and checks the supervisor conf file at path. See
// ParseConfig.
func LoadConfig(path string) (*Config, error) {
	data, err := config.ReadFile(path, 0)
	if err != nil {
		if errors.Is(err, os.ErrNotExist) {
			return nil, fmt.Errorf("supervisor: conf file %s: %w", path, config.ErrNotFound)
		}
		return nil, fmt.Errorf("supervisor: %w", err)
	}
	return ParseConfig(path, data)
}

// ParseConfig decodes data, the content of the conf file named file,
// strictly (see package infra/config) and checks it: every program has an
// executable that exists, names are unique and usable as status names,
// signals and hook filters are known, hook commands exist. Every problem is
// a *config.Error naming file, line and key; several are joined. Invalid
// CPU affinity values are not errors: see Config.Warnings.
func ParseConfig(file string, data []byte) (*Config, error) {
	c := &Config{}
	if err := config.Decode(file, data, c); err != nil {
		return nil, err
	}
	var doc yaml.Node
	if err := yaml.Unmarshal(data, &doc); err != nil {
		// Decode accepted it; only a decoder panic guarded there could
		// land here.
		return nil, &config.Error{File: file, Msg: err.Error()}
	}
	if err := c.check(file, lineIndex(&doc)); err != nil {
		return nil, err
	}
	return c, nil
}

// lines maps key paths ("programs[1].cpu-affinity-mask", "hooks[0]") to
// the line of their value in the file.
type lines map[string]int

func lineIndex(doc *yaml.Node) lines {
	idx := lines{}
	var walk func(n *yaml.Node, path string)
	walk = func(n *yaml.Node, path string) {
		if path != "" {
			if _, ok := idx[path]; !ok {
				idx[path] = n.Line
			}
		}
		switch n.Kind {
		case yaml.DocumentNode:
			for _, c := range n.Content {
				walk(c, path)
			}
		case yaml.MappingNode:
			for i := 0; i+1 < len(n.Content); i += 2 {
				p := n.Content[i].Value
				if path != "" {
					p = path + "." + p
				}
				walk(n.Content[i+1], p)
			}
		case yaml.SequenceNode:
			for i, c := range n.Content {
				walk(c, fmt.Sprintf("%s[%d]", path, i))
			}
		}
	}
	walk(doc, "")
	return idx
}

// line returns the line of key, else of the closest enclosing key.
func (l lines) line(key string) int {
	for key != "" {
		if n, ok := l[key]; ok {
			return n
		}
		i := strings.LastIndexAny(key, ".[")
		if i < 0 {
			break
		}
		key = key[:i]
	}
	return 0
}

// checker collects the problems of a conf.
type checker struct {
	file  string
	lines lines
	errs  []error
	warns []error
}

func (ck *checker) problem(warn bool, key, format string, args ...any) {
	e := &config.Error{File: ck.file, Line: ck.lines.line(key), Key: key,
		Msg: fmt.Sprintf("key %q: ", key) + fmt.Sprintf(format, args...)}
	if warn {
		ck.warns = append(ck.warns, e)
	} else {
		ck.errs = append(ck.errs, e)
	}
}

// check validates c and fills in what Init needs. file and l locate
// problems; l may be empty for a conf set in code.
func (c *Config) check(file string, l lines) error {
	ck := &checker{file: file, lines: l}
	if c.HooksShutdownTimeout < 0 {
		ck.problem(false, "hooks-shutdown-timeout", "negative duration %v", c.HooksShutdownTimeout)
	}
	names := map[string]string{} // name -> key of the program that has it
	for i := range c.Programs {
		p := &c.Programs[i]
		key := fmt.Sprintf("programs[%d]", i)
		checkProgram(ck, key, p)
		if p.Name == "" {
			continue
		}
		if first, ok := names[p.Name]; ok {
			ck.problem(false, key+".name", "program name %q already used at line %d; names must be unique", p.Name, ck.lines.line(first))
			continue
		}
		names[p.Name] = key
	}
	checkDependencies(ck, c.Programs, names)
	for i := range c.Hooks {
		h := &c.Hooks[i]
		key := fmt.Sprintf("hooks[%d]", i)
		if h.ProgramName != "" {
			if _, ok := names[h.ProgramName]; !ok {
				ck.problem(false, key+".program-name", "no program is named %q (programs: %s)", h.ProgramName, strings.Join(sortedKeys(names), ", "))
			}
		}
		if h.EventType != "" && !slices.Contains(EventTypes, h.EventType) {
			ck.problem(false, key+".event-type", "unknown event type %q; want one of %s", h.EventType, eventTypeList())
		}
		if h.Cmd == "" {
			ck.problem(false, key+".cmd", "missing: a hook needs a command")
		} else if _, err := exec.LookPath(h.Cmd); err != nil {
			ck.problem(false, key+".cmd", "%v", lookPathError(h.Cmd, err))
		}
		if h.Timeout < 0 {
			ck.problem(false, key+".timeout", "negative duration %v", h.Timeout)
		}
	}
	c.warnings = ck.warns
	return errors.Join(ck.errs...)
}

func checkProgram(ck *checker, key string, p *Program) {
	if p.ExecutablePath == "" {
		ck.problem(false, key+".executable-path", "missing: a program needs an executable")
	} else if _, err := exec.LookPath(p.ExecutablePath); err != nil {
		ck.problem(false, key+".executable-path", "%v", lookPathError(p.ExecutablePath, err))
	}
	if p.Name == "" && p.ExecutablePath != "" {
		base := filepath.Base(p.ExecutablePath)
		p.Name = strings.TrimSuffix(base, filepath.Ext(base))
		if p.Name == "" {
			p.Name = base
		}
	}
	if p.Name != "" && kvdb.SegmentProblem(p.Name) != "" {
		ck.problem(false, key+".name", "program name %q: must not contain \"/\", white space or control characters", p.Name)
	}
	if p.Restarts < -1 {
		ck.problem(false, key+".restarts", "%d: want -1 (always), 0 (never) or a count", p.Restarts)
	}
	switch {
	case p.CPUAffinityMask != "" && p.CPUAffinityList != "":
		ck.problem(true, key+".cpu-affinity-list", "set cpu-affinity-mask or cpu-affinity-list, not both: affinity ignored")
	case p.CPUAffinityMask != "":
		if _, err := processmanager.ParseCPUMask(p.CPUAffinityMask); err != nil {
			ck.problem(true, key+".cpu-affinity-mask", "%v: affinity ignored", err)
		}
	case p.CPUAffinityList != "":
		if _, err := processmanager.ParseCPUList(p.CPUAffinityList); err != nil {
			ck.problem(true, key+".cpu-affinity-list", "%v: affinity ignored", err)
		}
	}
	if p.CPUAffinitySetupDelay < 0 {
		ck.problem(false, key+".cpu-affinity-setup-delay", "negative duration %v", time.Duration(p.CPUAffinitySetupDelay))
	}
	if p.StopSignal != "" {
		if _, err := ParseSignal(p.StopSignal); err != nil {
			ck.problem(false, key+".stop-signal", "%v", err)
		}
	}
	if p.StopTimeout < 0 {
		ck.problem(false, key+".stop-timeout", "negative duration %v", p.StopTimeout)
	}
	if p.RestartDelay != nil && *p.RestartDelay < 0 {
		ck.problem(false, key+".restart-delay", "negative duration %v", *p.RestartDelay)
	}
	if p.RestartDelayMax < 0 {
		ck.problem(false, key+".restart-delay-max", "negative duration %v", p.RestartDelayMax)
	}
	for k := range p.Env {
		if k == "" || strings.ContainsAny(k, "=\x00") {
			ck.problem(false, key+".env", "invalid variable name %q", k)
		}
	}
	for k := range p.Environment {
		if k == "" || strings.ContainsAny(k, "=\x00") {
			ck.problem(false, key+".environment", "invalid variable name %q", k)
		}
	}
	if len(p.Env) > 0 && len(p.Environment) > 0 {
		ck.problem(false, key+".environment", "program %q: set environment or env, not both (environment is supervisord's name for env)", p.Name)
	}
	if p.WorkingDir != "" && p.Directory != "" {
		ck.problem(false, key+".directory", "program %q: set directory or working-dir, not both (directory is supervisord's name for working-dir)", p.Name)
	}
	for _, d := range []struct{ key, dir string }{{"working-dir", p.WorkingDir}, {"directory", p.Directory}} {
		if d.dir != "" {
			if fi, err := os.Stat(d.dir); err != nil || !fi.IsDir() {
				ck.problem(false, key+"."+d.key, "%q is not a directory", d.dir)
			}
		}
	}
	if p.StartRetries < 0 {
		ck.problem(false, key+".start-retries", "%d: want 0 or more", p.StartRetries)
	}
	switch p.Autorestart {
	case "", AutorestartAlways, AutorestartUnexpected, AutorestartNever, "true", "false":
	default:
		ck.problem(false, key+".autorestart", "%q: want always, unexpected or never", p.Autorestart)
	}
	for i, c := range p.ExitCodes {
		if c < 0 || c > 255 {
			ck.problem(false, fmt.Sprintf("%s.exit-codes[%d]", key, i), "%d: an exit code is 0 to 255", c)
		}
	}
	if p.StopAsGroup != nil && *p.StopAsGroup && p.KillAsGroup != nil && !*p.KillAsGroup {
		ck.problem(false, key+".kill-as-group", "program %q: stop-as-group implies kill-as-group: set it true, or stop-as-group false", p.Name)
	}
	if p.User != "" {
		if euid := os.Geteuid(); euid != 0 {
			ck.problem(false, key+".user", "program %q: running it as user %q needs an agent that runs as root (it runs as uid %d)", p.Name, p.User, euid)
		} else if runtime.GOOS == "windows" {
			ck.problem(false, key+".user", "program %q: running a program as another user is not supported on windows", p.Name)
		} else if !userExists(p.User) {
			ck.problem(false, key+".user", "program %q: no user %q on this machine", p.Name, p.User)
		}
	}
	if p.Umask != nil && runtime.GOOS != "linux" {
		ck.problem(false, key+".umask", "program %q: a umask of its own is supported on Linux only", p.Name)
	}
	if (p.CPUAffinityMask != "" || p.CPUAffinityList != "") && runtime.GOOS != "linux" {
		ck.problem(false, key+".cpu-affinity-mask", "program %q: CPU affinity is supported on Linux only", p.Name)
	}
	if p.LogfileMaxBytes != nil && *p.LogfileMaxBytes < 0 {
		ck.problem(false, key+".logfile-max-bytes", "%d: want 0 (no rotation) or more", *p.LogfileMaxBytes)
	}
	if p.LogfileBackups != nil && *p.LogfileBackups < 0 {
		ck.problem(false, key+".logfile-backups", "%d: want 0 or more", *p.LogfileBackups)
	}
	if p.LogfileBackups != nil && *p.LogfileBackups > maxLogfileBackups {
		ck.problem(false, key+".logfile-backups", "%d: at most %d", *p.LogfileBackups, maxLogfileBackups)
	}
}

// maxLogfileBackups bounds logfile-backups: each rotation renames every
// backup.
const maxLogfileBackups = 1000

// checkDependencies checks depends-on: known names, no program depending
// on itself through others.
func checkDependencies(ck *checker, progs []Program, names map[string]string) {
	for i, p := range progs {
		key := fmt.Sprintf("programs[%d]", i)
		for j, d := range p.DependsOn {
			if _, ok := names[d]; !ok {
				ck.problem(false, fmt.Sprintf("%s.depends-on[%d]", key, j), "program %q depends on %q, which no program is named (programs: %s)",
					p.Name, d, strings.Join(sortedKeys(names), ", "))
			}
		}
	}
	byName := map[string]*Program{}
	for i := range progs {
		if _, dup := byName[progs[i].Name]; !dup {
			byName[progs[i].Name] = &progs[i]
		}
	}
	// Depth-first, reporting each cycle once, at the first program of the
	// file on it.
	const (
		unseen = iota
		onPath
		done
	)
	mark := map[string]int{}
	reported := map[string]bool{}
	var path []string
	var visit func(name string)
	visit = func(name string) {
		mark[name] = onPath
		path = append(path, name)
		for _, d := range byName[name].DependsOn {
			if byName[d] == nil {
				continue
			}
			switch mark[d] {
			case unseen:
				visit(d)
			case onPath:
				cycle := append(slices.Clone(path[slices.Index(path, d):]), d)
				if !reported[d] {
					reported[d] = true
					ck.problem(false, names[d]+".depends-on", "program %q: dependency cycle %s", d, strings.Join(cycle, " -> "))
				}
			}
		}
		path = path[:len(path)-1]
		mark[name] = done
	}
	for _, p := range progs {
		if byName[p.Name] != nil && mark[p.Name] == unseen {
			visit(p.Name)
		}
	}
}

// userExists reports whether name is a user name or id of this machine.
func userExists(name string) bool {
	if _, err := user.Lookup(name); err == nil {
		return true
	}
	_, err := user.LookupId(name)
	return err == nil
}

// affinityValid reports whether p sets a valid CPU mask or list.
func affinityValid(p Program) bool {
	var err error
	switch {
	case p.CPUAffinityMask != "" && p.CPUAffinityList != "":
		return false
	case p.CPUAffinityMask != "":
		_, err = processmanager.ParseCPUMask(p.CPUAffinityMask)
	case p.CPUAffinityList != "":
		_, err = processmanager.ParseCPUList(p.CPUAffinityList)
	default:
		return false
	}
	return err == nil
}

func lookPathError(cmd string, err error) error {
	if errors.Is(err, exec.ErrNotFound) {
		return fmt.Errorf("executable %q not found in PATH", cmd)
	}
	if errors.Is(err, os.ErrNotExist) {
		return fmt.Errorf("executable %q does not exist", cmd)
	}
	if errors.Is(err, os.ErrPermission) || errors.Is(err, syscall.EACCES) {
		return fmt.Errorf("%q is not executable", cmd)
	}
	return fmt.Errorf("executable %q: %v", cmd, err)
}

// ParseSignal returns the signal named s: "TERM", "SIGTERM", "term" or a
// number such as "15".
func ParseSignal(s string) (syscall.Signal, error) {
	t := strings.ToUpper(strings.TrimSpace(s))
	if n, err := strconv.Atoi(t); err == nil {
		if n <= 0 || n > 64 {
			return 0, fmt.Errorf("signal %q: not a signal number", s)
		}
		return syscall.Signal(n), nil
	}
	if !strings.HasPrefix(t, "SIG") {
		t = "SIG" + t
	}
	if sig := signalNum(t); sig != 0 {
		return sig, nil
	}
	return 0, fmt.Errorf("unknown signal %q", s)
}

func sortedKeys(m map[string]string) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}
