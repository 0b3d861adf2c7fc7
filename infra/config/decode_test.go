package config_test

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"strconv"
	"strings"
	"testing"
	"time"

	"gopkg.in/yaml.v3"

	"github.com/plinth-go/plinth/infra/config"
)

// etcdConfig is representative of plugin configs: nested struct, slice of
// structs, duration, int, bool and map.
type etcdConfig struct {
	Endpoints   []string          `yaml:"endpoints"`
	DialTimeout time.Duration     `yaml:"dial-timeout"`
	MaxRetries  int               `yaml:"max-retries"`
	Insecure    bool              `yaml:"insecure-transport"`
	TLS         tlsConfig         `yaml:"tls"`
	Peers       []peer            `yaml:"peers"`
	Labels      map[string]string `yaml:"labels"`
	Weights     map[string]int    `yaml:"weights"`
	Port        *uint16           `yaml:"port"`
	// Meta and Colors take any YAML and enum text, so that the fuzz target
	// reaches interface values and types that decode themselves.
	Meta   map[string]any `yaml:"meta,omitempty"`
	Colors []color        `yaml:"colors,omitempty"`
}

type tlsConfig struct {
	CertFile string `yaml:"cert-file"`
	Enabled  bool   `yaml:"enabled"`
}

type peer struct {
	Name    string        `yaml:"name"`
	Port    int           `yaml:"port"`
	Timeout time.Duration `yaml:"timeout"`
}

func defaults() etcdConfig {
	return etcdConfig{
		Endpoints:   []string{"127.0.0.1:2379"},
		DialTimeout: time.Second,
		MaxRetries:  3,
		TLS:         tlsConfig{CertFile: "default.pem"},
	}
}

func TestDecodeOverridesOnlyKeysPresent(t *testing.T) {
	got := defaults()
	data := "dial-timeout: 5s\ntls:\n  enabled: true\npeers:\n  - name: a\n    timeout: 1m30s\n"
	if err := config.Decode("etcd.conf", []byte(data), &got); err != nil {
		t.Fatalf("Decode: %v", err)
	}
	want := defaults()
	want.DialTimeout = 5 * time.Second
	want.TLS.Enabled = true
	want.Peers = []peer{{Name: "a", Timeout: 90 * time.Second}}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("Decode = %+v, want %+v", got, want)
	}
}

func TestDecodeEmptyDataKeepsDefaults(t *testing.T) {
	for _, data := range []string{"", "\n", "# only a comment\n", "---\n"} {
		got := defaults()
		if err := config.Decode("etcd.conf", []byte(data), &got); err != nil {
			t.Errorf("Decode(%q): %v", data, err)
		}
		if !reflect.DeepEqual(got, defaults()) {
			t.Errorf("Decode(%q) = %+v, want defaults", data, got)
		}
	}
}

func TestDecodeRejectsWithFileLineAndKey(t *testing.T) {
	tests := []struct {
		name string
		data string
		want string
	}{
		{
			name: "unknown key",
			data: "max-retries: 1\n\nendpiont: x\n",
			want: `etcd.conf:3: unknown key "endpiont" in etcd config`,
		},
		{
			name: "unknown nested key",
			data: "tls:\n  cert-fiel: a.pem\n",
			want: `etcd.conf:2: unknown key "tls.cert-fiel" in etcd config`,
		},
		{
			name: "unknown key in list item",
			data: "peers:\n  - name: a\n  - name: b\n    prot: 1\n",
			want: `etcd.conf:4: unknown key "peers[1].prot" in etcd config`,
		},
		{
			name: "bad duration",
			data: "max-retries: 1\ndial-timeout: 5x\n",
			want: `etcd.conf:2: key "dial-timeout": cannot parse "5x" as duration`,
		},
		{
			name: "duration without unit",
			data: "dial-timeout: 5\n",
			want: `etcd.conf:1: key "dial-timeout": cannot parse 5 as duration: a duration needs a unit, e.g. "5s"`,
		},
		{
			name: "quoted duration without unit",
			data: "peers:\n  - timeout: \"30\"\n",
			want: `etcd.conf:2: key "peers[0].timeout": cannot parse "30" as duration: a duration needs a unit, e.g. "5s"`,
		},
		{
			name: "bad int",
			data: "max-retries: three\n",
			want: `etcd.conf:1: key "max-retries": cannot parse "three" as int`,
		},
		{
			name: "long bad value is shown in full",
			data: "max-retries: three-or-maybe-four\n",
			want: `etcd.conf:1: key "max-retries": cannot parse "three-or-maybe-four" as int`,
		},
		{
			name: "int out of range",
			data: "port: 70000\n",
			want: `etcd.conf:1: key "port": cannot parse 70000 as uint16: out of range`,
		},
		{
			name: "bad bool",
			data: "tls:\n  enabled: maybe\n",
			want: `etcd.conf:2: key "tls.enabled": cannot parse "maybe" as bool`,
		},
		{
			name: "bad map value",
			data: "weights: {a: 1, b: x}\n",
			want: `etcd.conf:1: key "weights.b": cannot parse "x" as int`,
		},
		{
			name: "list where a mapping belongs",
			data: "labels: [a, b]\n",
			want: `etcd.conf:1: key "labels": expected a mapping, got a list`,
		},
		{
			name: "scalar where a list belongs",
			data: "endpoints: 127.0.0.1:2379\n",
			want: `etcd.conf:1: key "endpoints": expected a list, got "127.0.0.1:2379"`,
		},
		{
			name: "list where a scalar belongs",
			data: "tls:\n  cert-file: [a]\n",
			want: `etcd.conf:2: key "tls.cert-file": expected string, got a list`,
		},
		{
			name: "not a mapping",
			data: "hello\n",
			want: `etcd.conf:1: expected a mapping, got "hello"`,
		},
		{
			name: "duplicate key",
			data: "max-retries: 1\nmax-retries: 2\n",
			want: `etcd.conf:2: duplicate key "max-retries", first set at line 1`,
		},
		{
			name: "unterminated quote",
			data: "max-retries: 1\ntls:\n  cert-file: \"a.pem\n  enabled: true\n",
			want: `etcd.conf:3: invalid YAML near key "cert-file": found unexpected end of stream`,
		},
		{
			name: "tab indentation",
			data: "tls:\n\tenabled: true\n",
			want: `etcd.conf:2: invalid YAML near key "enabled": found character that cannot start any token`,
		},
		{
			name: "mapping on first line",
			data: "max-retries: retries: 1\n",
			want: `etcd.conf:1: invalid YAML near key "max-retries": mapping values are not allowed in this context`,
		},
		{
			name: "error after a multi-line flow list",
			data: "endpoints: [a,\n  b]\ninsecure-transport: : true\n",
			want: `etcd.conf:3: invalid YAML near key "insecure-transport": mapping values are not allowed in this context`,
		},
		{
			name: "second document",
			data: "max-retries: 1\n---\nmax-retries: 2\n",
			want: `etcd.conf:2: found a second YAML document; a config file holds one`,
		},
		{
			name: "bad value in a merged mapping",
			data: "peers:\n  - <<: {name: a, port: x}\n    timeout: 1s\n",
			want: `etcd.conf:2: key "peers[0].port": cannot parse "x" as int`,
		},
		{
			name: "bad value behind an alias is reported at the anchor",
			data: "peers:\n  - &p {name: a, port: 1}\n  - *p\ndial-timeout: &t 5x\n",
			want: `etcd.conf:4: key "dial-timeout": cannot parse "5x" as duration`,
		},
		{
			name: "unknown key in a merged mapping",
			data: "peers:\n  - name: a\n    <<: {prot: 1}\n",
			want: `etcd.conf:3: unknown key "peers[0].prot" in etcd config`,
		},
		{
			name: "merge of a scalar",
			data: "tls:\n  <<: x\n",
			want: `etcd.conf:2: key "tls": a merge (<<) needs a mapping or a list of mappings`,
		},
		{
			name: "list item of the wrong kind",
			data: "peers:\n  - name: a\n  - 3\n",
			want: `etcd.conf:3: key "peers[1]": expected a mapping, got 3`,
		},
		{
			name: "list inside a list of strings",
			data: "endpoints:\n  - a\n  - [b]\n",
			want: `etcd.conf:3: key "endpoints[1]": expected string, got a list`,
		},
		{
			name: "list as a map key",
			data: "weights:\n  ? [a, b]\n  : 1\n",
			want: `etcd.conf:2: key "weights": a key must be a scalar, got a list`,
		},
		{
			name: "duplicate key in a nested mapping",
			data: "tls:\n  enabled: true\n\n  enabled: false\n",
			want: `etcd.conf:4: duplicate key "tls.enabled", first set at line 2`,
		},
		{
			name: "duplicate key in a list item",
			data: "peers:\n  - name: a\n    port: 1\n    port: 2\n",
			want: `etcd.conf:4: duplicate key "peers[0].port", first set at line 3`,
		},
		{
			name: "duplicate key reports no problem inside the mapping",
			data: "tls: {enabled: maybe, enabled: no}\n",
			want: `etcd.conf:1: duplicate key "tls.enabled", first set at line 1`,
		},
		{
			name: "several problems, one per line",
			data: "dial-timeout: 5x\nmax-retries: three\nendpiont: x\n",
			want: `etcd.conf:1: key "dial-timeout": cannot parse "5x" as duration` + "\n" +
				`etcd.conf:2: key "max-retries": cannot parse "three" as int` + "\n" +
				`etcd.conf:3: unknown key "endpiont" in etcd config`,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := defaults()
			err := config.Decode("etcd.conf", []byte(tt.data), &got)
			if err == nil {
				t.Fatalf("Decode(%q) = nil, want %q", tt.data, tt.want)
			}
			if err.Error() != tt.want {
				t.Errorf("Decode(%q) =\n%s\nwant\n%s", tt.data, err, tt.want)
			}
			var e *config.Error
			if !errors.As(err, &e) || e.File != "etcd.conf" || e.Line == 0 {
				t.Errorf("Decode(%q) error %#v lacks file or line", tt.data, e)
			}
			if !reflect.DeepEqual(got, defaults()) {
				t.Errorf("Decode(%q) changed the value to %+v despite the error", tt.data, got)
			}
		})
	}
}

func TestErrorCarriesKeyAndLine(t *testing.T) {
	var c etcdConfig
	err := config.Decode("/etc/agent/etcd.conf", []byte("peers:\n  - port: x\n"), &c)
	var e *config.Error
	if !errors.As(err, &e) {
		t.Fatalf("Decode error %v is not an *Error", err)
	}
	want := config.Error{File: "/etc/agent/etcd.conf", Line: 2, Key: "peers[0].port", Msg: `key "peers[0].port": cannot parse "x" as int`}
	if *e != want {
		t.Errorf("Decode error = %#v, want %#v", *e, want)
	}
}

func TestDecodeNeedsNonNilPointer(t *testing.T) {
	var nilPtr *etcdConfig
	for _, v := range []any{etcdConfig{}, nilPtr, nil} {
		err := config.Decode("etcd.conf", []byte("max-retries: 1\n"), v)
		if err == nil || !strings.HasPrefix(err.Error(), "etcd.conf: cannot decode into") {
			t.Errorf("Decode into %T = %v, want an error", v, err)
		}
	}
}

func TestLoadFileMissingIsNotFound(t *testing.T) {
	path := filepath.Join(t.TempDir(), "nope.conf")
	var c etcdConfig
	err := config.LoadFile(path, &c)
	if !errors.Is(err, config.ErrNotFound) {
		t.Fatalf("LoadFile(%q) = %v, want ErrNotFound", path, err)
	}
	if want := "config: config file " + path + " does not exist"; err.Error() != want {
		t.Errorf("LoadFile(%q) = %q, want %q", path, err, want)
	}
}

func TestSaveThenLoadFileRoundTrips(t *testing.T) {
	path := filepath.Join(t.TempDir(), "etcd.conf")
	port := uint16(2379)
	want := etcdConfig{
		Endpoints:   []string{"a:1", "b:2"},
		DialTimeout: 1500 * time.Millisecond,
		MaxRetries:  5,
		Insecure:    true,
		TLS:         tlsConfig{CertFile: "c.pem", Enabled: true},
		Peers:       []peer{{Name: "p", Port: 1, Timeout: time.Minute}},
		Labels:      map[string]string{"zone": "a"},
		Weights:     map[string]int{"a": 1},
		Port:        &port,
	}
	if err := config.Save(path, want, 0o644); err != nil {
		t.Fatalf("Save: %v", err)
	}
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if fi.Mode().Perm() != 0o644 {
		t.Errorf("Save wrote mode %v, want 0644", fi.Mode().Perm())
	}
	var got etcdConfig
	if err := config.LoadFile(path, &got); err != nil {
		t.Fatalf("LoadFile: %v", err)
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("LoadFile after Save = %+v, want %+v", got, want)
	}
}

// color decodes itself from text and refuses unknown names, as enums such
// as log levels do.
type color string

func (c *color) UnmarshalText(b []byte) error {
	switch string(b) {
	case "red", "green":
		*c = color(b)
		return nil
	}
	return fmt.Errorf("unknown color %q", b)
}

type paintConfig struct {
	Main   color   `yaml:"main"`
	Others []color `yaml:"others"`
	Spare  *color  `yaml:"spare"`
}

func TestTextUnmarshalerErrorsNameTheKeyAndLine(t *testing.T) {
	tests := []struct{ name, data, want string }{
		{"field", "main: blue\n", `paint.conf:1: key "main": unknown color "blue"`},
		{"pointer field", "main: red\nspare: teal\n", `paint.conf:2: key "spare": unknown color "teal"`},
		// The type's message names the value, so the list's key is enough.
		{"list item", "others:\n  - red\n  - pink\n", `paint.conf:3: key "others": unknown color "pink"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var c paintConfig
			err := config.Decode("paint.conf", []byte(tt.data), &c)
			if err == nil || err.Error() != tt.want {
				t.Errorf("Decode(%q) = %v, want %s", tt.data, err, tt.want)
			}
		})
	}
}

// acksConfig checks its settings like the Kafka client config does: a string
// that must name one of a few choices.
type acksConfig struct {
	Addr string `yaml:"addr"`
	Acks string `yaml:"required-acks"`
	TLS  struct {
		Enabled bool   `yaml:"enabled"`
		CA      string `yaml:"ca-file"`
	} `yaml:"tls"`
}

type keyError struct{ key, msg string }

func (e *keyError) Error() string     { return fmt.Sprintf("setting %s: %s", e.key, e.msg) }
func (e *keyError) ConfigKey() string { return e.key }

func (c *acksConfig) CheckConfig() error {
	var errs []error
	switch c.Acks {
	case "all", "local", "none":
	default:
		errs = append(errs, &keyError{"required-acks", fmt.Sprintf("%q is none of all, local, none", c.Acks)})
	}
	if c.TLS.Enabled && c.TLS.CA == "" {
		errs = append(errs, fmt.Errorf("wrapped: %w", &keyError{"tls.ca-file", "needed with tls.enabled"}))
	}
	if c.Addr == "" {
		errs = append(errs, errors.New("no addr"))
	}
	return errors.Join(errs...)
}

var _ config.Checker = (*acksConfig)(nil)

func TestCheckerErrorsNameTheLineOfTheirKey(t *testing.T) {
	tests := []struct{ name, data, want string }{
		{"valid", "addr: a\nrequired-acks: local\n", ""},
		{"bad choice", "addr: a\n\nrequired-acks: maybe\n", `acks.conf:3: setting required-acks: "maybe" is none of all, local, none`},
		{"default that the file does not set", "addr: a\n", `acks.conf: setting required-acks: "" is none of all, local, none`},
		{
			"several, nested and without a key",
			"required-acks: 1\ntls:\n  enabled: true\n",
			`acks.conf:1: setting required-acks: "1" is none of all, local, none` + "\n" +
				`acks.conf: wrapped: setting tls.ca-file: needed with tls.enabled` + "\n" +
				`acks.conf: no addr`,
		},
		{"nested key in the file", "addr: a\nrequired-acks: all\ntls:\n  enabled: true\n  ca-file: \"\"\n",
			`acks.conf:5: wrapped: setting tls.ca-file: needed with tls.enabled`},
		{"type errors come first", "addr: a\nrequired-acks: [x]\n", `acks.conf:2: key "required-acks": expected string, got a list`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var c acksConfig
			err := config.Decode("acks.conf", []byte(tt.data), &c)
			got := ""
			if err != nil {
				got = err.Error()
			}
			if got != tt.want {
				t.Errorf("Decode(%q) =\n%s\nwant\n%s", tt.data, got, tt.want)
			}
			var e *config.Error
			if err != nil && !errors.As(err, &e) {
				t.Errorf("Decode(%q) error %v is not an *Error", tt.data, err)
			}
		})
	}
}

type inlineConfig struct {
	Base  tlsConfig `yaml:",inline"`
	Extra int       `yaml:"extra"`
	Plain int
}

func TestErrorsFollowInlineAndUntaggedFields(t *testing.T) {
	var c inlineConfig
	err := config.Decode("x.conf", []byte("enabled: nope\nplain: x\n"), &c)
	want := `x.conf:1: key "enabled": cannot parse "nope" as bool` + "\n" +
		`x.conf:2: key "plain": cannot parse "x" as int`
	if err == nil || err.Error() != want {
		t.Errorf("Decode = %v, want %q", err, want)
	}
}

func FuzzDecode(f *testing.F) {
	// The committed corpus in testdata/fuzz/FuzzDecode covers valid files,
	// each kind of error and YAML features (anchors, flow style, tags).
	f.Add([]byte("dial-timeout: 5s\npeers:\n  - name: a\n    port: 1\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		// The walk of the node tree that places problems agrees with
		// yaml.v3: it finds none in what yaml.v3 accepts, and places at
		// least one when yaml.v3 refuses a value (rather than failing on
		// the document as a whole).
		placed, yamlErr, parsed := config.Locate(data, &etcdConfig{})
		var te *yaml.TypeError
		switch {
		case parsed && yamlErr == nil && len(placed) > 0:
			t.Fatalf("Decode(%q): yaml.v3 accepts it, but the walk places %v", data, placed[0])
		case parsed && errors.As(yamlErr, &te) && len(placed) == 0:
			t.Fatalf("Decode(%q): yaml.v3 refuses it (%v), but the walk places nothing", data, yamlErr)
		}
		c := defaults()
		err := config.Decode("fuzz.conf", data, &c)
		if err == nil {
			return
		}
		// Every problem names the file and a line.
		for line := range strings.SplitSeq(err.Error(), "\n") {
			rest, ok := strings.CutPrefix(line, "fuzz.conf:")
			num, _, _ := strings.Cut(rest, ":")
			if n, err := strconv.Atoi(num); !ok || err != nil || n < 1 {
				t.Fatalf("Decode(%q) error line %q does not start with the file name and a line", data, line)
			}
		}
		if !reflect.DeepEqual(c, defaults()) {
			t.Fatalf("Decode(%q) = %v changed the value to %+v", data, err, c)
		}
	})
}
