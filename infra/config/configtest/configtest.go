// Package configtest helps test how plugins read their config files.
package configtest

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/plinth-go/plinth/infra/config"
)

// FileConfig returns the config of plugin as an agent gives it, read from
// <plugin>.conf in a fresh config directory, the path of that file, and a
// function that rewrites the file. Fuzz targets use it to decode arbitrary
// bytes through the same LoadValue call as the plugin's Init.
func FileConfig(tb testing.TB, plugin string) (pc config.PluginConfig, path string, write func(testing.TB, []byte)) {
	tb.Helper()
	dir := tb.TempDir()
	src := config.NewSource(nil, func(k string) string {
		if k == config.DirEnv {
			return dir
		}
		return ""
	})
	path = filepath.Join(dir, config.Filename(plugin))
	return src.ForPlugin(plugin), path, func(t testing.TB, data []byte) {
		t.Helper()
		if err := os.WriteFile(path, data, 0o600); err != nil {
			t.Fatal(err)
		}
	}
}
