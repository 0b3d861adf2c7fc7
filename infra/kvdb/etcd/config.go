package etcd

import (
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"os"
	"strings"
	"time"
)

// Defaults applied to zero fields of [Config].
const (
	// DefaultDialTimeout bounds one connection attempt.
	DefaultDialTimeout = 3 * time.Second
	// DefaultOperationTimeout bounds an operation whose context has no
	// deadline.
	DefaultOperationTimeout = 5 * time.Second
	// DefaultWriteAttemptTimeout bounds the first attempt of a put or
	// delete: etcd's default election timeout (1000ms). A write that a
	// follower forwarded to a leader that then died is answered only at
	// the caller's deadline; cut off after about one election, the write is
	// sent again and reaches the new leader.
	DefaultWriteAttemptTimeout = time.Second
	// DefaultWatchErrorTimeout is how long a watch retries an error that
	// retrying does not fix (permission denied) before it ends with it.
	DefaultWatchErrorTimeout = 30 * time.Second
	// DefaultSessionTTL is the TTL of the session lease (see
	// kvdb.WithSession): how long session keys outlive the agent.
	DefaultSessionTTL = 10 * time.Second
	// DefaultReconnectMaxBackoff caps the wait between connection attempts.
	// One second keeps recovery after an etcd restart quick while costing an
	// idle agent one dial per second.
	DefaultReconnectMaxBackoff = time.Second
)

// EndpointsEnv is the environment variable read for the endpoints when the
// config file names none: a comma-separated list.
const EndpointsEnv = "ETCD_ENDPOINTS"

// Config is the content of etcd.conf. A zero Config is valid: the plugin is
// disabled until endpoints come from the file or ETCD_ENDPOINTS.
type Config struct {
	// Endpoints are the client URLs of the etcd members ("host:port" or
	// "http(s)://host:port"). If empty, ETCD_ENDPOINTS is read; if that is
	// empty too, the plugin is disabled.
	Endpoints []string `yaml:"endpoints"`
	// DialTimeout bounds one connection attempt and one connectivity probe.
	// If zero, DefaultDialTimeout (3s) is used.
	DialTimeout time.Duration `yaml:"dial-timeout"`
	// OperationTimeout bounds an operation whose context has no deadline.
	// If zero, DefaultOperationTimeout (5s) is used.
	OperationTimeout time.Duration `yaml:"operation-timeout"`
	// InsecureTransport connects without TLS even when TLS files are set.
	InsecureTransport bool `yaml:"insecure-transport"`
	// TLS configures the client side of TLS (TLS 1.2 or newer). TLS is used
	// when any of its fields is set and InsecureTransport is false.
	TLS TLSConfig `yaml:"tls"`
	// Username and Password authenticate with etcd's auth. Both or neither
	// must be set. The password is never logged.
	Username string `yaml:"username"`
	Password string `yaml:"password"`
	// AutoCompact, if positive, compacts away the revisions older than
	// AutoCompact, every AutoCompact. Zero turns it off (the default; etcd
	// servers usually compact by themselves).
	AutoCompact time.Duration `yaml:"auto-compact"`
	// SessionTTL is the TTL of the session lease that kvdb.WithSession keys
	// use; it is rounded up to whole seconds. If zero, DefaultSessionTTL
	// (10s) is used.
	SessionTTL time.Duration `yaml:"session-ttl"`
	// ReconnectMaxBackoff caps the exponential backoff between connection
	// attempts, which starts at 50ms. If zero, DefaultReconnectMaxBackoff
	// (1s) is used.
	ReconnectMaxBackoff time.Duration `yaml:"reconnect-max-backoff"`
	// WriteAttemptTimeout bounds the first two attempts of a put or
	// delete; each further attempt gets twice the time of the one before,
	// within the operation's deadline, so that a slow but healthy cluster
	// still completes the write. Set it to about the cluster's election
	// timeout.
	// If zero, DefaultWriteAttemptTimeout (1s) is used.
	WriteAttemptTimeout time.Duration `yaml:"write-attempt-timeout"`
	// WatchErrorTimeout is how long a watch keeps retrying an error that
	// retrying does not fix, such as permission denied by etcd's auth:
	// meanwhile the plugin is ERROR with the cause and warns, then the
	// watch ends with the error. If zero, DefaultWatchErrorTimeout (30s)
	// is used.
	WatchErrorTimeout time.Duration `yaml:"watch-error-timeout"`
}

// TLSConfig names the PEM files of the client's TLS setup.
type TLSConfig struct {
	// CertFile and KeyFile are the client certificate and its key, for
	// servers that require client authentication. Both or neither.
	CertFile string `yaml:"cert-file"`
	KeyFile  string `yaml:"key-file"`
	// CAFile holds the certificate authorities that sign the server
	// certificates. If empty, the system roots are used.
	CAFile string `yaml:"ca-file"`
	// InsecureSkipVerify accepts any server certificate. For tests only.
	InsecureSkipVerify bool `yaml:"insecure-skip-verify"`
}

func (t TLSConfig) enabled() bool {
	return t.CertFile != "" || t.KeyFile != "" || t.CAFile != "" || t.InsecureSkipVerify
}

// withDefaults returns c with zero durations replaced by their defaults.
func (c Config) withDefaults() Config {
	c.Endpoints = append([]string(nil), c.Endpoints...)
	if c.DialTimeout == 0 {
		c.DialTimeout = DefaultDialTimeout
	}
	if c.OperationTimeout == 0 {
		c.OperationTimeout = DefaultOperationTimeout
	}
	if c.SessionTTL == 0 {
		c.SessionTTL = DefaultSessionTTL
	}
	if c.ReconnectMaxBackoff == 0 {
		c.ReconnectMaxBackoff = DefaultReconnectMaxBackoff
	}
	if c.WriteAttemptTimeout == 0 {
		c.WriteAttemptTimeout = DefaultWriteAttemptTimeout
	}
	if c.WatchErrorTimeout == 0 {
		c.WatchErrorTimeout = DefaultWatchErrorTimeout
	}
	return c
}

func (c Config) validate() error {
	var errs []error
	for _, d := range []struct {
		key string
		val time.Duration
	}{
		{"dial-timeout", c.DialTimeout}, {"operation-timeout", c.OperationTimeout},
		{"auto-compact", c.AutoCompact}, {"session-ttl", c.SessionTTL},
		{"reconnect-max-backoff", c.ReconnectMaxBackoff}, {"write-attempt-timeout", c.WriteAttemptTimeout},
		{"watch-error-timeout", c.WatchErrorTimeout},
	} {
		if d.val < 0 {
			errs = append(errs, fmt.Errorf("%s must not be negative, got %s", d.key, d.val))
		}
	}
	for _, ep := range c.Endpoints {
		if strings.TrimSpace(ep) == "" {
			errs = append(errs, errors.New("endpoints: empty endpoint"))
		}
	}
	if (c.Username == "") != (c.Password == "") {
		errs = append(errs, errors.New("username and password must be set together"))
	}
	if (c.TLS.CertFile == "") != (c.TLS.KeyFile == "") {
		errs = append(errs, errors.New("tls: cert-file and key-file must be set together"))
	}
	return errors.Join(errs...)
}

// String describes c for logs, without the password.
func (c Config) String() string {
	var b strings.Builder
	fmt.Fprintf(&b, "endpoints=%v dial-timeout=%s operation-timeout=%s", c.Endpoints, c.DialTimeout, c.OperationTimeout)
	switch {
	case c.InsecureTransport || !c.TLS.enabled():
		b.WriteString(" tls=off")
	default:
		b.WriteString(" tls=on")
	}
	if c.Username != "" {
		fmt.Fprintf(&b, " username=%s", c.Username)
	}
	if c.AutoCompact > 0 {
		fmt.Fprintf(&b, " auto-compact=%s", c.AutoCompact)
	}
	return b.String()
}

// tlsConfig loads the TLS files, or returns nil when TLS is off.
func (c Config) tlsConfig() (*tls.Config, error) {
	if c.InsecureTransport || !c.TLS.enabled() {
		return nil, nil
	}
	tc := &tls.Config{
		MinVersion:         tls.VersionTLS12,
		InsecureSkipVerify: c.TLS.InsecureSkipVerify, //nolint:gosec // opt-in, documented as test-only
	}
	if c.TLS.CertFile != "" {
		cert, err := tls.LoadX509KeyPair(c.TLS.CertFile, c.TLS.KeyFile)
		if err != nil {
			return nil, fmt.Errorf("tls: load client certificate: %w", err)
		}
		tc.Certificates = []tls.Certificate{cert}
	}
	if c.TLS.CAFile != "" {
		pem, err := os.ReadFile(c.TLS.CAFile)
		if err != nil {
			return nil, fmt.Errorf("tls: read ca-file: %w", err)
		}
		pool := x509.NewCertPool()
		if !pool.AppendCertsFromPEM(pem) {
			return nil, fmt.Errorf("tls: ca-file %s: no PEM certificate found", c.TLS.CAFile)
		}
		tc.RootCAs = pool
	}
	return tc, nil
}

// splitEndpoints parses the comma-separated list of ETCD_ENDPOINTS.
func splitEndpoints(s string) []string {
	var eps []string
	for ep := range strings.SplitSeq(s, ",") {
		if ep = strings.TrimSpace(ep); ep != "" {
			eps = append(eps, ep)
		}
	}
	return eps
}
