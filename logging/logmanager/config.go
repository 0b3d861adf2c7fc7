package logmanager

import (
	"fmt"
	"strings"

	"gopkg.in/yaml.v3"

	"github.com/plinth-go/plinth/infra/config"
	"github.com/plinth-go/plinth/logging"
)

// Config is the content of logs.conf. A zero Config is valid and changes
// nothing.
type Config struct {
	// DefaultLevel is the level of every logger without a level of its
	// own. If nil, the registry's default (info) is kept.
	DefaultLevel *logging.Level `yaml:"default-level"`
	// Loggers set the levels of single loggers, including loggers created
	// after Init: a listed logger gets its level when it is created.
	Loggers []LoggerConfig `yaml:"loggers"`
	// Hooks forward records to external systems, keyed by hook name:
	// "syslog", "logstash", "fluentd" (or "fluent"), or the name of a hook
	// registered in code (see WithHook).
	Hooks map[string]HookConfig `yaml:"hooks"`
}

// LoggerConfig is one entry of Config.Loggers.
type LoggerConfig struct {
	// Name is the logger name; "etcd" also covers "etcd.watch" unless that
	// one has its own entry.
	Name string `yaml:"name"`
	// Level is the logger's level.
	Level logging.Level `yaml:"level"`
}

// HookConfig configures one hook. Which keys matter depends on the hook;
// unused ones are ignored.
type HookConfig struct {
	// Address is where records go: host:port for tcp and udp, a socket path
	// for unix and unixgram. For syslog, empty means the local syslog
	// daemon. For fluentd the default is 127.0.0.1:24224; logstash needs
	// one.
	Address string `yaml:"address"`
	// Port, if not zero, replaces or adds the port of Address, for configs
	// written for cn-infra, which kept them apart.
	Port int `yaml:"port"`
	// Network is tcp, udp (not for fluentd), unix or unixgram (syslog
	// only). If empty: tcp, except udp for a remote syslog.
	Network string `yaml:"network"`
	// Protocol is another name for Network, as cn-infra spelt it; set one
	// of the two.
	Protocol string `yaml:"protocol"`
	// Tag names the agent in the external system: the syslog tag, the
	// Fluentd tag and the Logstash "type" field. If empty, the microservice
	// label is used.
	Tag string `yaml:"tag"`
	// Levels are the levels forwarded. If empty: panic, fatal and error.
	Levels []logging.Level `yaml:"levels"`
	// QueueSize bounds the records waiting to be sent; when full, new
	// records are dropped and counted. If zero, 1024.
	QueueSize int `yaml:"queue-size"`
	// RequireAckResponse makes the fluentd hook ask Fluentd to acknowledge
	// each record (the forward protocol's chunk option, Fluentd's
	// require_ack_response): a record counts as sent only once
	// acknowledged, and one whose acknowledgement does not come within 2s
	// is sent again, so records reach Fluentd at least once while retried
	// (possibly twice) instead of at most once. Each record then waits for
	// a round trip. Only fluentd supports it; false by default.
	RequireAckResponse bool `yaml:"require-ack-response"`
}

// DefaultHookLevels are the levels a hook forwards when its config lists
// none.
func DefaultHookLevels() []logging.Level {
	return []logging.Level{logging.PanicLevel, logging.FatalLevel, logging.ErrorLevel}
}

// network returns the configured network, lower-cased, or def.
func (h HookConfig) network(def string) string {
	n := h.Network
	if n == "" {
		n = h.Protocol
	}
	if n == "" {
		return def
	}
	return strings.ToLower(n)
}

// address returns Address with Port applied.
func (h HookConfig) address() string {
	if h.Port == 0 {
		return h.Address
	}
	host := h.Address
	if i := strings.LastIndexByte(host, ':'); i >= 0 && !strings.HasSuffix(host, "]") {
		host = host[:i]
	}
	host = strings.TrimSuffix(strings.TrimPrefix(host, "["), "]")
	if strings.Contains(host, ":") {
		return fmt.Sprintf("[%s]:%d", host, h.Port)
	}
	return fmt.Sprintf("%s:%d", host, h.Port)
}

// The file is decoded into these mirrors of Config, whose levels report the
// line of a bad value; config.Decode places type errors but not errors of
// a TextUnmarshaler.
type fileConfig struct {
	DefaultLevel *fileLevel          `yaml:"default-level"`
	Loggers      []fileLogger        `yaml:"loggers"`
	Hooks        map[string]fileHook `yaml:"hooks"`
}

type fileLogger struct {
	Name  string    `yaml:"name"`
	Level fileLevel `yaml:"level"`
}

type fileHook struct {
	Address   string      `yaml:"address"`
	Port      int         `yaml:"port"`
	Network   string      `yaml:"network"`
	Protocol  string      `yaml:"protocol"`
	Tag       string      `yaml:"tag"`
	Levels    []fileLevel `yaml:"levels"`
	QueueSize int         `yaml:"queue-size"`
	// RequireAckResponse is HookConfig.RequireAckResponse.
	RequireAckResponse bool `yaml:"require-ack-response"`
}

type fileLevel logging.Level

func (l *fileLevel) UnmarshalYAML(n *yaml.Node) error {
	if n.Kind != yaml.ScalarNode {
		return &yaml.TypeError{Errors: []string{fmt.Sprintf("line %d: a level must be a name such as info, not a %s", n.Line, kindName(n.Kind))}}
	}
	v, err := logging.ParseLevel(n.Value)
	if err != nil {
		return &yaml.TypeError{Errors: []string{fmt.Sprintf("line %d: %v", n.Line, err)}}
	}
	*l = fileLevel(v)
	return nil
}

func kindName(k yaml.Kind) string {
	switch k {
	case yaml.SequenceNode:
		return "list"
	case yaml.MappingNode:
		return "mapping"
	}
	return "value"
}

func (f fileConfig) config() Config {
	var c Config
	if f.DefaultLevel != nil {
		l := logging.Level(*f.DefaultLevel)
		c.DefaultLevel = &l
	}
	for _, lg := range f.Loggers {
		c.Loggers = append(c.Loggers, LoggerConfig{Name: lg.Name, Level: logging.Level(lg.Level)})
	}
	if f.Hooks != nil {
		c.Hooks = make(map[string]HookConfig, len(f.Hooks))
	}
	for name, h := range f.Hooks {
		hc := HookConfig{
			Address: h.Address, Port: h.Port, Network: h.Network, Protocol: h.Protocol,
			Tag: h.Tag, QueueSize: h.QueueSize, RequireAckResponse: h.RequireAckResponse,
		}
		for _, l := range h.Levels {
			hc.Levels = append(hc.Levels, logging.Level(l))
		}
		c.Hooks[name] = hc
	}
	return c
}

// loadFile decodes logs.conf through the plugin's config.
func loadFile(cfg config.PluginConfig) (Config, bool, error) {
	var f fileConfig
	found, err := cfg.LoadValue(&f)
	if err != nil || !found {
		return Config{}, found, err
	}
	return f.config(), true, nil
}

// checkConfig reports what strict decoding cannot see: empty logger names,
// unknown hooks and bad hook settings. Each problem is a *config.Error
// naming the line when the file is known.
func (p *Plugin) checkConfig(c Config, file string) error {
	var lines map[string]int
	if file != "" {
		lines = keyLines(file)
	}
	name := file
	if name == "" {
		name = "logs config"
	}
	var errs []error
	bad := func(key, format string, args ...any) {
		errs = append(errs, &config.Error{File: name, Line: lineOf(lines, key), Key: key, Msg: fmt.Sprintf("key %q: ", key) + fmt.Sprintf(format, args...)})
	}
	for i, lg := range c.Loggers {
		if strings.TrimSpace(lg.Name) == "" {
			bad(fmt.Sprintf("loggers[%d].name", i), "a logger needs a name")
		}
	}
	for hook, hc := range c.Hooks {
		key := "hooks." + hook
		if hc.Network != "" && hc.Protocol != "" && !strings.EqualFold(hc.Network, hc.Protocol) {
			bad(key, "network %q and protocol %q disagree; set one", hc.Network, hc.Protocol)
			continue
		}
		if hc.QueueSize < 0 {
			bad(key+".queue-size", "must not be negative, got %d", hc.QueueSize)
		}
		if hc.RequireAckResponse && (hook == HookSyslog || hook == HookLogstash) {
			bad(key+".require-ack-response", "%s has no acknowledgements; only fluentd has", hook)
		}
		if err := p.checkHook(hook, hc); err != nil {
			bad(key, "%v", err)
		}
	}
	return joinSorted(errs)
}

// keyLines maps the dotted keys of the YAML file at path ("hooks.syslog",
// "loggers[1].name") to their lines. It is best effort: a file that cannot
// be read or parsed gives no lines, and errors then name the file only.
func keyLines(path string) map[string]int {
	data, err := config.ReadFile(path, 0)
	if err != nil {
		return nil
	}
	var doc yaml.Node
	if yaml.Unmarshal(data, &doc) != nil || len(doc.Content) == 0 {
		return nil
	}
	lines := make(map[string]int)
	var walk func(prefix string, n *yaml.Node)
	walk = func(prefix string, n *yaml.Node) {
		switch n.Kind {
		case yaml.MappingNode:
			for i := 0; i+1 < len(n.Content); i += 2 {
				k := n.Content[i].Value
				if prefix != "" {
					k = prefix + "." + k
				}
				lines[k] = n.Content[i].Line
				walk(k, n.Content[i+1])
			}
		case yaml.SequenceNode:
			for i, c := range n.Content {
				k := fmt.Sprintf("%s[%d]", prefix, i)
				lines[k] = c.Line
				walk(k, c)
			}
		}
	}
	walk("", doc.Content[0])
	return lines
}

// lineOf returns the line of key or, for a key missing from the file (a
// required one), of its nearest parent.
func lineOf(lines map[string]int, key string) int {
	for key != "" {
		if l, ok := lines[key]; ok {
			return l
		}
		i := strings.LastIndexAny(key, ".[")
		if i < 0 {
			break
		}
		key = key[:i]
	}
	return 0
}
