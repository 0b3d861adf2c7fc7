package supervisor

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"time"
	"unicode"
	"unicode/utf8"

	"golang.org/x/sys/unix"
	"gopkg.in/yaml.v3"

	"github.com/plinth-go/plinth/exec/processmanager"
	"github.com/plinth-go/plinth/infra/config"
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
	if p.Name != "" && !validName(p.Name) {
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
	if p.WorkingDir != "" {
		if fi, err := os.Stat(p.WorkingDir); err != nil || !fi.IsDir() {
			ck.problem(false, key+".working-dir", "%q is not a directory", p.WorkingDir)
		}
	}
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
	if sig := unix.SignalNum(t); sig != 0 {
		return sig, nil
	}
	return 0, fmt.Errorf("unknown signal %q", s)
}

// validName reports whether name can be a status name and a URL segment.
func validName(name string) bool {
	if name == "." || name == ".." || !utf8.ValidString(name) {
		return false
	}
	for _, r := range name {
		if r == '/' || unicode.IsSpace(r) || !unicode.IsPrint(r) {
			return false
		}
	}
	return true
}

func sortedKeys(m map[string]string) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}
