package rest

import (
	"fmt"
	"net"
	"strconv"
	"time"
)

// Defaults applied to zero fields of [Config].
const (
	// DefaultEndpoint is the address the server listens on when the config
	// names none.
	DefaultEndpoint = "0.0.0.0:9191"
	// DefaultReadHeaderTimeout bounds how long a client may take to send the
	// request headers; it protects the server from slow-header clients.
	DefaultReadHeaderTimeout = 10 * time.Second
	// DefaultIdleTimeout is how long an idle keep-alive connection stays open.
	DefaultIdleTimeout = 2 * time.Minute
	// DefaultShutdownTimeout is how long Close waits for in-flight requests
	// before it closes their connections.
	DefaultShutdownTimeout = 5 * time.Second
	// DefaultReadTimeout bounds reading a request body, from the moment
	// its handler starts.
	DefaultReadTimeout = 30 * time.Second
	// DefaultMaxBodyBytes bounds the size of a request body: 1 MiB.
	DefaultMaxBodyBytes = 1 << 20
)

// Names of the settings that override the port of the endpoint.
const (
	// PortFlag is the command-line flag that sets the port.
	PortFlag = "http-port"
	// PortEnv is the environment variable that sets the port.
	PortEnv = "HTTP_PORT"
)

// Config is the content of http.conf. A zero Config is valid: it serves plain
// HTTP on [DefaultEndpoint] without authentication.
type Config struct {
	// Endpoint is the host:port to listen on. If empty, DefaultEndpoint is
	// used. Port 0 picks a free port (see Plugin.Addr).
	Endpoint string `yaml:"endpoint"`

	// ReadTimeout bounds reading a request body: a client that sends its
	// headers and then stalls is cut off this long after its handler
	// started. If zero, DefaultReadTimeout (30s) is used; if negative,
	// there is no timeout.
	ReadTimeout time.Duration `yaml:"read-timeout"`
	// MaxBodyBytes limits the size of a request body: a larger one is
	// refused with 413 (at once when its Content-Length says so, else when
	// the handler reads past the limit). If zero, DefaultMaxBodyBytes
	// (1 MiB) is used; if negative, there is no limit.
	MaxBodyBytes int64 `yaml:"max-body-bytes"`
	// TrustedOrigins lists origins ("https://ops.example.com") whose pages
	// may send state-changing requests (POST, PUT, DELETE…) to the agent
	// from a browser. Every other cross-origin state change is refused
	// with 403; requests without Origin and Sec-Fetch-Site headers (curl,
	// agentctl) are not cross-origin.
	TrustedOrigins []string `yaml:"trusted-origins"`
	// AllowRemoteChanges accepts state-changing requests from any peer
	// although neither BasicAuth nor ClientCAFiles is set. By default, the
	// agent then accepts them from loopback peers only; reads and probes
	// stay open to all.
	AllowRemoteChanges bool `yaml:"allow-remote-changes"`
	// ReadHeaderTimeout bounds reading the request headers. If zero,
	// DefaultReadHeaderTimeout (10s) is used; if negative, there is no
	// timeout.
	ReadHeaderTimeout time.Duration `yaml:"read-header-timeout"`
	// WriteTimeout bounds writing the response, from the end of the request
	// headers. If zero or negative, there is no timeout.
	WriteTimeout time.Duration `yaml:"write-timeout"`
	// IdleTimeout is how long a keep-alive connection waits for the next
	// request. If zero, DefaultIdleTimeout (2m) is used; if negative, there is
	// no timeout.
	IdleTimeout time.Duration `yaml:"idle-timeout"`
	// MaxHeaderBytes limits the size of the request headers, in bytes. If
	// zero, net/http's default (1 MiB) is used.
	MaxHeaderBytes int `yaml:"max-header-bytes"`

	// ServerCertFile and ServerKeyFile are PEM files of the server
	// certificate (chain) and its private key. Setting both serves HTTPS with
	// TLS 1.2 or newer; setting one of them is an error.
	ServerCertFile string `yaml:"server-cert-file"`
	ServerKeyFile  string `yaml:"server-key-file"`
	// ClientCAFiles are PEM files of the certificate authorities that sign
	// client certificates. If set, every client must present a certificate
	// signed by one of them. It requires ServerCertFile and ServerKeyFile.
	ClientCAFiles []string `yaml:"client-ca-files"`

	// BasicAuth lists the users allowed in, each as "user:password"; the
	// password may contain ":" but the user may not. If set, every path except
	// /liveness and /readiness requires HTTP basic authentication.
	BasicAuth []string `yaml:"basic-auth"`

	// Disabled turns the server off: AfterInit listens on nothing. Handlers can
	// still be registered, and are reachable through Plugin.Handler.
	Disabled bool `yaml:"disabled"`
}

// withDefaults returns c with the zero fields that have a default filled.
func (c Config) withDefaults() Config {
	if c.Endpoint == "" {
		c.Endpoint = DefaultEndpoint
	}
	if c.ReadHeaderTimeout == 0 {
		c.ReadHeaderTimeout = DefaultReadHeaderTimeout
	}
	if c.IdleTimeout == 0 {
		c.IdleTimeout = DefaultIdleTimeout
	}
	if c.ReadTimeout == 0 {
		c.ReadTimeout = DefaultReadTimeout
	}
	if c.MaxBodyBytes == 0 {
		c.MaxBodyBytes = DefaultMaxBodyBytes
	}
	return c
}

// validate checks what can be checked without touching files.
func (c Config) validate() error {
	if _, _, err := splitEndpoint(c.Endpoint); err != nil {
		return err
	}
	if (c.ServerCertFile == "") != (c.ServerKeyFile == "") {
		return fmt.Errorf("server-cert-file %q and server-key-file %q: set both to serve HTTPS, or neither",
			c.ServerCertFile, c.ServerKeyFile)
	}
	if len(c.ClientCAFiles) > 0 && c.ServerCertFile == "" {
		return fmt.Errorf("client-ca-files needs server-cert-file and server-key-file: client certificates are checked only over HTTPS")
	}
	if c.MaxHeaderBytes < 0 {
		return fmt.Errorf("max-header-bytes %d: want 0 (the default) or more", c.MaxHeaderBytes)
	}
	return nil
}

// splitEndpoint splits host:port and checks the port.
func splitEndpoint(endpoint string) (host string, port int, err error) {
	host, portStr, err := net.SplitHostPort(endpoint)
	if err != nil {
		return "", 0, fmt.Errorf("endpoint %q: want host:port: %w", endpoint, err)
	}
	port, err = parsePort(portStr)
	if err != nil {
		return "", 0, fmt.Errorf("endpoint %q: %w", endpoint, err)
	}
	return host, port, nil
}

// parsePort accepts a decimal TCP port, 0 (any free port) included.
func parsePort(s string) (int, error) {
	port, err := strconv.Atoi(s)
	if err != nil || port < 0 || port > 65535 {
		return 0, fmt.Errorf("port %q: want a number from 0 to 65535", s)
	}
	return port, nil
}
