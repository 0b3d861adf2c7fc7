package config

import (
	"errors"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
)

// Names of the settings that locate the config directory.
const (
	// DirFlag is the flag naming the config directory.
	DirFlag = "config-dir"
	// DirEnv is the environment variable naming the config directory when
	// DirFlag is not set.
	DirEnv = "CONFIG_DIR"
	// DefaultDir is the config directory when neither DirFlag nor DirEnv is set.
	DefaultDir = "."
)

// ErrNotFound is wrapped by the error returned when a config file or
// directory named explicitly (by a flag, an environment variable or a
// LoadFile call) does not exist. The default file of a plugin may be missing
// without an error.
var ErrNotFound = errors.New("config file not found")

// PluginConfig is a plugin's view of its configuration.
type PluginConfig interface {
	// LoadValue decodes the plugin's config file into v, a pointer to a
	// struct holding the defaults. It returns found=false and a nil error
	// when no file was named and the default file does not exist. A file
	// named by a flag or an environment variable that does not exist is an
	// error wrapping ErrNotFound. Decoding is strict (see Decode).
	LoadValue(v any) (found bool, err error)
	// GetConfigName returns the path of the plugin's config file, or ""
	// when no file was named and the default file does not exist.
	GetConfigName() string
	// Lookup returns the value of the command-line flag flagName if it was
	// set on the command line, else the value of the environment variable
	// envName if it is not empty. Either name may be "" to skip that source.
	Lookup(flagName, envName string) (value string, ok bool)
}

// FlagName returns the flag naming the config file of plugin:
// "<plugin in lower case>-config".
func FlagName(plugin string) string {
	return strings.ToLower(plugin) + "-config"
}

// EnvVar returns the environment variable naming the config file of plugin:
// the name in upper case with '-' and '.' replaced by '_', followed by
// "_CONFIG" ("service-label" gives "SERVICE_LABEL_CONFIG").
func EnvVar(plugin string) string {
	r := strings.NewReplacer("-", "_", ".", "_")
	return r.Replace(strings.ToUpper(plugin)) + "_CONFIG"
}

// Filename returns the default config file name of plugin: "<plugin>.conf".
func Filename(plugin string) string {
	return plugin + ".conf"
}

// Source locates the config files of one agent's plugins. It reads flags from
// the agent's FlagSet and variables from the agent's environment; it owns no
// global state. Create it with NewSource.
type Source struct {
	fs     *flag.FlagSet // nil: the environment alone is consulted
	getenv func(string) string

	mu      sync.Mutex
	plugins map[string]*pluginConfig // guarded by mu
}

// NewSource returns a Source reading flags from fs and environment variables
// through getenv, and registers the -config-dir flag on fs. If getenv is nil,
// os.Getenv is used. If fs is nil, no flags are registered and only the
// environment is consulted. A flag already defined on fs under the same name
// is reused rather than redefined.
func NewSource(fs *flag.FlagSet, getenv func(string) string) *Source {
	if getenv == nil {
		getenv = os.Getenv
	}
	if fs != nil && fs.Lookup(DirFlag) == nil {
		fs.String(DirFlag, DefaultDir,
			"directory holding the plugins' config files; relative config paths are taken from it (env "+DirEnv+")")
	}
	return &Source{fs: fs, getenv: getenv, plugins: make(map[string]*pluginConfig)}
}

// ForPlugin returns the configuration of the plugin called name. The first
// call for a name registers the flag FlagName(name) on the FlagSet, so it
// must happen before the FlagSet is parsed; later calls return the same
// PluginConfig. ForPlugin panics if name is empty.
func (s *Source) ForPlugin(name string) PluginConfig {
	if name == "" {
		panic("config: ForPlugin called with an empty plugin name")
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if c, ok := s.plugins[name]; ok {
		return c
	}
	c := &pluginConfig{src: s, name: name, flag: FlagName(name), env: EnvVar(name)}
	if s.fs != nil && s.fs.Lookup(c.flag) == nil {
		s.fs.String(c.flag, Filename(name), fmt.Sprintf(
			"config file of the %s plugin, relative to -%s (env %s)", name, DirFlag, c.env))
	}
	s.plugins[name] = c
	return c
}

// Dir returns the config directory: the -config-dir flag if it was set on
// the command line, else the CONFIG_DIR environment variable if it is not
// empty, else ".".
func (s *Source) Dir() string {
	dir, _ := s.dir()
	return dir
}

// dir returns the config directory and where it was named ("" for the
// default).
func (s *Source) dir() (dir, origin string) {
	if v, ok := s.flagValue(DirFlag); ok {
		if v == "" {
			return DefaultDir, ""
		}
		return v, "flag -" + DirFlag
	}
	if v := s.getenv(DirEnv); v != "" {
		return v, "env " + DirEnv
	}
	return DefaultDir, ""
}

// flagValue returns the value of the flag name if it was set on the command
// line. Flags keeping their default value do not count: a default must never
// beat the config file.
func (s *Source) flagValue(name string) (string, bool) {
	if s.fs == nil || name == "" {
		return "", false
	}
	var (
		value string
		set   bool
	)
	s.fs.Visit(func(f *flag.Flag) {
		if f.Name == name {
			value, set = f.Value.String(), true
		}
	})
	return value, set
}

// lookup implements PluginConfig.Lookup.
func (s *Source) lookup(flagName, envName string) (string, bool) {
	if v, ok := s.flagValue(flagName); ok {
		return v, true
	}
	if envName != "" {
		if v := s.getenv(envName); v != "" {
			return v, true
		}
	}
	return "", false
}

type pluginConfig struct {
	src  *Source
	name string
	flag string
	env  string
}

var _ PluginConfig = (*pluginConfig)(nil)

// location is a resolved config file.
type location struct {
	path   string // "" when the file is turned off
	origin string // "flag -x-config", "env X_CONFIG" or "" for the default file
	dir    string // the config dir used for a relative path, else ""
	dirSrc string // where dir was named, "" for the default
}

// resolve finds the config file. It runs on every call rather than once,
// because flags may be parsed, and the environment changed, after
// ForPlugin; it is cheap.
func (c *pluginConfig) resolve() location {
	var loc location
	if v, ok := c.src.flagValue(c.flag); ok {
		if v == "" {
			return loc
		}
		loc.path, loc.origin = v, "flag -"+c.flag
	} else if v := c.src.getenv(c.env); v != "" {
		loc.path, loc.origin = v, "env "+c.env
	} else {
		loc.path = Filename(c.name)
	}
	if !filepath.IsAbs(loc.path) {
		loc.dir, loc.dirSrc = c.src.dir()
		loc.path = filepath.Join(loc.dir, loc.path)
	}
	return loc
}

func (c *pluginConfig) GetConfigName() string {
	loc := c.resolve()
	if loc.origin == "" && loc.path != "" {
		if _, err := os.Stat(loc.path); err != nil {
			return ""
		}
	}
	return loc.path
}

func (c *pluginConfig) Lookup(flagName, envName string) (string, bool) {
	return c.src.lookup(flagName, envName)
}

func (c *pluginConfig) LoadValue(v any) (bool, error) {
	loc := c.resolve()
	if loc.path == "" {
		return false, nil
	}
	data, err := ReadFile(loc.path, 0)
	if err != nil {
		if !errors.Is(err, os.ErrNotExist) {
			if loc.origin != "" {
				return false, fmt.Errorf("config: %s config file (named by %s): %w", c.name, loc.origin, err)
			}
			return false, fmt.Errorf("config: %s config file: %w", c.name, err)
		}
		// A misspelt config dir would otherwise make every default file
		// silently "missing"; report the directory instead.
		if loc.dirSrc != "" {
			if _, derr := os.Stat(loc.dir); derr != nil {
				return false, &notFoundError{what: "config dir " + loc.dir, origin: loc.dirSrc, err: derr}
			}
		}
		if loc.origin == "" {
			return false, nil
		}
		return false, &notFoundError{what: c.name + " config file " + loc.path, origin: loc.origin, err: err}
	}
	if err := decode(loc.path, c.name, data, v); err != nil {
		return true, err
	}
	return true, nil
}

// notFoundError reports a config file or directory that was named but does
// not exist. It matches both ErrNotFound and the underlying fs error.
type notFoundError struct {
	what   string // "etcd config file /etc/agent/etcd.conf"
	origin string // "flag -etcd-config"; "" for LoadFile
	err    error
}

func (e *notFoundError) Error() string {
	if e.origin == "" {
		return fmt.Sprintf("config: %s does not exist", e.what)
	}
	return fmt.Sprintf("config: %s (named by %s) does not exist", e.what, e.origin)
}

func (e *notFoundError) Unwrap() []error { return []error{ErrNotFound, e.err} }
