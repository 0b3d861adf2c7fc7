package config_test

import (
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

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
		c := defaults()
		err := config.Decode("fuzz.conf", data, &c)
		if err == nil {
			return
		}
		for line := range strings.SplitSeq(err.Error(), "\n") {
			if !strings.HasPrefix(line, "fuzz.conf:") {
				t.Fatalf("Decode(%q) error line %q does not start with the file name", data, line)
			}
		}
		if !reflect.DeepEqual(c, defaults()) {
			t.Fatalf("Decode(%q) = %v changed the value to %+v", data, err, c)
		}
	})
}
