package etcd

import (
	"io"
	"strings"
	"testing"

	"github.com/plinth-go/plinth/infra/config/configtest"
	"github.com/plinth-go/plinth/logging"
)

// FuzzConfigFile checks that no etcd.conf makes the plugin panic and that
// every rejected one is reported with the path of the file.
func FuzzConfigFile(f *testing.F) {
	f.Add([]byte("endpoints: [127.0.0.1:2379]\ndial-timeout: 1s\nsession-ttl: 10\n"))
	f.Add([]byte("endpoints: [\"https://a:1\", \"\"]\ntls: {cert-file: c, key-file: \"\"}\nusername: u\n"))
	f.Add([]byte("endpoints: [\"::\"]\noperation-timeout: -5s\nauto-compact: 1h\nreconnect-max-backoff: 0s\n"))
	f.Add([]byte("insecure-transport: true\ntls: {insecure-skip-verify: true}\npassword: p\n"))
	pc, path, write := configtest.FileConfig(f, PluginName)
	f.Fuzz(func(t *testing.T, data []byte) {
		write(t, data)
		p := NewPlugin()
		p.Cfg = pc
		p.Log = logging.NewRegistry(logging.WithOutput(io.Discard)).ForPlugin(p.String())
		if _, err := p.resolveConfig(); err != nil && !strings.Contains(err.Error(), path) {
			t.Fatalf("error does not name %s: %v", path, err)
		}
	})
}
