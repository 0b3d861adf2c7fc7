package embedded

import (
	"strings"
	"testing"

	"github.com/plinth-go/plinth/infra/config/configtest"
)

// FuzzConfigFile checks that no etcd-server.conf makes the plugin panic and
// that every rejected one is reported with the path of the file.
func FuzzConfigFile(f *testing.F) {
	f.Add([]byte("name: n1\ndata-dir: /tmp/x\nclient-address: 127.0.0.1:0\npeer-address: 127.0.0.1:0\n"))
	f.Add([]byte("initial-cluster: \"n1=http://127.0.0.1:2380,n2=bad\"\ncluster-state: existing\n"))
	f.Add([]byte("cluster-state: sideways\nstart-timeout: -1s\nclient-address: nope\n"))
	f.Add([]byte("disabled: true\nunsafe-no-fsync: true\n"))
	pc, path, write := configtest.FileConfig(f, PluginName)
	f.Fuzz(func(t *testing.T, data []byte) {
		write(t, data)
		p := NewPlugin()
		p.Cfg = pc
		if _, _, err := p.resolveConfig(); err != nil && !strings.Contains(err.Error(), path) {
			t.Fatalf("error does not name %s: %v", path, err)
		}
	})
}
