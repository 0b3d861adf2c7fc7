package logmanager

import (
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/plinth-go/plinth/infra/config"
	"github.com/plinth-go/plinth/logging"
)

// FuzzConfigFile checks that no logs.conf makes the plugin panic, neither
// when decoding nor when checking loggers and hooks, and that every
// rejected one is reported with the path of the file.
func FuzzConfigFile(f *testing.F) {
	f.Add([]byte("default-level: debug\nloggers:\n  - name: http\n    level: warn\n"))
	f.Add([]byte("hooks:\n  syslog:\n    address: 127.0.0.1\n    port: 514\n    network: udp\n    levels: [error, bogus]\n    queue-size: -1\n"))
	f.Add([]byte("loggers:\n  - name: \"\"\n    level: loud\nhooks:\n  nope: {}\n"))
	f.Add([]byte("hooks:\n  fluent: {address: \"\", port: 99999, tag: t, protocol: x}\n"))
	pc, path, write := fuzzConfigFile(f, PluginName)
	f.Fuzz(func(t *testing.T, data []byte) {
		write(t, data)
		p := NewPlugin()
		p.Cfg = pc
		p.Log = logging.NewRegistry(logging.WithOutput(io.Discard)).ForPlugin(p.String())
		c, file, err := p.loadConfig()
		if err == nil {
			err = p.checkConfig(c, file)
		}
		if err != nil && !strings.Contains(err.Error(), path) {
			t.Fatalf("error does not name %s: %v", path, err)
		}
	})
}

// fuzzConfigFile returns the config of plugin as an agent sees it, read
// from a file in a fresh config directory, and a function that rewrites
// that file; the fuzz targets below decode through the same path as Init.
func fuzzConfigFile(f *testing.F, plugin string) (config.PluginConfig, string, func(*testing.T, []byte)) {
	dir := f.TempDir()
	src := config.NewSource(nil, func(k string) string {
		if k == config.DirEnv {
			return dir
		}
		return ""
	})
	path := filepath.Join(dir, config.Filename(plugin))
	return src.ForPlugin(plugin), path, func(t *testing.T, data []byte) {
		if err := os.WriteFile(path, data, 0o600); err != nil {
			t.Fatal(err)
		}
	}
}
