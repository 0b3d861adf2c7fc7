package securitytest

import (
	"context"
	"crypto/tls"
	"strings"
	"sync"
	"testing"
	"time"

	clientv3 "go.etcd.io/etcd/client/v3"
	"go.uber.org/zap"

	"github.com/plinth-go/plinth/agent"
	"github.com/plinth-go/plinth/agent/agenttest"
	"github.com/plinth-go/plinth/infra/kvdb/etcd"
	"github.com/plinth-go/plinth/infra/kvdb/etcd/embedded"
	"github.com/plinth-go/plinth/internal/testpki"
	"github.com/plinth-go/plinth/logging"
)

const etcdRootPassword = "k3Zp9vQ2rT7wX4yB8nM1"

// Bounds of one dial of the etcd plugin, and so of its Close, which waits
// for a dial under way (clientv3.New does not watch the plugin's context).
const (
	// etcdDialTimeout is for dials that must get through the TLS handshake
	// and the server's bcrypt check of the password: milliseconds without
	// the race detector, up to 5s with it on a busy machine. A dial cut
	// short fails for want of time rather than for the reason a test is
	// about.
	etcdDialTimeout = 30 * time.Second
	// refusedDialTimeout is for dials that cannot succeed: the server
	// refuses them in the TLS handshake, or they speak plain text to it.
	// gRPC reports such a failure only when the dial times out, which
	// makes the test wait that long; no password is checked, and the
	// plugin diagnoses a refused handshake with one of its own, bounded
	// as long.
	refusedDialTimeout = 5 * time.Second
	// rejectTimeout bounds the wait for the plugin to report why etcd
	// refused it: several attempts of either kind.
	rejectTimeout = 2 * time.Minute
)

// startEtcdAgent starts an agent with the etcd plugin p, logging to reg,
// whose stop timeout leaves room for a dial under way.
func startEtcdAgent(t *testing.T, reg *logging.Registry, p *etcd.Plugin) {
	t.Helper()
	agenttest.Start(t, agent.Logs(reg), agent.AllPlugins(p), agent.StopTimeout(2*etcdDialTimeout))
}

// secureEtcd is an embedded etcd server that serves clients over mutual
// TLS and has auth enabled with a root user.
type secureEtcd struct {
	server *embedded.Server
	ca     *testpki.Authority
	client testpki.Cert
}

func startSecureEtcd(t *testing.T) secureEtcd {
	t.Helper()
	ca := testpki.NewAuthority(t, "etcd CA")
	serverCert := ca.Issue(t, "etcd", testpki.Server)
	clientCert := ca.Issue(t, "agent", testpki.Client)
	ctx, cancel := context.WithTimeout(t.Context(), 30*time.Second)
	defer cancel()
	s, err := embedded.Start(ctx, embedded.Config{
		DataDir: t.TempDir(), ClientAddr: "127.0.0.1:0", PeerAddr: "127.0.0.1:0", UnsafeNoFsync: true,
		ClientTLS: embedded.TLSConfig{CertFile: serverCert.CertFile, KeyFile: serverCert.KeyFile, ClientCAFile: ca.CertFile},
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })

	// etcd has no user until one is added: enable auth the way an operator
	// does, with a root user, over a raw client.
	cli, err := clientv3.New(clientv3.Config{
		Endpoints: s.Endpoints(), DialTimeout: 5 * time.Second, Logger: zap.NewNop(),
		TLS: &tls.Config{MinVersion: tls.VersionTLS12, RootCAs: ca.Pool, Certificates: []tls.Certificate{clientCert.TLS}},
	})
	if err != nil {
		t.Fatal(err)
	}
	defer cli.Close()
	steps := []func() error{
		func() error { _, err := cli.UserAdd(ctx, "root", etcdRootPassword); return err },
		func() error { _, err := cli.RoleAdd(ctx, "root"); return err },
		func() error { _, err := cli.UserGrantRole(ctx, "root", "root"); return err },
		func() error { _, err := cli.AuthEnable(ctx); return err },
	}
	for _, step := range steps {
		if err := step(); err != nil {
			t.Fatalf("enable etcd auth: %v", err)
		}
	}
	return secureEtcd{server: s, ca: ca, client: clientCert}
}

// statusLog records what the plugin reports about its connection.
type statusLog struct {
	mu   sync.Mutex
	last error
	ok   bool
	seen chan struct{}
}

func watchStatus(p *etcd.Plugin) *statusLog {
	s := &statusLog{seen: make(chan struct{}, 1)}
	p.SetStatusReporter(func(ok bool, err error) {
		s.mu.Lock()
		s.ok, s.last = ok, err
		s.mu.Unlock()
		select {
		case s.seen <- struct{}{}:
		default:
		}
	})
	return s
}

// waitError waits until the plugin reports an error containing want.
func (s *statusLog) waitError(t *testing.T, want string) error {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), rejectTimeout)
	defer cancel()
	for {
		s.mu.Lock()
		ok, err := s.ok, s.last
		s.mu.Unlock()
		if !ok && err != nil && strings.Contains(err.Error(), want) {
			return err
		}
		select {
		case <-s.seen:
		case <-time.After(50 * time.Millisecond):
		case <-ctx.Done():
			t.Fatalf("the etcd plugin reported ok=%v err=%v, want an error containing %q", ok, err, want)
		}
	}
}

// TestEtcdPluginWithTLSAndPassword connects the etcd plugin to an etcd that
// requires client certificates and a password: the right setup reads and
// writes; every wrong one fails with a reported error that says why (the
// TLS cause included, which gRPC alone hides behind a deadline), and the
// password appears in no log record, even at trace level.
func TestEtcdPluginWithTLSAndPassword(t *testing.T) {
	e := startSecureEtcd(t)
	other := testpki.NewAuthority(t, "another CA")
	stranger := other.Issue(t, "stranger", testpki.Client)
	good := etcd.Config{
		Endpoints: e.server.Endpoints(), DialTimeout: etcdDialTimeout, OperationTimeout: etcdDialTimeout,
		ReconnectMaxBackoff: 200 * time.Millisecond,
		TLS:                 etcd.TLSConfig{CAFile: e.ca.CertFile, CertFile: e.client.CertFile, KeyFile: e.client.KeyFile},
		Username:            "root", Password: etcdRootPassword,
	}

	t.Run("accepted", func(t *testing.T) {
		reg, logs := newTraceRegistry()
		p := etcd.NewPlugin(etcd.UseConf(good))
		startEtcdAgent(t, reg, p)
		// Room for a dial cut short and one more.
		ctx, cancel := context.WithTimeout(t.Context(), 3*etcdDialTimeout)
		defer cancel()
		b := p.NewBroker("/security/")
		if err := b.Put(ctx, "k", []byte("v")); err != nil {
			t.Fatalf("Put over TLS with the password: %v", err)
		}
		v, found, _, err := b.Get(ctx, "k")
		if err != nil || !found || string(v) != "v" {
			t.Fatalf("Get = %q, %v, %v; want v", v, found, err)
		}
		assertNoSecret(t, "the log", logs.String(), etcdRootPassword)
	})

	rejected := []struct {
		name    string
		mutate  func(c *etcd.Config)
		wantErr string
	}{
		{"wrong password", func(c *etcd.Config) { c.Password = etcdRootPassword + "-wrong" }, "authentication failed"},
		{"unknown user", func(c *etcd.Config) { c.Username = "mallory" }, "authentication failed"},
		{"no client certificate", func(c *etcd.Config) {
			c.TLS.CertFile, c.TLS.KeyFile, c.DialTimeout = "", "", refusedDialTimeout
		}, "tls: certificate required"},
		{"client certificate of another authority", func(c *etcd.Config) {
			c.TLS.CertFile, c.TLS.KeyFile, c.DialTimeout = stranger.CertFile, stranger.KeyFile, refusedDialTimeout
		}, "tls: certificate required"},
		{"server certificate not trusted", func(c *etcd.Config) {
			c.TLS.CAFile, c.DialTimeout = other.CertFile, refusedDialTimeout
		}, "certificate signed by unknown authority"},
	}
	// Each TLS rejection is reported only after a dial timeout: wait for
	// them all at once.
	t.Run("rejected", func(t *testing.T) {
		for _, tt := range rejected {
			t.Run(tt.name, func(t *testing.T) {
				t.Parallel()
				reg, logs := newTraceRegistry()
				cfg := good
				cfg.Endpoints = append([]string(nil), good.Endpoints...)
				tt.mutate(&cfg)
				p := etcd.NewPlugin(etcd.UseConf(cfg))
				status := watchStatus(p)
				startEtcdAgent(t, reg, p)
				err := status.waitError(t, tt.wantErr)
				ctx, cancel := context.WithTimeout(t.Context(), time.Second)
				defer cancel()
				perr := p.NewBroker("/security/").Put(ctx, "k", []byte("v"))
				if perr == nil {
					t.Fatalf("Put succeeded with %s", tt.name)
				}
				if p.Connected() {
					t.Error("the plugin reports itself connected")
				}
				t.Logf("reported: %v; put: %v", err, perr)
				assertNoSecret(t, "the reported error", err.Error(), etcdRootPassword)
				assertNoSecret(t, "the Put error", perr.Error(), etcdRootPassword)
				assertNoSecret(t, "the log", logs.String(), etcdRootPassword)
			})
		}
	})
}

// TestEtcdPluginWithoutTLSCannotTalkToATLSServer: a plain-text client gets
// nowhere with a server that requires TLS.
func TestEtcdPluginWithoutTLSCannotTalkToATLSServer(t *testing.T) {
	e := startSecureEtcd(t)
	p := etcd.NewPlugin(etcd.UseConf(etcd.Config{
		Endpoints: e.server.Endpoints(), DialTimeout: refusedDialTimeout, Username: "root", Password: etcdRootPassword,
	}))
	reg, logs := newTraceRegistry()
	status := watchStatus(p)
	startEtcdAgent(t, reg, p)
	status.waitError(t, "context deadline exceeded")
	ctx, cancel := context.WithTimeout(t.Context(), time.Second)
	defer cancel()
	if err := p.NewBroker("/security/").Put(ctx, "k", []byte("v")); err == nil {
		t.Fatal("Put in plain text to a TLS server succeeded")
	}
	assertNoSecret(t, "the log", logs.String(), etcdRootPassword)
}
