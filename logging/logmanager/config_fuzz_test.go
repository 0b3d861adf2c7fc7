package logmanager

import (
	"io"
	"strings"
	"testing"

	"github.com/plinth-go/plinth/infra/config/configtest"
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
	f.Add([]byte("hooks:\n  fluentd: {require-ack-response: true}\n  syslog: {require-ack-response: yes}\n"))
	pc, path, write := configtest.FileConfig(f, PluginName)
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
