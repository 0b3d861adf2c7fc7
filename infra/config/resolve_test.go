package config_test

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/plinth-go/plinth/infra/config"
)

type resolveConf struct {
	Port int `yaml:"port"`
}

func TestResolveTakesDefaultsThenTheFileThenCode(t *testing.T) {
	dir := t.TempDir()
	_, pc := newSource(t, env{}, "-config-dir", dir)

	cfg := resolveConf{Port: 1}
	origin, err := config.Resolve(pc, nil, &cfg)
	if err != nil || origin != config.OriginDefault || cfg.Port != 1 {
		t.Fatalf("no file: %+v, %q, %v; want the defaults", cfg, origin, err)
	}

	file := filepath.Join(dir, "http.conf")
	if err := os.WriteFile(file, []byte("port: 2\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	cfg = resolveConf{Port: 1}
	origin, err = config.Resolve(pc, nil, &cfg)
	if err != nil || origin != "config file "+file || cfg.Port != 2 {
		t.Fatalf("file: %+v, %q, %v; want port 2 from %s", cfg, origin, err, file)
	}

	cfg = resolveConf{Port: 1}
	origin, err = config.Resolve(pc, &resolveConf{Port: 3}, &cfg)
	if err != nil || origin != config.OriginCode || cfg.Port != 3 {
		t.Fatalf("code: %+v, %q, %v; want port 3 from code", cfg, origin, err)
	}

	// A broken file is an error even when code wins.
	if err := os.WriteFile(file, []byte("port: [\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := config.Resolve(pc, &resolveConf{Port: 3}, &cfg); err == nil {
		t.Fatal("broken file with code set: no error")
	}

	if origin, err := config.Resolve[resolveConf](nil, nil, &cfg); err != nil || origin != config.OriginDefault {
		t.Fatalf("no source: %q, %v", origin, err)
	}
}
