package rest

import (
	"context"
	"crypto/tls"
	"errors"
	"flag"
	"fmt"
	"io"
	"log"
	"net"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/plinth-go/plinth/infra"
	"github.com/plinth-go/plinth/infra/status"
	"github.com/plinth-go/plinth/logging"
)

// PluginName is the default name of the plugin; its config file is
// http.conf.
const PluginName = "http"

// HTTPHandlers is what plugins that serve HTTP inject.
type HTTPHandlers interface {
	// RegisterHTTPHandler serves handler at path, a gorilla/mux path
	// template, for the given methods, or for every method when none is
	// given. The handler reads the template's variables with r.PathValue
	// or mux.Vars. A request for the path with another method gets 405.
	// Registering the same path and method twice panics.
	RegisterHTTPHandler(path string, handler http.Handler, methods ...string)
	// GetPort returns the port the server listens on, or 0 when disabled.
	GetPort() int
}

// Plugin is the HTTP server of an agent. It implements [HTTPHandlers].
// Build it with [NewPlugin].
type Plugin struct {
	Deps

	codeConf        *Config       // set by UseConf; wins over every other source
	shutdownTimeout time.Duration // set by WithShutdownTimeout
	portFlag        flagValue     // -http-port, when registered

	routes   routes
	inflight inflight
	auth     atomic.Pointer[basicAuth] // nil: no authentication
	guard    atomic.Pointer[guard]     // nil until Init

	// Written once by Init and only read afterwards.
	cfg       Config
	tlsConfig *tls.Config
	ready     bool

	mu        sync.Mutex // guards srv, conns, addr and serveDone
	srv       *http.Server
	conns     *freshConns // the connections of srv that sent no request yet
	addr      net.Addr
	serveDone chan struct{} // closed when the serve goroutine returns
}

// Deps lists the dependencies of the plugin. It needs only a name, a logger
// and its config file, which the agent fills.
type Deps struct {
	infra.PluginDeps
	// StatusCheck, when the agent has a status check, receives the state of
	// the server: OK while it serves, ERROR when serving stopped unexpectedly.
	// The status check does not start first (its writer works before its
	// Init), so its own dependencies may serve HTTP.
	StatusCheck status.Writer `plinth:"optional"`
}

// Option customizes the plugin in code.
type Option func(*Plugin)

var (
	_ infra.Plugin        = (*Plugin)(nil)
	_ infra.PostInit      = (*Plugin)(nil)
	_ infra.FlagRegistrar = (*Plugin)(nil)
	_ HTTPHandlers        = (*Plugin)(nil)
)

// NewPlugin returns a plugin named "http" with the given options applied.
func NewPlugin(opts ...Option) *Plugin {
	p := &Plugin{shutdownTimeout: DefaultShutdownTimeout}
	p.routes.before = func(w http.ResponseWriter, r *http.Request) bool {
		g := p.guard.Load()
		return g == nil || g.check(w, r)
	}
	p.SetName(PluginName)
	for _, opt := range opts {
		opt(p)
	}
	return p
}

// UseConf sets the whole config in code. It wins over http.conf, HTTP_PORT
// and -http-port, which are then ignored with a warning.
func UseConf(c Config) Option {
	return func(p *Plugin) {
		c.ClientCAFiles = append([]string(nil), c.ClientCAFiles...)
		c.BasicAuth = append([]string(nil), c.BasicAuth...)
		p.codeConf = &c
	}
}

// WithShutdownTimeout sets how long Close waits for in-flight requests before
// it closes their connections. If zero or negative, DefaultShutdownTimeout
// (5s) is used.
func WithShutdownTimeout(d time.Duration) Option {
	return func(p *Plugin) {
		if d <= 0 {
			d = DefaultShutdownTimeout
		}
		p.shutdownTimeout = d
	}
}

// RegisterFlags defines -http-port on fs.
func (p *Plugin) RegisterFlags(fs *flag.FlagSet) {
	fs.Var(&p.portFlag, PortFlag, fmt.Sprintf(
		"`port` of the HTTP server; replaces the port of the endpoint in %s.conf (env %s; default 9191)",
		p.String(), PortEnv))
}

// Init loads the config, checks it and loads the certificates, so that a bad
// config fails the start before anything listens.
func (p *Plugin) Init() error {
	if p.Log == nil {
		p.Log = logging.NewRegistry(logging.WithOutput(io.Discard)).ForPlugin(p.String())
	}
	cfg, origin, err := p.resolveConfig()
	if err != nil {
		return err
	}
	tc, err := newTLSConfig(cfg)
	if err != nil {
		return fmt.Errorf("rest: %s: %w", origin, err)
	}
	auth, err := newBasicAuth(cfg.BasicAuth)
	if err != nil {
		return fmt.Errorf("rest: %s: %w", origin, err)
	}
	g, err := newGuard(cfg)
	if err != nil {
		return fmt.Errorf("rest: %s: %w", origin, err)
	}
	p.cfg, p.tlsConfig, p.ready = cfg, tc, true
	p.auth.Store(auth)
	p.guard.Store(g)
	if !cfg.Disabled {
		p.Log.Infof("serving on %s: %s", cfg.Endpoint, g.exposure(cfg))
	}
	if auth != nil {
		p.Log.Infof("basic auth required for %d users on every path but %s", len(auth.users), strings.Join(unauthenticatedPaths, " and "))
		if tc == nil {
			p.Log.Warnf("basic auth over plain HTTP sends passwords in clear text; set server-cert-file and server-key-file to serve HTTPS")
		}
	}
	if p.StatusCheck != nil && !cfg.Disabled {
		// INIT until AfterInit serves: readiness waits for the server.
		if err := p.StatusCheck.Register(p.String(), nil); err != nil {
			p.Log.WithError(err).Warn("cannot register with the status check")
		}
	}
	return nil
}

// resolveConfig merges the sources of the config by precedence and says
// where the config came from. The config file is read even when UseConf wins,
// so that a broken file is reported rather than silently ignored.
func (p *Plugin) resolveConfig() (cfg Config, origin string, err error) {
	origin = "the default config"
	if p.Cfg != nil {
		found, err := p.Cfg.LoadValue(&cfg)
		if err != nil {
			return Config{}, "", fmt.Errorf("rest: %w", err)
		}
		if found {
			origin = "config file " + p.Cfg.GetConfigName()
		}
	}

	portText, portSource := "", ""
	if p.portFlag.set {
		portText, portSource = p.portFlag.value, "flag -"+PortFlag
	} else if p.Cfg != nil {
		if v, ok := p.Cfg.Lookup(PortFlag, PortEnv); ok {
			portText, portSource = v, "env "+PortEnv
		}
	}

	if p.codeConf != nil {
		if origin != "the default config" {
			p.Log.Warnf("%s ignored: the config is set in code (UseConf)", origin)
		}
		if portSource != "" {
			p.Log.Warnf("%s=%s ignored: the config is set in code (UseConf)", portSource, portText)
		}
		cfg, origin = *p.codeConf, "the config set in code (UseConf)"
		portSource = ""
	}

	cfg = cfg.withDefaults()
	if err := cfg.validate(); err != nil {
		return Config{}, "", fmt.Errorf("rest: %s: %w", origin, err)
	}
	if portSource != "" {
		port, err := parsePort(strings.TrimSpace(portText))
		if err != nil {
			return Config{}, "", fmt.Errorf("rest: %s: %w", portSource, err)
		}
		host, _, _ := net.SplitHostPort(cfg.Endpoint) // valid: checked above
		cfg.Endpoint = net.JoinHostPort(host, strconv.Itoa(port))
		origin += " with the port from " + portSource
	}
	p.Log.Debugf("endpoint %s from %s", cfg.Endpoint, origin)
	return cfg, origin, nil
}

// AfterInit listens on the endpoint and serves in the background. The socket
// is opened here, not in the goroutine, so that a port in use fails the start.
func (p *Plugin) AfterInit() error {
	if !p.ready {
		return errors.New("rest: AfterInit called before a successful Init")
	}
	if p.cfg.Disabled {
		p.Log.Infof("disabled: serving nothing")
		return nil
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.srv != nil {
		return fmt.Errorf("rest: already serving on %s", p.addr)
	}
	ln, err := net.Listen("tcp", p.cfg.Endpoint)
	if err != nil {
		hint := "check the endpoint"
		if errors.Is(err, syscall.EADDRINUSE) {
			hint = "another process uses the port"
		}
		return fmt.Errorf("rest: listen on %s: %w (%s; choose another port with -%s or %s)",
			p.cfg.Endpoint, err, hint, PortFlag, PortEnv)
	}
	conns := &freshConns{conns: make(map[net.Conn]struct{})}
	srv := &http.Server{
		Handler:           http.HandlerFunc(p.serveHTTP),
		ConnState:         conns.track,
		TLSConfig:         p.tlsConfig,
		ReadHeaderTimeout: p.cfg.ReadHeaderTimeout,
		WriteTimeout:      p.cfg.WriteTimeout,
		IdleTimeout:       p.cfg.IdleTimeout,
		MaxHeaderBytes:    p.cfg.MaxHeaderBytes,
		// net/http reports failed handshakes and broken connections here;
		// clients cause them, so they are debug information, not errors.
		ErrorLog: log.New(debugWriter{p.Log}, "", 0),
	}
	done := make(chan struct{})
	p.srv, p.conns, p.addr, p.serveDone = srv, conns, ln.Addr(), done
	scheme := "http"
	if p.tlsConfig != nil {
		scheme = "https"
	}
	go func() {
		defer close(done)
		var err error
		if p.tlsConfig != nil {
			err = srv.ServeTLS(ln, "", "") // certificates are in srv.TLSConfig
		} else {
			err = srv.Serve(ln)
		}
		if !errors.Is(err, http.ErrServerClosed) {
			p.Log.Errorf("serving %s://%s stopped: %v", scheme, ln.Addr(), err)
			p.reportStatus(status.StateError, fmt.Errorf("serving stopped: %w", err))
		}
	}()
	p.Log.Infof("serving %s://%s", scheme, ln.Addr())
	p.reportStatus(status.StateOK, nil)
	return nil
}

// reportStatus tells the status check, if any, how the server is doing.
func (p *Plugin) reportStatus(state status.State, err error) {
	if p.StatusCheck == nil {
		return
	}
	if rerr := p.StatusCheck.ReportStateChange(p.String(), state, err); rerr != nil {
		p.Log.WithError(rerr).Warn("cannot report the server status")
	}
}

// Close stops the server gracefully: it stops accepting connections, closes
// the connections on which no request has arrived yet, and waits up to the
// shutdown timeout for in-flight requests. Past it, Close closes their
// connections, which cancels their request contexts, waits as long again for
// the handlers to return, and reports the forced close. Close returns once
// the server goroutine has ended. Calling it again does nothing.
func (p *Plugin) Close() error {
	p.mu.Lock()
	srv, conns, done, addr := p.srv, p.conns, p.serveDone, p.addr
	p.srv, p.conns = nil, nil
	p.mu.Unlock()
	if srv == nil {
		return nil
	}

	ctx, cancel := context.WithTimeout(context.Background(), p.shutdownTimeout)
	defer cancel()
	var errs []error
	// Shutdown counts a connection that has sent nothing as busy for its
	// first 5 seconds (golang/go#22682), as long as the default shutdown
	// timeout: one spare connection that a browser or Go's client opened
	// would make every Close fail. Such a connection carries no request.
	conns.closeAll()
	if err := srv.Shutdown(ctx); err != nil {
		errs = append(errs, fmt.Errorf("rest: graceful shutdown of %s: %w; closing the remaining connections", addr, err))
		if err := srv.Close(); err != nil {
			errs = append(errs, fmt.Errorf("rest: close %s: %w", addr, err))
		}
		// Shutdown has used up ctx; handlers whose connections were just
		// closed get a fresh period to notice and return.
		wctx, wcancel := context.WithTimeout(context.Background(), p.shutdownTimeout)
		defer wcancel()
		if n, err := p.inflight.wait(wctx); err != nil {
			errs = append(errs, fmt.Errorf("rest: %d handlers still running on %s: %w", n, addr, err))
		}
	}
	<-done
	p.Log.Infof("stopped serving %s", addr)
	return errors.Join(errs...)
}

// RegisterHTTPHandler serves handler at path for methods, or for every method
// when none is given. path is a gorilla/mux path template such as
// "/log/{logger}/{level}"; the handler reads the variables with r.PathValue
// or mux.Vars. It may be called at any time, also while serving.
//
// It panics when handler is nil, when path does not start with "/" or is not
// a valid template, or when the path is already registered for one of the
// methods: these are wiring mistakes.
func (p *Plugin) RegisterHTTPHandler(path string, handler http.Handler, methods ...string) {
	p.routes.add(path, handler, methods)
}

// GetPort returns the port the server listens on; with port 0 in the config,
// it is the port picked by the system. Before AfterInit it returns the
// configured port, and 0 before Init or when the plugin is disabled.
func (p *Plugin) GetPort() int {
	if a, ok := p.Addr().(*net.TCPAddr); ok {
		return a.Port
	}
	if !p.ready || p.cfg.Disabled {
		return 0
	}
	_, port, _ := splitEndpoint(p.cfg.Endpoint)
	return port
}

// Addr returns the address the server listens on, or nil before AfterInit
// and when the plugin is disabled. It stays set after Close.
func (p *Plugin) Addr() net.Addr {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.addr
}

// Handler returns the handler the server runs, authentication included, for
// tests that serve in process (httptest). Authentication applies once Init
// has succeeded.
func (p *Plugin) Handler() http.Handler {
	return http.HandlerFunc(p.serveHTTP)
}

func (p *Plugin) serveHTTP(w http.ResponseWriter, r *http.Request) {
	p.inflight.enter()
	defer p.inflight.leave()
	if auth := p.auth.Load(); auth != nil && requiresAuth(r.URL.Path) && !auth.allowed(r) {
		unauthorized(w)
		return
	}
	p.routes.ServeHTTP(w, r)
}

// inflight counts running handlers, so that Close can wait for those it cut
// off. (sync.WaitGroup does not fit: requests may start while Close waits.)
type inflight struct {
	mu      sync.Mutex // guards n and waiters
	n       int
	waiters []chan struct{} // closed when n drops to 0
}

func (f *inflight) enter() {
	f.mu.Lock()
	f.n++
	f.mu.Unlock()
}

func (f *inflight) leave() {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.n--; f.n == 0 {
		for _, ch := range f.waiters {
			close(ch)
		}
		f.waiters = nil
	}
}

// wait returns when no handler runs, or the number still running when ctx
// ends.
func (f *inflight) wait(ctx context.Context) (int, error) {
	f.mu.Lock()
	if f.n == 0 {
		f.mu.Unlock()
		return 0, nil
	}
	ch := make(chan struct{})
	f.waiters = append(f.waiters, ch)
	f.mu.Unlock()
	select {
	case <-ch:
		return 0, nil
	case <-ctx.Done():
		f.mu.Lock()
		defer f.mu.Unlock()
		return f.n, ctx.Err()
	}
}

// freshConns tracks the connections of a server that are in
// http.StateNew: accepted, with no request read yet.
type freshConns struct {
	mu      sync.Mutex // guards conns and closing
	conns   map[net.Conn]struct{}
	closing bool // set by closeAll: connections are closed as they come
}

// track is the server's ConnState hook.
func (f *freshConns) track(c net.Conn, state http.ConnState) {
	f.mu.Lock()
	defer f.mu.Unlock()
	switch {
	case state != http.StateNew:
		delete(f.conns, c)
	case f.closing:
		// Accepted as the listener closed.
		c.Close()
	default:
		f.conns[c] = struct{}{}
	}
}

// closeAll closes the connections with no request, and from then on every
// new one as soon as the server accepts it. A first request whose headers
// had not all been read as Close began fails like one sent a moment later,
// when nothing listens any more.
func (f *freshConns) closeAll() {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.closing = true
	for c := range f.conns {
		c.Close()
	}
	clear(f.conns)
}

// debugWriter turns the lines net/http writes to its error log into debug
// records.
type debugWriter struct{ log *logging.Log }

func (w debugWriter) Write(b []byte) (int, error) {
	w.log.Debug(strings.TrimRight(string(b), "\n"))
	return len(b), nil
}

// flagValue is a string flag that remembers whether it was set on the command
// line, so that Init can tell a flag from the environment.
type flagValue struct {
	value string
	set   bool
}

func (f *flagValue) String() string {
	if f == nil {
		return ""
	}
	return f.value
}

func (f *flagValue) Set(s string) error {
	f.value, f.set = s, true
	return nil
}
