package rest_test

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
	"net/http"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/plinth-go/plinth/infra/rest"
)

// authority is a certificate authority made for one test.
type authority struct {
	cert *x509.Certificate
	key  *ecdsa.PrivateKey
	pool *x509.CertPool
	file string // the CA certificate, PEM
}

func newAuthority(t *testing.T, name string) *authority {
	t.Helper()
	key := newKey(t)
	tmpl := &x509.Certificate{
		SerialNumber:          big.NewInt(1),
		Subject:               pkix.Name{CommonName: name},
		NotBefore:             time.Now().Add(-time.Hour),
		NotAfter:              time.Now().Add(time.Hour),
		IsCA:                  true,
		BasicConstraintsValid: true,
		KeyUsage:              x509.KeyUsageCertSign,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	pool := x509.NewCertPool()
	pool.AddCert(cert)
	file := filepath.Join(t.TempDir(), name+".crt")
	writePEM(t, file, "CERTIFICATE", der)
	return &authority{cert: cert, key: key, pool: pool, file: file}
}

// issue signs a certificate for 127.0.0.1 with the given usage and returns
// it, in memory and as PEM files.
func (a *authority) issue(t *testing.T, name string, usage x509.ExtKeyUsage) (cert tls.Certificate, certFile, keyFile string) {
	t.Helper()
	key := newKey(t)
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(time.Now().UnixNano()),
		Subject:      pkix.Name{CommonName: name},
		NotBefore:    time.Now().Add(-time.Hour),
		NotAfter:     time.Now().Add(time.Hour),
		KeyUsage:     x509.KeyUsageDigitalSignature,
		ExtKeyUsage:  []x509.ExtKeyUsage{usage},
		IPAddresses:  []net.IP{net.IPv4(127, 0, 0, 1)},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, a.cert, &key.PublicKey, a.key)
	if err != nil {
		t.Fatal(err)
	}
	keyDER, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	certFile, keyFile = filepath.Join(dir, name+".crt"), filepath.Join(dir, name+".key")
	writePEM(t, certFile, "CERTIFICATE", der)
	writePEM(t, keyFile, "PRIVATE KEY", keyDER)
	cert, err = tls.LoadX509KeyPair(certFile, keyFile)
	if err != nil {
		t.Fatal(err)
	}
	return cert, certFile, keyFile
}

func newKey(t *testing.T) *ecdsa.PrivateKey {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	return key
}

func writePEM(t *testing.T, file, kind string, der []byte) {
	t.Helper()
	if err := os.WriteFile(file, pem.EncodeToMemory(&pem.Block{Type: kind, Bytes: der}), 0o644); err != nil {
		t.Fatal(err)
	}
}

func TestServesHTTPSWithTLS12OrNewer(t *testing.T) {
	ca := newAuthority(t, "ca")
	_, certFile, keyFile := ca.issue(t, "server", x509.ExtKeyUsageServerAuth)
	p := serve(t, rest.Config{ServerCertFile: certFile, ServerKeyFile: keyFile})
	p.RegisterHTTPHandler("/hello", text("hello"), http.MethodGet)
	url := "https://" + p.Addr().String() + "/hello"

	c := newClient(t, &tls.Config{RootCAs: ca.pool})
	if status, body := do(t, c, "GET", url, nil); status != 200 || body != "hello" {
		t.Errorf("GET %s = %d %q, want 200 hello", url, status, body)
	}

	old := newClient(t, &tls.Config{RootCAs: ca.pool, MaxVersion: tls.VersionTLS11})
	if resp, err := old.Get(url); err == nil {
		resp.Body.Close()
		t.Errorf("GET %s with TLS 1.1 succeeded, want a handshake error", url)
	}
}

func TestClientCertificatesAreVerified(t *testing.T) {
	ca := newAuthority(t, "ca")
	_, certFile, keyFile := ca.issue(t, "server", x509.ExtKeyUsageServerAuth)
	clientCert, _, _ := ca.issue(t, "client", x509.ExtKeyUsageClientAuth)
	stranger := newAuthority(t, "stranger")
	strangerCert, _, _ := stranger.issue(t, "client", x509.ExtKeyUsageClientAuth)

	p := serve(t, rest.Config{ServerCertFile: certFile, ServerKeyFile: keyFile, ClientCAFiles: []string{ca.file}})
	p.RegisterHTTPHandler("/hello", text("hello"), http.MethodGet)
	url := "https://" + p.Addr().String() + "/hello"

	tests := []struct {
		name   string
		certs  []tls.Certificate
		wantOK bool
	}{
		{name: "certificate signed by a client CA", certs: []tls.Certificate{clientCert}, wantOK: true},
		{name: "no certificate"},
		{name: "certificate signed by another CA", certs: []tls.Certificate{strangerCert}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := newClient(t, &tls.Config{RootCAs: ca.pool, Certificates: tt.certs})
			resp, err := c.Get(url)
			if err == nil {
				resp.Body.Close()
			}
			if ok := err == nil && resp.StatusCode == 200; ok != tt.wantOK {
				t.Errorf("GET %s: error %v, want success %v", url, err, tt.wantOK)
			}
		})
	}
}

func TestClientCAFileWithoutCertificateFailsInit(t *testing.T) {
	ca := newAuthority(t, "ca")
	_, certFile, keyFile := ca.issue(t, "server", x509.ExtKeyUsageServerAuth)
	_, err := newPlugin(t, sources{opts: []rest.Option{rest.UseConf(rest.Config{
		ServerCertFile: certFile, ServerKeyFile: keyFile, ClientCAFiles: []string{keyFile},
	})}})
	if err == nil {
		t.Fatal("Init() = nil with a key as client CA, want an error")
	}
	if want := "no PEM certificate"; !contains(err, want) || !contains(err, keyFile) {
		t.Errorf("Init() = %q, want it to name %s and say %q", err, keyFile, want)
	}
}
