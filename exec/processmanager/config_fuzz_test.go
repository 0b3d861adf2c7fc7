package processmanager

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/plinth-go/plinth/infra/config"
)

// FuzzConfigFile checks that no process-manager.conf makes the decoder
// panic and that every rejected one is reported with the path of the file.
// Init reads the file with the same LoadValue call.
func FuzzConfigFile(f *testing.F) {
	f.Add([]byte("template-path: /tmp/templates\npoll-interval: 1s\n"))
	f.Add([]byte("poll-interval: -1s\n"))
	f.Add([]byte("poll-interval: 10\ntemplate-path: [a]\n"))
	pc, path, write := fuzzConfigFile(f, PluginName)
	f.Fuzz(func(t *testing.T, data []byte) {
		write(t, data)
		var cfg Config
		if _, err := pc.LoadValue(&cfg); err != nil && !strings.Contains(err.Error(), path) {
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
