package embedded_test

import (
	"strings"
	"testing"

	"github.com/plinth-go/plinth/infra/kvdb/etcd/embedded"
)

// TestClientTLSConfigMistakesFailTheStart: half a key pair, or a client CA
// without a server certificate, stops Start before anything listens.
func TestClientTLSConfigMistakesFailTheStart(t *testing.T) {
	for _, c := range []struct {
		tls  embedded.TLSConfig
		want string
	}{
		{embedded.TLSConfig{CertFile: "server.crt"}, "client-tls: cert-file and key-file must be set together"},
		{embedded.TLSConfig{KeyFile: "server.key"}, "client-tls: cert-file and key-file must be set together"},
		{embedded.TLSConfig{ClientCAFile: "ca.crt"}, "client-tls: client-ca-file needs cert-file and key-file"},
	} {
		s, err := embedded.Start(t.Context(), embedded.Config{
			DataDir: t.TempDir(), ClientAddr: "127.0.0.1:0", PeerAddr: "127.0.0.1:0", ClientTLS: c.tls,
		})
		if err == nil {
			s.Close()
			t.Fatalf("Start with %+v succeeded", c.tls)
		}
		if !strings.Contains(err.Error(), c.want) {
			t.Errorf("Start with %+v = %v, want %q", c.tls, err, c.want)
		}
	}
}
