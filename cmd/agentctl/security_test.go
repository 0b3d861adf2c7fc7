package main

import (
	"crypto/tls"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/plinth-go/plinth/infra/rest"
	"github.com/plinth-go/plinth/internal/testpki"
)

// TestAgainstRealAgentWithMutualTLSAndBasicAuth runs status and log list
// against an agent that serves HTTPS, verifies client certificates and
// requires basic authentication: only a client with the right authority,
// certificate and password gets in, and /readiness still needs no password.
func TestAgainstRealAgentWithMutualTLSAndBasicAuth(t *testing.T) {
	ca := testpki.NewAuthority(t, "agent CA")
	other := testpki.NewAuthority(t, "another CA")
	server := ca.Issue(t, "agent", testpki.Server)
	client := ca.Issue(t, "operator", testpki.Client)
	stranger := other.Issue(t, "stranger", testpki.Client)
	const password = "Wq9XB3yS1r2mT8uKc4vL"

	a := startRealAgent(t, rest.Config{
		ServerCertFile: server.CertFile, ServerKeyFile: server.KeyFile,
		ClientCAFiles: []string{ca.CertFile},
		BasicAuth:     []string{"ops:" + password},
	})
	base := a.env
	with := func(kv ...string) env {
		e := env{}
		for k, v := range base {
			e[k] = v
		}
		for i := 0; i < len(kv); i += 2 {
			e[kv[i]] = kv[i+1]
		}
		return e
	}
	trusted := with("AGENTCTL_HTTP_CA_FILE", ca.CertFile,
		"AGENTCTL_HTTP_CERT_FILE", client.CertFile, "AGENTCTL_HTTP_KEY_FILE", client.KeyFile,
		"AGENTCTL_TIMEOUT", "3s")
	authed := with("AGENTCTL_HTTP_CA_FILE", ca.CertFile,
		"AGENTCTL_HTTP_CERT_FILE", client.CertFile, "AGENTCTL_HTTP_KEY_FILE", client.KeyFile,
		"AGENTCTL_HTTP_BASIC_AUTH", "ops:"+password, "AGENTCTL_TIMEOUT", "3s")

	// The probe reports ready once the status check has its first snapshot.
	waitFor := func(e env) {
		t.Helper()
		for range 200 {
			if e.agentctl(t, "", "status").code == exitVerdictOK {
				return
			}
		}
		t.Fatal("the agent never answered ready over mutual TLS")
	}
	waitFor(trusted)

	t.Run("accepted", func(t *testing.T) {
		if out := trusted.agentctl(t, "", "status").ok(t); !strings.Contains(out, "Agent:    OK, ready") {
			t.Errorf("status over mutual TLS without a password printed\n%s", out)
		}
		if out := authed.agentctl(t, "", "log", "list").ok(t); !strings.HasPrefix(out, "LOGGER") {
			t.Errorf("log list over mutual TLS with the password printed\n%s", out)
		}
		// The flags work as the environment does.
		authed.agentctl(t, "", "log", "list", "--http-basic-auth", "ops:"+password).ok(t)
	})

	rejected := []struct {
		name     string
		env      env
		args     []string
		wantCode int
		wantErr  string
	}{
		{"plain HTTP to an HTTPS agent", base, []string{"status"}, exitVerdictUnknown, "400 Bad Request"},
		{"no client certificate", with("AGENTCTL_HTTP_CA_FILE", ca.CertFile, "AGENTCTL_HTTP_BASIC_AUTH", "ops:"+password),
			[]string{"log", "list"}, exitError, "TLS handshake failed"},
		{"client certificate of another authority",
			with("AGENTCTL_HTTP_CA_FILE", ca.CertFile, "AGENTCTL_HTTP_CERT_FILE", stranger.CertFile,
				"AGENTCTL_HTTP_KEY_FILE", stranger.KeyFile, "AGENTCTL_HTTP_BASIC_AUTH", "ops:"+password),
			[]string{"log", "list"}, exitError, "TLS handshake failed"},
		{"agent certificate not trusted", with("AGENTCTL_HTTP_CA_FILE", other.CertFile,
			"AGENTCTL_HTTP_CERT_FILE", client.CertFile, "AGENTCTL_HTTP_KEY_FILE", client.KeyFile),
			[]string{"status"}, exitVerdictUnknown, "certificate signed by unknown authority"},
		{"system roots do not know the test authority", with("AGENTCTL_HTTP_TLS", "true",
			"AGENTCTL_HTTP_CERT_FILE", client.CertFile, "AGENTCTL_HTTP_KEY_FILE", client.KeyFile),
			[]string{"status"}, exitVerdictUnknown, "certificate signed by unknown authority"},
		{"mutual TLS without a password", trusted, []string{"log", "list"}, exitError, "401 Unauthorized"},
		{"wrong password", trusted, []string{"log", "list", "--http-basic-auth", "ops:" + password + "x"}, exitError, "401 Unauthorized"},
		{"wrong user", trusted, []string{"log", "list", "--http-basic-auth", "root:" + password}, exitError, "401 Unauthorized"},
		{"empty password", trusted, []string{"log", "list", "--http-basic-auth", "ops:"}, exitError, "401 Unauthorized"},
		{"certificate without its key", with("AGENTCTL_HTTP_CERT_FILE", client.CertFile), []string{"log", "list"},
			exitUsage, "--http-cert-file and --http-key-file must be set together"},
		{"key that does not match the certificate", with("AGENTCTL_HTTP_CERT_FILE", client.CertFile,
			"AGENTCTL_HTTP_KEY_FILE", stranger.KeyFile), []string{"log", "list"}, exitError, "--http-cert-file"},
		{"missing authority file", with("AGENTCTL_HTTP_CA_FILE", ca.CertFile+".missing"), []string{"log", "list"},
			exitError, "--http-ca-file"},
	}
	for _, tt := range rejected {
		t.Run("rejected/"+tt.name, func(t *testing.T) {
			r := tt.env.agentctl(t, "", tt.args...)
			if r.code != tt.wantCode || !strings.Contains(r.stderr, tt.wantErr) {
				t.Errorf("%v = (%d, %q), want exit %d and %q", tt.args, r.code, r.stderr, tt.wantCode, tt.wantErr)
			}
			if strings.Contains(r.stderr, password) || strings.Contains(r.stdout, password) {
				t.Errorf("agentctl printed the password: %q %q", r.stdout, r.stderr)
			}
		})
	}
}

// TestHTTPSRefusesTLS11Clients: the agent's HTTPS accepts TLS 1.2 or newer
// only, whatever the client offers.
func TestHTTPSRefusesTLS11Clients(t *testing.T) {
	ca := testpki.NewAuthority(t, "agent CA")
	server := ca.Issue(t, "agent", testpki.Server)
	a := startRealAgent(t, rest.Config{ServerCertFile: server.CertFile, ServerKeyFile: server.KeyFile})
	g := &globalOptions{host: a.env["AGENTCTL_HOST"], timeout: 3 * time.Second, httpCAFile: ca.CertFile}
	g.httpPort, _ = strconv.Atoi(a.env["AGENTCTL_HTTP_PORT"])
	tc, err := g.loadTLS()
	if err != nil {
		t.Fatal(err)
	}
	tc.MinVersion, tc.MaxVersion = tls.VersionTLS10, tls.VersionTLS11
	g.tlsConfig = tc
	if _, err := g.agentClient().do(t.Context(), http.MethodGet, readinessPath, nil); err == nil ||
		!strings.Contains(err.Error(), "protocol version") {
		t.Errorf("GET /readiness with TLS 1.1 = %v, want a protocol version alert", err)
	}
	tc.MinVersion, tc.MaxVersion = tls.VersionTLS12, 0
	if _, err := g.agentClient().do(t.Context(), http.MethodGet, readinessPath, nil); err != nil {
		t.Errorf("GET /readiness with TLS 1.2+ = %v", err)
	}
}
