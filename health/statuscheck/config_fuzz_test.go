package statuscheck

import (
	"strings"
	"testing"

	"github.com/plinth-go/plinth/infra/config/configtest"
)

// FuzzConfigFile checks that no statuscheck.conf makes the plugin panic and
// that every rejected one is reported with the path of the file.
func FuzzConfigFile(f *testing.F) {
	f.Add([]byte("probe-interval: 5s\nprobe-timeout: 1s\npublish-timeout: 2s\nexpire-with-agent: true\n"))
	f.Add([]byte("probe-interval: -1s\nprobe-timeout: -2s\n"))
	f.Add([]byte("disable-publish: maybe\npublish-timeout: 3\n"))
	pc, path, write := configtest.FileConfig(f, PluginName)
	f.Fuzz(func(t *testing.T, data []byte) {
		write(t, data)
		p := NewPlugin()
		p.Cfg = pc
		if _, err := p.resolveConfig(); err != nil && !strings.Contains(err.Error(), path) {
			t.Fatalf("error does not name %s: %v", path, err)
		}
	})
}
