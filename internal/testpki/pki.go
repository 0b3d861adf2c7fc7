// Package testpki issues throwaway certificate authorities and certificates
// for tests of TLS: servers, clients and mutual TLS on the loopback address.
//
// # Usage
//
//	ca := testpki.NewAuthority(t, "test CA")
//	server := ca.Issue(t, "server", testpki.Server)
//	client := ca.Issue(t, "client", testpki.Client)
//	cfg := rest.Config{ServerCertFile: server.CertFile, ServerKeyFile: server.KeyFile,
//		ClientCAFiles: []string{ca.CertFile}}
//
// Keys are ECDSA P-256, certificates are valid for one hour either side of
// now, and server certificates name 127.0.0.1, ::1 and localhost. Files live
// in t.TempDir: certificates 0644, keys 0600.
//
// # Concurrency
//
// An Authority is safe for concurrent use.
package testpki

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"sync/atomic"
	"testing"
	"time"
)

// Usage says what a certificate is for.
type Usage int

const (
	// Server certificates authenticate servers (and name the loopback
	// address); they may also authenticate clients, as etcd members need.
	Server Usage = iota
	// Client certificates authenticate clients only.
	Client
)

// Authority is a certificate authority that lives for one test.
type Authority struct {
	// CertFile is the PEM file of the authority's certificate, what a
	// peer trusts.
	CertFile string
	// Pool holds the authority's certificate.
	Pool *x509.CertPool

	cert   *x509.Certificate
	key    *ecdsa.PrivateKey
	dir    string
	serial atomic.Int64
}

// Cert is an issued certificate with its key.
type Cert struct {
	// CertFile and KeyFile are the PEM files of the certificate and its key.
	CertFile, KeyFile string
	// TLS is the same pair, ready for tls.Config.Certificates.
	TLS tls.Certificate
}

// NewAuthority creates a self-signed authority named name.
func NewAuthority(t testing.TB, name string) *Authority {
	t.Helper()
	key := newKey(t)
	tmpl := &x509.Certificate{
		SerialNumber:          big.NewInt(1),
		Subject:               pkix.Name{CommonName: name},
		NotBefore:             time.Now().Add(-time.Hour),
		NotAfter:              time.Now().Add(time.Hour),
		IsCA:                  true,
		BasicConstraintsValid: true,
		KeyUsage:              x509.KeyUsageCertSign | x509.KeyUsageDigitalSignature,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatalf("testpki: create authority %q: %v", name, err)
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatalf("testpki: parse authority %q: %v", name, err)
	}
	a := &Authority{cert: cert, key: key, dir: t.TempDir(), Pool: x509.NewCertPool()}
	a.Pool.AddCert(cert)
	a.CertFile = filepath.Join(a.dir, "ca.crt")
	writePEM(t, a.CertFile, "CERTIFICATE", der, 0o644)
	a.serial.Store(1)
	return a
}

// Issue signs a new certificate for name (its common name, and its file
// names in the authority's directory).
func (a *Authority) Issue(t testing.TB, name string, usage Usage) Cert {
	t.Helper()
	key := newKey(t)
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(a.serial.Add(1)),
		Subject:      pkix.Name{CommonName: name},
		NotBefore:    time.Now().Add(-time.Hour),
		NotAfter:     time.Now().Add(time.Hour),
		KeyUsage:     x509.KeyUsageDigitalSignature,
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth},
	}
	if usage == Server {
		tmpl.ExtKeyUsage = append(tmpl.ExtKeyUsage, x509.ExtKeyUsageServerAuth)
		tmpl.IPAddresses = []net.IP{net.IPv4(127, 0, 0, 1), net.IPv6loopback}
		tmpl.DNSNames = []string{"localhost"}
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, a.cert, &key.PublicKey, a.key)
	if err != nil {
		t.Fatalf("testpki: issue %q: %v", name, err)
	}
	keyDER, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		t.Fatalf("testpki: marshal key of %q: %v", name, err)
	}
	c := Cert{
		CertFile: filepath.Join(a.dir, name+".crt"),
		KeyFile:  filepath.Join(a.dir, name+".key"),
	}
	writePEM(t, c.CertFile, "CERTIFICATE", der, 0o644)
	writePEM(t, c.KeyFile, "PRIVATE KEY", keyDER, 0o600)
	c.TLS, err = tls.LoadX509KeyPair(c.CertFile, c.KeyFile)
	if err != nil {
		t.Fatalf("testpki: load %q: %v", name, err)
	}
	return c
}

func newKey(t testing.TB) *ecdsa.PrivateKey {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatalf("testpki: generate key: %v", err)
	}
	return key
}

func writePEM(t testing.TB, file, kind string, der []byte, mode os.FileMode) {
	t.Helper()
	data := pem.EncodeToMemory(&pem.Block{Type: kind, Bytes: der})
	if err := os.WriteFile(file, data, mode); err != nil {
		t.Fatalf("testpki: %v", err)
	}
}
