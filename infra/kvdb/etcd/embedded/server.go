package embedded

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/url"
	"strconv"
	"sync"
	"sync/atomic"
	"syscall"

	"go.etcd.io/etcd/client/pkg/v3/tlsutil"
	"go.etcd.io/etcd/client/pkg/v3/transport"
	"go.etcd.io/etcd/server/v3/embed"
	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"
	"google.golang.org/grpc"

	"github.com/plinth-go/plinth/logging"
)

// ErrAddressInUse is wrapped by the error of [Start] when the client or
// peer address is taken by another process (often another etcd). The
// message names the address.
var ErrAddressInUse = errors.New("address already in use")

// Server is a running etcd member. Create it with [Start]; stop it with
// [Server.Close]. Its methods are safe for concurrent use.
type Server struct {
	etcd      *embed.Etcd
	name      string
	endpoint  string // advertised client address, host:port
	peerURL   string
	streams   streamCloser
	ready     bool // set before Start returns the server
	closing   *atomic.Bool
	closeOnce sync.Once
}

// ServerOption customizes [Start] in code.
type ServerOption func(*serverOptions)

type serverOptions struct {
	log logging.Logger
}

// WithLogger routes etcd's own log into log: etcd errors are written at
// warning level, etcd warnings at debug level, everything below is dropped.
// Without it etcd logs nothing.
func WithLogger(log logging.Logger) ServerOption {
	return func(o *serverOptions) { o.log = log }
}

// pickAttempts is how often Start tries again when a port it picked as
// free was taken by someone else before etcd bound it.
const pickAttempts = 3

// Start starts an etcd member configured by cfg and returns once it is ready
// to serve clients: for a single member at once, for a member of a
// multi-member cluster when the cluster has a leader. The start is bounded
// by ctx and by cfg.StartTimeout; on failure nothing is left running.
//
// A client or peer address in use gives an error wrapping [ErrAddressInUse].
// The caller must Close the server.
func Start(ctx context.Context, cfg Config, opts ...ServerOption) (*Server, error) {
	cfg = cfg.withDefaults()
	if err := cfg.validate(); err != nil {
		return nil, fmt.Errorf("embedded etcd: config: %w", err)
	}
	var o serverOptions
	for _, opt := range opts {
		opt(&o)
	}
	ctx, cancel := context.WithTimeout(ctx, cfg.StartTimeout)
	defer cancel()
	for attempt := 1; ; attempt++ {
		s, picked, err := start(ctx, cfg, o)
		if err == nil {
			return s, nil
		}
		if !picked || !errors.Is(err, ErrAddressInUse) || attempt == pickAttempts || ctx.Err() != nil {
			return nil, err
		}
	}
}

// start makes one attempt. picked reports whether a port was picked here
// (port 0), so that an address in use is worth another attempt.
func start(ctx context.Context, cfg Config, o serverOptions) (s *Server, picked bool, err error) {
	client, clientPicked, err := resolveAddr("client", cfg.ClientAddr)
	if err != nil {
		return nil, false, err
	}
	peer, peerPicked, err := resolveAddr("peer", cfg.PeerAddr)
	if err != nil {
		return nil, clientPicked, err
	}
	picked = clientPicked || peerPicked

	s = &Server{name: cfg.Name, closing: new(atomic.Bool)}
	s.streams.ctx, s.streams.cancel = context.WithCancel(context.Background())

	cu := url.URL{Scheme: "http", Host: client}
	pu := url.URL{Scheme: "http", Host: peer}
	ec := embed.NewConfig()
	if t := cfg.ClientTLS; t.enabled() {
		cu.Scheme = "https"
		ec.ClientTLSInfo = transport.TLSInfo{
			CertFile:       t.CertFile,
			KeyFile:        t.KeyFile,
			TrustedCAFile:  t.ClientCAFile,
			ClientCertAuth: t.ClientCAFile != "",
		}
		ec.TlsMinVersion = string(tlsutil.TLSVersion12)
	}
	ec.Name = cfg.Name
	ec.Dir = cfg.DataDir
	ec.ListenClientUrls = []url.URL{cu}
	ec.AdvertiseClientUrls = []url.URL{advertised(cu)}
	ec.ListenPeerUrls = []url.URL{pu}
	ec.AdvertisePeerUrls = []url.URL{advertised(pu)}
	ec.InitialCluster = cfg.InitialCluster
	if ec.InitialCluster == "" {
		ec.InitialCluster = ec.InitialClusterFromName(ec.Name)
	}
	ec.ClusterState = cfg.ClusterState
	ec.UnsafeNoFsync = cfg.UnsafeNoFsync
	ec.EnableGRPCGateway = !cfg.NoGRPCGateway
	ec.ZapLoggerBuilder = embed.NewZapLoggerBuilder(newZapLogger(o.log, s.closing))
	ec.GRPCAdditionalServerOptions = []grpc.ServerOption{
		grpc.ChainStreamInterceptor(s.streams.intercept),
	}
	s.endpoint = ec.AdvertiseClientUrls[0].Host
	s.peerURL = ec.AdvertisePeerUrls[0].String()

	e, err := startEtcd(ec)
	if err != nil {
		s.streams.cancel()
		if errors.Is(err, syscall.EADDRINUSE) {
			return nil, picked, fmt.Errorf("embedded etcd: member %q: %w (client %s, peer %s): %v",
				cfg.Name, ErrAddressInUse, client, peer, err)
		}
		return nil, picked, fmt.Errorf("embedded etcd: start member %q in %s: %w", cfg.Name, cfg.DataDir, err)
	}
	s.etcd = e

	select {
	case <-e.Server.ReadyNotify():
		s.ready = true
		return s, picked, nil
	case err := <-e.Err():
		s.Close()
		return nil, picked, fmt.Errorf("embedded etcd: member %q failed while starting: %w", cfg.Name, err)
	case <-ctx.Done():
		s.Close()
		hint := ""
		if cfg.InitialCluster != "" {
			hint = " (a cluster member is ready only when a majority of initial-cluster runs)"
		}
		return nil, picked, fmt.Errorf("embedded etcd: member %q not ready%s: %w", cfg.Name, hint, ctx.Err())
	}
}

// startEtcd calls embed.StartEtcd, turning the panic that etcd's fatal log
// causes (see newZapLogger) into an error.
func startEtcd(ec *embed.Config) (e *embed.Etcd, err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("%v", r)
		}
	}()
	return embed.StartEtcd(ec)
}

// resolveAddr replaces port 0 with a free port and checks that a fixed port
// is free, so that the error names the address rather than an etcd
// internal. The check races with other processes, which etcd's own bind then
// reports.
func resolveAddr(kind, addr string) (resolved string, picked bool, err error) {
	host, port, _ := net.SplitHostPort(addr) // validated before
	l, err := net.Listen("tcp", addr)
	if err != nil {
		if errors.Is(err, syscall.EADDRINUSE) {
			return "", false, fmt.Errorf("embedded etcd: %s address %s: %w", kind, addr, ErrAddressInUse)
		}
		return "", false, fmt.Errorf("embedded etcd: %s address %s: %w", kind, addr, err)
	}
	if port == "0" {
		port, picked = strconv.Itoa(l.Addr().(*net.TCPAddr).Port), true
	}
	if err := l.Close(); err != nil {
		return "", false, fmt.Errorf("embedded etcd: %s address %s: %w", kind, addr, err)
	}
	return net.JoinHostPort(host, port), picked, nil
}

// advertised returns the URL others use to reach a listen URL: a wildcard
// host (0.0.0.0, ::) cannot be dialed, so loopback is advertised instead.
func advertised(u url.URL) url.URL {
	host, port, _ := net.SplitHostPort(u.Host)
	if ip := net.ParseIP(host); ip != nil && ip.IsUnspecified() {
		u.Host = net.JoinHostPort("127.0.0.1", port)
	}
	return u
}

// Endpoints returns the client endpoints of the member as host:port, ready
// for clientv3.Config.Endpoints. Callers may modify the returned slice.
func (s *Server) Endpoints() []string { return []string{s.endpoint} }

// PeerURL returns the URL the other members reach this one at, as it
// appears in an initial-cluster list.
func (s *Server) PeerURL() string { return s.peerURL }

// Name returns the member name.
func (s *Server) Name() string { return s.name }

// Close stops the member and waits until it has stopped. Open client streams
// (watches, lease keep-alives) are cut rather than waited for, so Close takes
// milliseconds; still, close clients first, so that they do not spend the
// time reconnecting. Close is idempotent and always returns nil.
func (s *Server) Close() error {
	s.closeOnce.Do(func() {
		s.closing.Store(true)
		// Without this, the graceful stop of gRPC inside etcd waits for
		// every open watch stream until the request timeout, 5 s or more.
		s.streams.cancel()
		if s.etcd == nil {
			return
		}
		if !s.ready {
			// etcd's Close waits for the client servers, which start only
			// once the member is ready or stopped: stop it first.
			s.etcd.Server.HardStop()
		}
		s.etcd.Close()
	})
	return nil
}

// streamCloser ties every gRPC stream the server handles to a context it
// cancels on Close. etcd's watch and lease handlers return when their
// stream's context ends, which lets the graceful stop finish at once.
type streamCloser struct {
	ctx    context.Context
	cancel context.CancelFunc
}

func (c *streamCloser) intercept(srv any, ss grpc.ServerStream, _ *grpc.StreamServerInfo, handler grpc.StreamHandler) error {
	ctx, cancel := context.WithCancel(ss.Context())
	defer cancel()
	stop := context.AfterFunc(c.ctx, cancel)
	defer stop()
	return handler(srv, &ctxStream{ServerStream: ss, ctx: ctx})
}

type ctxStream struct {
	grpc.ServerStream
	ctx context.Context
}

func (s *ctxStream) Context() context.Context { return s.ctx }

// newZapLogger returns the logger handed to etcd. etcd's fatal log exits the
// process, even through zap.NewNop; here it panics instead, which Start
// turns into an error when it happens during the start.
func newZapLogger(log logging.Logger, closing *atomic.Bool) *zap.Logger {
	var core zapcore.Core = zapcore.NewNopCore()
	if log != nil {
		core = &logCore{log: log, closing: closing}
	}
	return zap.New(core, zap.WithFatalHook(zapcore.WriteThenPanic))
}

// logCore writes etcd's records to a plinth logger, one level lower than
// etcd chose: etcd warns about many things that are normal in development
// (a single member, no TLS) and reports a missing peer as an error. While
// the server closes, everything is debug: etcd reports each listener it
// closes as a failure.
type logCore struct {
	log     logging.Logger
	fields  logging.Fields
	closing *atomic.Bool
}

func (c *logCore) Enabled(l zapcore.Level) bool {
	return l >= zapcore.WarnLevel && c.log.Enabled(toLevel(l))
}

func (c *logCore) With(fields []zapcore.Field) zapcore.Core {
	return &logCore{log: c.log, fields: addFields(c.fields, fields), closing: c.closing}
}

func (c *logCore) Check(e zapcore.Entry, ce *zapcore.CheckedEntry) *zapcore.CheckedEntry {
	if c.Enabled(e.Level) {
		return ce.AddCore(e, c)
	}
	return ce
}

func (c *logCore) Write(e zapcore.Entry, fields []zapcore.Field) error {
	l := c.log.WithFields(addFields(c.fields, fields))
	level := toLevel(e.Level)
	if c.closing.Load() {
		level = logging.DebugLevel
	}
	switch level {
	case logging.DebugLevel:
		l.Debug(e.Message)
	case logging.WarnLevel:
		l.Warn(e.Message)
	default:
		l.Error(e.Message)
	}
	return nil
}

func (c *logCore) Sync() error { return nil }

func toLevel(l zapcore.Level) logging.Level {
	switch {
	case l < zapcore.ErrorLevel:
		return logging.DebugLevel
	case l == zapcore.ErrorLevel:
		return logging.WarnLevel
	default:
		return logging.ErrorLevel
	}
}

// addFields returns a new map holding base and fields.
func addFields(base logging.Fields, fields []zapcore.Field) logging.Fields {
	enc := zapcore.NewMapObjectEncoder()
	for _, f := range fields {
		f.AddTo(enc)
	}
	out := make(logging.Fields, len(base)+len(enc.Fields)+1)
	for k, v := range base {
		out[k] = v
	}
	for k, v := range enc.Fields {
		out[k] = v
	}
	out["component"] = "etcd"
	return out
}
