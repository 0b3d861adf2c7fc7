package etcd

import (
	"context"
	"crypto/tls"
	"errors"
	"net"
	"testing"
	"time"
)

// TestExplainTLSLeavesNonTLSFailuresAlone: an unreachable etcd, a plain-text
// client or an unparsable endpoint add nothing to the error.
func TestExplainTLSLeavesNonTLSFailuresAlone(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	dead := l.Addr().String()
	l.Close()
	cause := errors.New("probe: context deadline exceeded")
	tc := &tls.Config{MinVersion: tls.VersionTLS12}
	for _, c := range []struct {
		name      string
		endpoints []string
		tc        *tls.Config
	}{
		{"etcd down", []string{dead, "https://" + dead}, tc},
		{"no TLS configured", []string{dead}, nil},
		{"endpoint without a port", []string{"unix:///run/etcd.sock"}, tc},
	} {
		got := explainTLS(t.Context(), cause, c.endpoints, c.tc, time.Second)
		if got != cause {
			t.Errorf("%s: explainTLS = %v, want the cause unchanged", c.name, got)
		}
	}
	if explainTLS(context.Background(), nil, []string{dead}, tc, time.Second) != nil {
		t.Error("explainTLS(nil) is not nil")
	}
}
