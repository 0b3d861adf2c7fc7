package embedded

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/plinth-go/plinth/infra/config"
)

// FuzzConfigFile checks that no etcd-server.conf makes the plugin panic and
// that every rejected one is reported with the path of the file.
func FuzzConfigFile(f *testing.F) {
	f.Add([]byte("name: n1\ndata-dir: /tmp/x\nclient-address: 127.0.0.1:0\npeer-address: 127.0.0.1:0\n"))
	f.Add([]byte("initial-cluster: \"n1=http://127.0.0.1:2380,n2=bad\"\ncluster-state: existing\n"))
	f.Add([]byte("cluster-state: sideways\nstart-timeout: -1s\nclient-address: nope\n"))
	f.Add([]byte("disabled: true\nunsafe-no-fsync: true\n"))
	pc, path, write := fuzzConfigFile(f, PluginName)
	f.Fuzz(func(t *testing.T, data []byte) {
		write(t, data)
		p := NewPlugin()
		p.Cfg = pc
		if _, _, err := p.resolveConfig(); err != nil && !strings.Contains(err.Error(), path) {
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
