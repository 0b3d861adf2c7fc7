package rest

import (
	"io"
	"strings"
	"testing"

	"github.com/plinth-go/plinth/infra/config/configtest"
	"github.com/plinth-go/plinth/logging"
)

// FuzzConfigFile checks that no http.conf makes the plugin panic and that
// every rejected one is reported with the path of the file.
func FuzzConfigFile(f *testing.F) {
	f.Add([]byte("endpoint: 127.0.0.1:9191\nread-timeout: 5s\nmax-header-bytes: 4096\n"))
	f.Add([]byte("endpoint: \"[::1]:0\"\nbasic-auth: [\"admin:secret\", \"nocolon\"]\n"))
	f.Add([]byte("endpoint: :99999\nread-timeout: -1s\nidle-timeout: 5\n"))
	f.Add([]byte("server-cert-file: a.pem\nclient-ca-files: [ca.pem]\n"))
	f.Add([]byte("disabled: yes\nendpoint: [1, 2]\n"))
	pc, path, write := configtest.FileConfig(f, PluginName)
	f.Fuzz(func(t *testing.T, data []byte) {
		write(t, data)
		p := NewPlugin()
		p.Cfg = pc
		p.Log = logging.NewRegistry(logging.WithOutput(io.Discard)).ForPlugin(p.String())
		if _, _, err := p.resolveConfig(); err != nil && !strings.Contains(err.Error(), path) {
			t.Fatalf("error does not name %s: %v", path, err)
		}
	})
}
