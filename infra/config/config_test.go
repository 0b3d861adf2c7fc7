package config_test

import (
	"errors"
	"flag"
	"io"
	"os"
	"path/filepath"
	"testing"

	"go.uber.org/goleak"

	"github.com/plinth-go/plinth/infra/config"
)

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}

// env is a fake environment for a Source.
type env map[string]string

func (e env) get(k string) string { return e[k] }

// newSource returns a Source on a fresh FlagSet with the http plugin
// registered, after parsing args.
func newSource(t *testing.T, e env, args ...string) (*config.Source, config.PluginConfig) {
	t.Helper()
	fs := flag.NewFlagSet("agent", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	fs.String("http-endpoint", "0.0.0.0:9191", "listen address")
	src := config.NewSource(fs, e.get)
	cfg := src.ForPlugin("http")
	if err := fs.Parse(args); err != nil {
		t.Fatalf("Parse(%q): %v", args, err)
	}
	return src, cfg
}

func writeFile(t *testing.T, path, data string) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, []byte(data), 0o644); err != nil {
		t.Fatal(err)
	}
}

type httpConfig struct {
	Endpoint string `yaml:"endpoint"`
	Workers  int    `yaml:"workers"`
}

func TestNamesDerivedFromPluginName(t *testing.T) {
	tests := []struct {
		plugin, flag, env, file string
	}{
		{"http", "http-config", "HTTP_CONFIG", "http.conf"},
		{"service-label", "service-label-config", "SERVICE_LABEL_CONFIG", "service-label.conf"},
		{"ETCD", "etcd-config", "ETCD_CONFIG", "ETCD.conf"},
		{"kafka.mux", "kafka.mux-config", "KAFKA_MUX_CONFIG", "kafka.mux.conf"},
		{"process-manager", "process-manager-config", "PROCESS_MANAGER_CONFIG", "process-manager.conf"},
	}
	for _, tt := range tests {
		t.Run(tt.plugin, func(t *testing.T) {
			if got := config.FlagName(tt.plugin); got != tt.flag {
				t.Errorf("FlagName(%q) = %q, want %q", tt.plugin, got, tt.flag)
			}
			if got := config.EnvVar(tt.plugin); got != tt.env {
				t.Errorf("EnvVar(%q) = %q, want %q", tt.plugin, got, tt.env)
			}
			if got := config.Filename(tt.plugin); got != tt.file {
				t.Errorf("Filename(%q) = %q, want %q", tt.plugin, got, tt.file)
			}
		})
	}
}

// TestPrecedenceDefaultsFileEnvFlag pins the documented order: built-in
// defaults < config file < environment < command-line flag.
func TestPrecedenceDefaultsFileEnvFlag(t *testing.T) {
	tests := []struct {
		name string
		file string // contents of http.conf; "" means no file
		env  env
		args []string
		want string
	}{
		{name: "defaults only", want: "default:1"},
		{name: "file beats defaults", file: "endpoint: file:2\n", want: "file:2"},
		{name: "env beats file", file: "endpoint: file:2\n", env: env{"HTTP_ENDPOINT": "env:3"}, want: "env:3"},
		{name: "empty env is unset", file: "endpoint: file:2\n", env: env{"HTTP_ENDPOINT": ""}, want: "file:2"},
		{
			name: "flag beats env", file: "endpoint: file:2\n", env: env{"HTTP_ENDPOINT": "env:3"},
			args: []string{"-http-endpoint", "flag:4"}, want: "flag:4",
		},
		{name: "flag beats defaults", args: []string{"-http-endpoint=flag:4"}, want: "flag:4"},
		{name: "flag default never beats file", file: "endpoint: file:2\n", args: []string{}, want: "file:2"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			if tt.file != "" {
				writeFile(t, filepath.Join(dir, "http.conf"), tt.file)
			}
			e := env{"CONFIG_DIR": dir}
			for k, v := range tt.env {
				e[k] = v
			}
			_, cfg := newSource(t, e, tt.args...)

			c := httpConfig{Endpoint: "default:1"}
			found, err := cfg.LoadValue(&c)
			if err != nil {
				t.Fatalf("LoadValue: %v", err)
			}
			if found != (tt.file != "") {
				t.Errorf("LoadValue found = %v, want %v", found, tt.file != "")
			}
			if v, ok := cfg.Lookup("http-endpoint", "HTTP_ENDPOINT"); ok {
				c.Endpoint = v
			}
			if c.Endpoint != tt.want {
				t.Errorf("Endpoint = %q, want %q", c.Endpoint, tt.want)
			}
		})
	}
}

func TestFileChoiceFlagBeatsEnvBeatsDefault(t *testing.T) {
	dir := t.TempDir()
	writeFile(t, filepath.Join(dir, "http.conf"), "workers: 1\n")
	writeFile(t, filepath.Join(dir, "from-env.yaml"), "workers: 2\n")
	writeFile(t, filepath.Join(dir, "from-flag.yaml"), "workers: 3\n")
	tests := []struct {
		name string
		env  env
		args []string
		want int
		path string
	}{
		{name: "default file", want: 1, path: "http.conf"},
		{name: "env", env: env{"HTTP_CONFIG": "from-env.yaml"}, want: 2, path: "from-env.yaml"},
		{name: "flag", env: env{"HTTP_CONFIG": "from-env.yaml"}, args: []string{"-http-config", "from-flag.yaml"}, want: 3, path: "from-flag.yaml"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := env{"CONFIG_DIR": dir}
			for k, v := range tt.env {
				e[k] = v
			}
			_, cfg := newSource(t, e, tt.args...)
			var c httpConfig
			if found, err := cfg.LoadValue(&c); !found || err != nil {
				t.Fatalf("LoadValue = %v, %v, want true, nil", found, err)
			}
			if c.Workers != tt.want {
				t.Errorf("Workers = %d, want %d", c.Workers, tt.want)
			}
			if got, want := cfg.GetConfigName(), filepath.Join(dir, tt.path); got != want {
				t.Errorf("GetConfigName() = %q, want %q", got, want)
			}
		})
	}
}

func TestConfigDirFromFlagOrEnv(t *testing.T) {
	flagDir, envDir := t.TempDir(), t.TempDir()
	writeFile(t, filepath.Join(flagDir, "http.conf"), "workers: 1\n")
	writeFile(t, filepath.Join(envDir, "http.conf"), "workers: 2\n")
	tests := []struct {
		name    string
		env     env
		args    []string
		wantDir string
		want    int
	}{
		{name: "flag", args: []string{"-config-dir", flagDir}, wantDir: flagDir, want: 1},
		{name: "env", env: env{"CONFIG_DIR": envDir}, wantDir: envDir, want: 2},
		{name: "flag beats env", env: env{"CONFIG_DIR": envDir}, args: []string{"-config-dir=" + flagDir}, wantDir: flagDir, want: 1},
		{name: "empty flag means default", env: env{"CONFIG_DIR": envDir}, args: []string{"-config-dir="}, wantDir: ".", want: 0},
		{name: "default", wantDir: ".", want: 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			src, cfg := newSource(t, tt.env, tt.args...)
			if got := src.Dir(); got != tt.wantDir {
				t.Errorf("Dir() = %q, want %q", got, tt.wantDir)
			}
			var c httpConfig
			if _, err := cfg.LoadValue(&c); err != nil {
				t.Fatalf("LoadValue: %v", err)
			}
			if c.Workers != tt.want {
				t.Errorf("Workers = %d, want %d", c.Workers, tt.want)
			}
		})
	}
}

func TestResolvesAgainWhenConfigDirChanges(t *testing.T) {
	dir1, dir2 := t.TempDir(), t.TempDir()
	writeFile(t, filepath.Join(dir2, "http.conf"), "workers: 2\n")
	e := env{"CONFIG_DIR": dir1}
	_, cfg := newSource(t, e)
	if got := cfg.GetConfigName(); got != "" {
		t.Errorf("GetConfigName() in %s = %q, want \"\"", dir1, got)
	}
	e["CONFIG_DIR"] = dir2
	if got, want := cfg.GetConfigName(), filepath.Join(dir2, "http.conf"); got != want {
		t.Errorf("GetConfigName() in %s = %q, want %q", dir2, got, want)
	}
}

func TestExplicitMissingFileIsAnError(t *testing.T) {
	dir := t.TempDir()
	tests := []struct {
		name string
		env  env
		args []string
		want string
	}{
		{
			name: "flag", args: []string{"-http-config", "nope.conf"},
			want: "config: http config file " + filepath.Join(dir, "nope.conf") + " (named by flag -http-config) does not exist",
		},
		{
			name: "env", env: env{"HTTP_CONFIG": "/nonexistent/http.yaml"},
			want: "config: http config file /nonexistent/http.yaml (named by env HTTP_CONFIG) does not exist",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := env{"CONFIG_DIR": dir}
			for k, v := range tt.env {
				e[k] = v
			}
			_, cfg := newSource(t, e, tt.args...)
			var c httpConfig
			found, err := cfg.LoadValue(&c)
			if found || err == nil {
				t.Fatalf("LoadValue = %v, %v, want false and an error", found, err)
			}
			if !errors.Is(err, config.ErrNotFound) || !errors.Is(err, os.ErrNotExist) {
				t.Errorf("LoadValue error %v does not match ErrNotFound and os.ErrNotExist", err)
			}
			if err.Error() != tt.want {
				t.Errorf("LoadValue error = %q, want %q", err, tt.want)
			}
		})
	}
}

func TestMissingDefaultFileIsNotFoundWithoutError(t *testing.T) {
	_, cfg := newSource(t, env{"CONFIG_DIR": t.TempDir()})
	c := httpConfig{Endpoint: "default:1"}
	found, err := cfg.LoadValue(&c)
	if found || err != nil {
		t.Fatalf("LoadValue = %v, %v, want false, nil", found, err)
	}
	if c.Endpoint != "default:1" {
		t.Errorf("Endpoint = %q, want the default kept", c.Endpoint)
	}
	if got := cfg.GetConfigName(); got != "" {
		t.Errorf("GetConfigName() = %q, want \"\"", got)
	}
}

func TestMisspeltConfigDirIsAnError(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "agnet")
	_, cfg := newSource(t, nil, "-config-dir", dir)
	var c httpConfig
	_, err := cfg.LoadValue(&c)
	want := "config: config dir " + dir + " (named by flag -config-dir) does not exist"
	if err == nil || err.Error() != want {
		t.Fatalf("LoadValue error = %v, want %q", err, want)
	}
	if !errors.Is(err, config.ErrNotFound) {
		t.Errorf("LoadValue error %v does not match ErrNotFound", err)
	}
}

func TestEmptyFileFlagTurnsFileOff(t *testing.T) {
	dir := t.TempDir()
	writeFile(t, filepath.Join(dir, "http.conf"), "workers: 1\n")
	_, cfg := newSource(t, env{"CONFIG_DIR": dir}, "-http-config=")
	var c httpConfig
	if found, err := cfg.LoadValue(&c); found || err != nil || c.Workers != 0 {
		t.Fatalf("LoadValue = %v, %v (workers %d), want false, nil (workers 0)", found, err, c.Workers)
	}
	if got := cfg.GetConfigName(); got != "" {
		t.Errorf("GetConfigName() = %q, want \"\"", got)
	}
}

func TestAbsolutePathIgnoresConfigDirRelativeUsesIt(t *testing.T) {
	dir, other := t.TempDir(), t.TempDir()
	abs := filepath.Join(other, "abs.yaml")
	writeFile(t, abs, "workers: 7\n")
	writeFile(t, filepath.Join(dir, "sub", "rel.yaml"), "workers: 8\n")
	tests := []struct {
		name, value, path string
		want              int
	}{
		{"absolute", abs, abs, 7},
		{"relative", "sub/rel.yaml", filepath.Join(dir, "sub", "rel.yaml"), 8},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, cfg := newSource(t, env{"CONFIG_DIR": dir}, "-http-config", tt.value)
			if got := cfg.GetConfigName(); got != tt.path {
				t.Errorf("GetConfigName() = %q, want %q", got, tt.path)
			}
			var c httpConfig
			if found, err := cfg.LoadValue(&c); !found || err != nil || c.Workers != tt.want {
				t.Errorf("LoadValue = %v, %v (workers %d), want true, nil (workers %d)", found, err, c.Workers, tt.want)
			}
		})
	}
}

func TestForPluginReturnsSameConfigAndRegistersFlagOnce(t *testing.T) {
	fs := flag.NewFlagSet("agent", flag.ContinueOnError)
	src := config.NewSource(fs, env{}.get)
	a, b := src.ForPlugin("etcd"), src.ForPlugin("etcd")
	if a != b {
		t.Errorf("ForPlugin(%q) returned two configs", "etcd")
	}
	if src.ForPlugin("kafka") == a {
		t.Errorf("ForPlugin(%q) = ForPlugin(%q)", "kafka", "etcd")
	}
	for _, name := range []string{"config-dir", "etcd-config", "kafka-config"} {
		if fs.Lookup(name) == nil {
			t.Errorf("flag -%s not registered", name)
		}
	}
	// A second Source on the same FlagSet reuses the flags instead of
	// panicking on a redefinition.
	again := config.NewSource(fs, env{}.get)
	again.ForPlugin("etcd")
}

func TestLookupReadsFlagSetOnCommandLineElseEnv(t *testing.T) {
	_, cfg := newSource(t, env{"HTTP_ENDPOINT": "env", "EMPTY": ""}, "-http-endpoint", "")
	tests := []struct {
		flag, env string
		want      string
		ok        bool
	}{
		{"http-endpoint", "HTTP_ENDPOINT", "", true}, // set, even to ""
		{"", "HTTP_ENDPOINT", "env", true},
		{"", "EMPTY", "", false},
		{"undefined", "", "", false},
		{"", "", "", false},
	}
	for _, tt := range tests {
		got, ok := cfg.Lookup(tt.flag, tt.env)
		if got != tt.want || ok != tt.ok {
			t.Errorf("Lookup(%q, %q) = %q, %v, want %q, %v", tt.flag, tt.env, got, ok, tt.want, tt.ok)
		}
	}
}

func TestNilFlagSetUsesEnvironmentOnly(t *testing.T) {
	dir := t.TempDir()
	writeFile(t, filepath.Join(dir, "x.yaml"), "workers: 3\n")
	src := config.NewSource(nil, env{"CONFIG_DIR": dir, "HTTP_CONFIG": "x.yaml"}.get)
	var c httpConfig
	if found, err := src.ForPlugin("http").LoadValue(&c); !found || err != nil || c.Workers != 3 {
		t.Fatalf("LoadValue = %v, %v (workers %d), want true, nil (workers 3)", found, err, c.Workers)
	}
}

func TestLoadValueReportsDecodeErrorsWithPluginName(t *testing.T) {
	dir := t.TempDir()
	writeFile(t, filepath.Join(dir, "web.yaml"), "endpoint: x\nendpiont: y\n")
	_, cfg := newSource(t, env{"CONFIG_DIR": dir, "HTTP_CONFIG": "web.yaml"})
	var c httpConfig
	found, err := cfg.LoadValue(&c)
	want := filepath.Join(dir, "web.yaml") + `:2: unknown key "endpiont" in http config`
	if !found || err == nil || err.Error() != want {
		t.Fatalf("LoadValue = %v, %v, want true, %q", found, err, want)
	}
}

func TestConcurrentLoads(t *testing.T) {
	dir := t.TempDir()
	writeFile(t, filepath.Join(dir, "http.conf"), "workers: 4\n")
	src, _ := newSource(t, env{"CONFIG_DIR": dir})
	done := make(chan error, 8)
	for range 8 {
		go func() {
			var c httpConfig
			_, err := src.ForPlugin("http").LoadValue(&c)
			done <- err
		}()
	}
	for range 8 {
		if err := <-done; err != nil {
			t.Error(err)
		}
	}
}
