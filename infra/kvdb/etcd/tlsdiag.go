package etcd

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"net"
	"strings"
	"time"
)

// tlsReadWait bounds the read after a TLS 1.3 handshake that catches a
// rejected client certificate: the server sends its alert, or its first
// HTTP/2 frame, at once.
const tlsReadWait = 500 * time.Millisecond

// explainTLS adds to err the reason why a TLS handshake with one of the
// endpoints fails. gRPC retries failed handshakes silently and the call then
// ends with its deadline, which leaves an operator with an untrusted or
// missing certificate only "context deadline exceeded" to go on. It returns
// err unchanged when tc is nil or every handshake succeeds or cannot even
// connect (etcd down is not a TLS problem).
func explainTLS(ctx context.Context, err error, endpoints []string, tc *tls.Config, timeout time.Duration) error {
	if err == nil || tc == nil {
		return err
	}
	for _, ep := range endpoints {
		if herr := tlsHandshake(ctx, ep, tc, timeout); herr != nil {
			return fmt.Errorf("%w (TLS with %s: %v)", err, ep, herr)
		}
	}
	return err
}

// tlsHandshake returns the TLS error of a handshake with endpoint, or nil
// when it succeeds or the endpoint cannot be reached.
func tlsHandshake(ctx context.Context, endpoint string, tc *tls.Config, timeout time.Duration) error {
	addr := endpoint
	if i := strings.Index(addr, "://"); i >= 0 {
		addr = addr[i+3:]
	}
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		return nil
	}
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	raw, err := (&net.Dialer{}).DialContext(ctx, "tcp", addr)
	if err != nil {
		return nil
	}
	defer raw.Close()
	cfg := tc.Clone()
	if cfg.ServerName == "" {
		cfg.ServerName = host
	}
	cfg.NextProtos = []string{"h2"}
	conn := tls.Client(raw, cfg)
	if err := conn.HandshakeContext(ctx); err != nil {
		return err
	}
	// With TLS 1.3 the client finishes its handshake before the server has
	// checked the client certificate; a rejection arrives as an alert.
	_ = raw.SetReadDeadline(time.Now().Add(min(timeout, tlsReadWait)))
	var op *net.OpError
	if _, err := conn.Read(make([]byte, 1)); errors.As(err, &op) && op.Op == "remote error" {
		return err
	}
	return nil
}
