package config_test

import (
	"errors"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/plinth-go/plinth/infra/config"
)

// ExampleSource_ForPlugin shows how a plugin applies the precedence
// defaults < config file < environment < command-line flag < code options.
func ExampleSource_ForPlugin() {
	dir, _ := os.MkdirTemp("", "config-example")
	defer os.RemoveAll(dir)
	_ = os.WriteFile(filepath.Join(dir, "http.conf"),
		[]byte("endpoint: 0.0.0.0:8080\nread-timeout: 10s\n"), 0o644)

	// The plugin's config struct: yaml tags with kebab-case keys.
	type Config struct {
		Endpoint    string        `yaml:"endpoint"`
		ReadTimeout time.Duration `yaml:"read-timeout"`
		MaxConns    int           `yaml:"max-conns"`
	}

	fs := flag.NewFlagSet("agent", flag.ContinueOnError)
	port := fs.String("http-port", "9191", "HTTP port")
	env := map[string]string{"HTTP_MAX_CONNS": "64"}
	src := config.NewSource(fs, func(k string) string { return env[k] })
	cfg := src.ForPlugin("http") // before Parse: registers -http-config
	_ = fs.Parse([]string{"-config-dir", dir, "-http-port", "9000"})

	c := Config{Endpoint: "0.0.0.0:9191", ReadTimeout: 5 * time.Second, MaxConns: 16} // 1. defaults
	found, err := cfg.LoadValue(&c)                                                   // 2. file
	if err != nil {
		fmt.Println(err)
		return
	}
	if v, ok := cfg.Lookup("", "HTTP_MAX_CONNS"); ok { // 3. environment
		fmt.Sscan(v, &c.MaxConns)
	}
	if v, ok := cfg.Lookup("http-port", ""); ok { // 4. flag; the flag's default never counts
		c.Endpoint = "0.0.0.0:" + v
	}
	// 5. Options set in code would be applied last.

	fmt.Println("found:", found, filepath.Base(cfg.GetConfigName()))
	fmt.Println("endpoint:", c.Endpoint, "port flag:", *port)
	fmt.Println("read-timeout:", c.ReadTimeout, "max-conns:", c.MaxConns)
	// Output:
	// found: true http.conf
	// endpoint: 0.0.0.0:9000 port flag: 9000
	// read-timeout: 10s max-conns: 64
}

func ExampleDecode() {
	type Config struct {
		Endpoints   []string      `yaml:"endpoints"`
		DialTimeout time.Duration `yaml:"dial-timeout"`
	}
	c := Config{DialTimeout: time.Second}
	err := config.Decode("etcd.conf", []byte("endpoints: [127.0.0.1:2379]\ndial-timeout: 5\nendpiont: x\n"), &c)
	fmt.Println(err)
	// Output:
	// etcd.conf:2: key "dial-timeout": cannot parse 5 as duration: a duration needs a unit, e.g. "5s"
	// etcd.conf:3: unknown key "endpiont" in etcd config
}

func ExampleError() {
	type Config struct {
		Port int `yaml:"port"`
	}
	var c Config
	err := config.Decode("http.conf", []byte("# listen port\nport: eighty\n"), &c)
	var e *config.Error
	if errors.As(err, &e) {
		fmt.Printf("file %s, line %d, key %s\n", e.File, e.Line, e.Key)
	}
	// Output:
	// file http.conf, line 2, key port
}

func ExamplePluginConfig_LoadValue_notFound() {
	fs := flag.NewFlagSet("agent", flag.ContinueOnError)
	src := config.NewSource(fs, func(string) string { return "" })
	cfg := src.ForPlugin("etcd")
	_ = fs.Parse([]string{"-etcd-config", "/nonexistent/etcd.conf"})

	var c struct{}
	_, err := cfg.LoadValue(&c)
	fmt.Println(errors.Is(err, config.ErrNotFound))
	fmt.Println(err)
	// Output:
	// true
	// config: etcd config file /nonexistent/etcd.conf (named by flag -etcd-config) does not exist
}
