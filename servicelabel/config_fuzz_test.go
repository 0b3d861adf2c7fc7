package servicelabel

import (
	"strings"
	"testing"

	"github.com/plinth-go/plinth/infra/config/configtest"
)

// FuzzConfigFile checks that no servicelabel.conf makes the plugin panic
// and that every rejected one is reported with the path of the file.
func FuzzConfigFile(f *testing.F) {
	f.Add([]byte("microservice-label: vpp1\n"))
	f.Add([]byte("microservice-label: \"a/b c\"\n"))
	f.Add([]byte("microservice-label: [x]\n"))
	pc, path, write := configtest.FileConfig(f, PluginName)
	f.Fuzz(func(t *testing.T, data []byte) {
		write(t, data)
		p := NewPlugin()
		p.Cfg = pc
		if err := p.Init(); err != nil && !strings.Contains(err.Error(), path) {
			t.Fatalf("error does not name %s: %v", path, err)
		}
	})
}
