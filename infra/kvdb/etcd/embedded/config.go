package embedded

import (
	"errors"
	"fmt"
	"net"
	"strconv"
	"strings"
	"time"
)

// Defaults of [Config]; a zero field takes the matching value.
const (
	DefaultName         = "plinth"
	DefaultDataDir      = "./.plinth/etcd"
	DefaultClientAddr   = "127.0.0.1:2379"
	DefaultPeerAddr     = "127.0.0.1:2380"
	DefaultStartTimeout = 30 * time.Second
)

// Cluster states accepted by [Config].ClusterState.
const (
	// ClusterStateNew bootstraps a new cluster from InitialCluster.
	ClusterStateNew = "new"
	// ClusterStateExisting joins a cluster that is already running; the
	// member must have been added to it first (etcdctl member add).
	ClusterStateExisting = "existing"
)

// Config is the configuration of an embedded etcd server, the content of
// etcd-server.conf. A zero Config is valid: a single-member cluster named
// "plinth" serving 127.0.0.1:2379 with its data under ./.plinth/etcd.
type Config struct {
	// Disabled turns the plugin off: Init starts nothing. [Start] ignores it.
	Disabled bool `yaml:"disabled"`
	// Name is the member name, unique in the cluster. If empty,
	// DefaultName ("plinth") is used.
	Name string `yaml:"name"`
	// DataDir is where the member keeps its data; it is created when
	// missing. If empty, DefaultDataDir ("./.plinth/etcd") is used.
	DataDir string `yaml:"data-dir"`
	// ClientAddr is the host:port serving clients. Port 0 picks a free
	// port; [Server.Endpoints] tells which. If empty, DefaultClientAddr
	// ("127.0.0.1:2379") is used.
	ClientAddr string `yaml:"client-address"`
	// PeerAddr is the host:port serving the other members. Port 0 picks a
	// free port. If empty, DefaultPeerAddr ("127.0.0.1:2380") is used.
	PeerAddr string `yaml:"peer-address"`
	// InitialCluster lists the members of a new multi-member cluster as
	// "name=http://host:port,..." (peer URLs); it must contain this member
	// with http://PeerAddr. If empty, the member forms a cluster of its own.
	// It is only read when the data dir is new.
	InitialCluster string `yaml:"initial-cluster"`
	// ClusterState is ClusterStateNew ("new", the default) or
	// ClusterStateExisting ("existing").
	ClusterState string `yaml:"cluster-state"`
	// UnsafeNoFsync skips fsync: about four times faster writes, and data
	// loss when the machine (not only the process) crashes. For tests and
	// development only.
	UnsafeNoFsync bool `yaml:"unsafe-no-fsync"`
	// NoGRPCGateway turns off etcd's JSON gateway (HTTP /v3/…) on the
	// client port; gRPC clients such as etcdctl and the etcd plugin are
	// unaffected. Set in code only: test servers started before a test
	// binary's m.Run use it, because the gateway's websocket proxy reads
	// os.Stderr on a goroutine of its own while the testing package may be
	// replacing it (go test -json).
	NoGRPCGateway bool `yaml:"-"`
	// StartTimeout bounds the start until the member is ready to serve
	// (for a cluster member: until the cluster has a leader). If zero,
	// DefaultStartTimeout (30s) is used.
	StartTimeout time.Duration `yaml:"start-timeout"`
	// ClientTLS serves clients over TLS (1.2 or newer) when its CertFile and
	// KeyFile are set. If zero, clients are served in plain text. Peers are
	// always served in plain text.
	ClientTLS TLSConfig `yaml:"client-tls"`
}

// TLSConfig names the PEM files of the server side of TLS for clients.
type TLSConfig struct {
	// CertFile and KeyFile are the server certificate (it must name the
	// client address) and its private key. Set both or neither.
	CertFile string `yaml:"cert-file"`
	KeyFile  string `yaml:"key-file"`
	// ClientCAFile holds the authorities that sign client certificates. If
	// set, every client must present a certificate signed by one of them.
	// It needs CertFile and KeyFile.
	ClientCAFile string `yaml:"client-ca-file"`
}

// enabled reports whether clients are served over TLS.
func (t TLSConfig) enabled() bool { return t.CertFile != "" }

// withDefaults returns c with every zero field set to its default.
func (c Config) withDefaults() Config {
	if c.Name == "" {
		c.Name = DefaultName
	}
	if c.DataDir == "" {
		c.DataDir = DefaultDataDir
	}
	if c.ClientAddr == "" {
		c.ClientAddr = DefaultClientAddr
	}
	if c.PeerAddr == "" {
		c.PeerAddr = DefaultPeerAddr
	}
	if c.ClusterState == "" {
		c.ClusterState = ClusterStateNew
	}
	if c.StartTimeout == 0 {
		c.StartTimeout = DefaultStartTimeout
	}
	return c
}

// validate checks a config that went through withDefaults.
func (c Config) validate() error {
	var errs []error
	for _, a := range []struct{ key, addr string }{
		{"client-address", c.ClientAddr},
		{"peer-address", c.PeerAddr},
	} {
		if _, err := splitPort(a.addr); err != nil {
			errs = append(errs, fmt.Errorf("%s: %w", a.key, err))
		}
	}
	if c.ClusterState != ClusterStateNew && c.ClusterState != ClusterStateExisting {
		errs = append(errs, fmt.Errorf("cluster-state: %q is neither %q nor %q",
			c.ClusterState, ClusterStateNew, ClusterStateExisting))
	}
	if c.StartTimeout < 0 {
		errs = append(errs, fmt.Errorf("start-timeout: %v is negative", c.StartTimeout))
	}
	if (c.ClientTLS.CertFile == "") != (c.ClientTLS.KeyFile == "") {
		errs = append(errs, errors.New("client-tls: cert-file and key-file must be set together"))
	}
	if c.ClientTLS.ClientCAFile != "" && !c.ClientTLS.enabled() {
		errs = append(errs, errors.New("client-tls: client-ca-file needs cert-file and key-file"))
	}
	if c.InitialCluster != "" {
		if err := checkInitialCluster(c.InitialCluster); err != nil {
			errs = append(errs, fmt.Errorf("initial-cluster: %w", err))
		}
		if port, err := splitPort(c.PeerAddr); err == nil && port == 0 {
			errs = append(errs, fmt.Errorf("peer-address: port 0 cannot be used with initial-cluster, which names every peer port"))
		}
	}
	return errors.Join(errs...)
}

// splitPort checks that addr is host:port with a numeric port (0 allowed)
// and returns the port.
func splitPort(addr string) (int, error) {
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		return 0, fmt.Errorf("%q is not host:port: %w", addr, err)
	}
	if host == "" {
		return 0, fmt.Errorf("%q has no host: use 127.0.0.1 or 0.0.0.0", addr)
	}
	n, err := strconv.Atoi(port)
	if err != nil || n < 0 || n > 65535 {
		return 0, fmt.Errorf("%q has an invalid port", addr)
	}
	return n, nil
}

// checkInitialCluster catches the usual typos early, with a clearer message
// than etcd gives.
func checkInitialCluster(s string) error {
	for _, m := range strings.Split(s, ",") {
		name, u, ok := strings.Cut(m, "=")
		if !ok || name == "" || u == "" {
			return fmt.Errorf("member %q is not name=http://host:port", m)
		}
		if !strings.HasPrefix(u, "http://") && !strings.HasPrefix(u, "https://") {
			return fmt.Errorf("member %q: the peer URL needs a scheme (http://)", m)
		}
	}
	return nil
}
