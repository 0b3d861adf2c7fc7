package probe

import (
	"strings"
	"testing"

	"github.com/plinth-go/plinth/infra/config/configtest"
)

// FuzzConfigFile checks that no probe.conf makes the decoder panic and that
// every rejected one is reported with the path of the file. Init reads the
// file with the same LoadValue call.
func FuzzConfigFile(f *testing.F) {
	f.Add([]byte("non-fatal-plugins: [kafka, etcd]\ndisable-metrics: true\n"))
	f.Add([]byte("non-fatal-plugins: kafka\n"))
	f.Add([]byte("non-fatal-plugins: [[1]]\nextra: 1\n"))
	pc, path, write := configtest.FileConfig(f, PluginName)
	f.Fuzz(func(t *testing.T, data []byte) {
		write(t, data)
		var cfg Config
		if _, err := pc.LoadValue(&cfg); err != nil && !strings.Contains(err.Error(), path) {
			t.Fatalf("error does not name %s: %v", path, err)
		}
	})
}
