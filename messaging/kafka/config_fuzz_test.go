package kafka

import (
	"fmt"
	"strings"
	"testing"

	"github.com/plinth-go/plinth/infra/config/configtest"
	"github.com/plinth-go/plinth/messaging/kafka/mux"
)

// FuzzConfigFile checks that no kafka.conf makes the plugin panic, neither
// when decoding nor when the multiplexer checks it (Init's first steps; the
// multiplexer is not started), and that every rejected one is reported with
// the path of the file.
func FuzzConfigFile(f *testing.F) {
	f.Add([]byte("addrs: [127.0.0.1:9092]\ngroup_id: g\nclient-id: c\nrequired-acks: 1\ncompression: snappy\n"))
	f.Add([]byte("addrs: [\"\"]\nversion: 0.0.0\npartitioner: nope\ninitial-offset: middle\n"))
	f.Add([]byte("addrs: [a:1]\ntls: {enabled: true, cert-file: c}\nsasl: {mechanism: PLAIN, user: u}\n"))
	f.Add([]byte("health-check-interval: -1s\nreconnect-backoff-max: 5\ndial-timeout: 0s\n"))
	f.Add([]byte("linger: 5ms\nbatch-messages: 500\nbatch-bytes: -1\n"))
	pc, path, write := configtest.FileConfig(f, PluginName)
	f.Fuzz(func(t *testing.T, data []byte) {
		write(t, data)
		var cfg mux.Config
		found, err := pc.LoadValue(&cfg)
		if err == nil && found {
			if _, merr := mux.New(cfg); merr != nil {
				err = fmt.Errorf("kafka: config file %s: %w", pc.GetConfigName(), merr)
			}
		}
		if err != nil && !strings.Contains(err.Error(), path) {
			t.Fatalf("error does not name %s: %v", path, err)
		}
	})
}
