package rest

import (
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"os"
)

// newTLSConfig loads the certificates named by c. It returns nil when c
// serves plain HTTP.
func newTLSConfig(c Config) (*tls.Config, error) {
	if c.ServerCertFile == "" {
		return nil, nil
	}
	cert, err := tls.LoadX509KeyPair(c.ServerCertFile, c.ServerKeyFile)
	if err != nil {
		return nil, fmt.Errorf("server-cert-file %q, server-key-file %q: %w", c.ServerCertFile, c.ServerKeyFile, err)
	}
	tc := &tls.Config{
		MinVersion:   tls.VersionTLS12,
		Certificates: []tls.Certificate{cert},
	}
	if len(c.ClientCAFiles) == 0 {
		return tc, nil
	}
	pool := x509.NewCertPool()
	for _, name := range c.ClientCAFiles {
		pem, err := os.ReadFile(name)
		if err != nil {
			return nil, fmt.Errorf("client-ca-files: %w", err)
		}
		if !pool.AppendCertsFromPEM(pem) {
			return nil, fmt.Errorf("client-ca-files: %s: no PEM certificate found", name)
		}
	}
	tc.ClientCAs = pool
	tc.ClientAuth = tls.RequireAndVerifyClientCert
	return tc, nil
}
