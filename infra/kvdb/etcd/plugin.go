package etcd

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"go.etcd.io/etcd/api/v3/v3rpc/rpctypes"
	clientv3 "go.etcd.io/etcd/client/v3"
	"go.uber.org/zap"
	"google.golang.org/grpc"
	grpcbackoff "google.golang.org/grpc/backoff"
	"google.golang.org/grpc/connectivity"

	"github.com/plinth-go/plinth/infra"
	"github.com/plinth-go/plinth/infra/config"
	"github.com/plinth-go/plinth/infra/kvdb"
	"github.com/plinth-go/plinth/internal/backoff"
	"github.com/plinth-go/plinth/logging"
)

// PluginName is the default name of the plugin; its config file is
// etcd.conf, named by -etcd-config or ETCD_CONFIG.
const PluginName = "etcd"

// probeKey is read to check that etcd answers a linearizable read, which
// needs a quorum; etcd's own /health reads the same key.
const probeKey = "health"

// Plugin connects an agent to etcd. It implements kvdb.Store. Build it with
// NewPlugin.
type Plugin struct {
	Deps

	codeConf   *Config          // set by UseConf; wins over every other source
	codeClient *clientv3.Client // set by UseClient; not closed by Close
	fallback   func() []string  // set by WithFallbackEndpoints
	paging     listPaging       // how list splits a prefix; tests make pages small

	// Written by Init and only read afterwards.
	cfg      Config
	disabled bool
	ctx      context.Context // lifecycle root of background work; Close cancels it
	cancel   context.CancelFunc
	leases   *leases

	wg        sync.WaitGroup // background goroutines and watches
	connected atomic.Bool
	clientSet chan struct{} // closed once client is set
	client    atomic.Pointer[clientv3.Client]
	closed    atomic.Bool
	notify    chan struct{} // cap 1: state or callbacks changed

	mu        sync.Mutex // guards callbacks, reporter, state, lastErr, watchErrs, gen and reportedGen
	callbacks []*callback
	reporter  func(ok bool, err error)
	lastErr   error
	watchErrs map[*stream]error // watches failing with an error that retrying does not fix
	gen       uint64            // incremented on every change of the connection state and session loss
	connGen   uint64            // gen of the last connect or session loss
	reportGen uint64            // gen last given to reporter
}

type callback struct {
	fn      func()
	lastGen uint64 // connGen of the last run
}

// Deps lists the dependencies of the plugin: a name, a logger and its
// config file, which the agent fills.
type Deps struct {
	infra.PluginDeps
}

// Option customizes the plugin in code.
type Option func(*Plugin)

var (
	_ infra.Plugin = (*Plugin)(nil)
	_ kvdb.Store   = (*Plugin)(nil)
)

// NewPlugin returns a plugin named "etcd" with the given options applied.
func NewPlugin(opts ...Option) *Plugin {
	p := &Plugin{
		clientSet: make(chan struct{}), notify: make(chan struct{}, 1),
		paging: listPaging{first: listFirstPage, pageBytes: listPageBytes},
	}
	p.SetName(PluginName)
	for _, opt := range opts {
		opt(p)
	}
	return p
}

// UseConf sets the whole config in code. It wins over etcd.conf and
// ETCD_ENDPOINTS.
func UseConf(c Config) Option {
	return func(p *Plugin) { p.codeConf = &c }
}

// WithFallbackEndpoints makes Init call fn for the endpoints when neither
// etcd.conf nor ETCD_ENDPOINTS name any; the demo agent returns those of its
// embedded server. UseConf still wins.
func WithFallbackEndpoints(fn func() []string) Option {
	return func(p *Plugin) { p.fallback = fn }
}

// UseClient makes the plugin use c instead of connecting by itself. The
// endpoints, TLS and credentials of the config are then ignored, and Close
// leaves c open: its owner closes it.
func UseClient(c *clientv3.Client) Option {
	return func(p *Plugin) { p.codeClient = c }
}

// Init reads the config and starts connecting in the background. It does
// not wait for etcd: with etcd down, the agent starts and the plugin keeps
// trying (see Connected and OnConnect). Without endpoints the plugin is
// disabled.
func (p *Plugin) Init() error {
	if p.Log == nil {
		p.Log = logging.NewRegistry(logging.WithOutput(io.Discard)).ForPlugin(p.String())
	}
	cfg, err := p.resolveConfig()
	if err != nil {
		return err
	}
	p.cfg = cfg
	if len(cfg.Endpoints) == 0 && p.codeClient == nil {
		p.disabled = true
		p.Log.Infof("disabled: no endpoints in the config or in %s", EndpointsEnv)
		return nil
	}
	tc, err := cfg.tlsConfig()
	if err != nil {
		return fmt.Errorf("etcd: %w", err)
	}
	p.ctx, p.cancel = context.WithCancel(context.Background())
	p.leases = newLeases(p)
	p.lastErr = errors.New("connecting") // until the first probe answers

	var ccfg clientv3.Config
	if p.codeClient != nil {
		p.setClient(p.codeClient)
	} else {
		ccfg = p.clientConfig(tc)
		if cfg.Username == "" {
			// Without credentials clientv3.New does not talk to etcd, so it
			// cannot block; with them it authenticates, which the connect
			// loop does instead.
			c, err := clientv3.New(ccfg)
			if err != nil {
				p.cancel()
				return fmt.Errorf("etcd: dial %v: %w", cfg.Endpoints, err)
			}
			p.setClient(c)
		}
		p.Log.Infof("connecting: %s", cfg)
	}
	p.wg.Add(1)
	go p.connectLoop(ccfg)
	p.wg.Add(1)
	go p.notifyLoop()
	if cfg.AutoCompact > 0 {
		p.wg.Add(1)
		go p.compactLoop(cfg.AutoCompact)
	}
	return nil
}

// resolveConfig merges the sources by precedence: defaults < file < env <
// code. The file is read even when UseConf wins, so a broken file is still
// reported.
func (p *Plugin) resolveConfig() (Config, error) {
	cfg, origin, err := p.configured()
	if err != nil {
		return Config{}, err
	}
	if len(cfg.Endpoints) == 0 && p.fallback != nil {
		cfg.Endpoints = p.fallback()
		origin += " with the fallback endpoints"
	}
	cfg = cfg.withDefaults()
	if err := cfg.validate(); err != nil {
		return Config{}, fmt.Errorf("etcd: %s: %w", origin, err)
	}
	return cfg, nil
}

// ConfiguredEndpoints returns the endpoints named by UseConf, etcd.conf or
// ETCD_ENDPOINTS, ignoring the fallback ones. It may be called once the
// agent is built, before Init.
func (p *Plugin) ConfiguredEndpoints() ([]string, error) {
	cfg, _, err := p.configured()
	return cfg.Endpoints, err
}

// Endpoints returns the endpoints the plugin connects to, whatever their
// source; nil when it is disabled. It is valid after Init.
func (p *Plugin) Endpoints() []string { return slices.Clone(p.cfg.Endpoints) }

// configured merges the sources that the user sets, without defaults.
func (p *Plugin) configured() (Config, string, error) {
	var cfg Config
	origin, err := config.Resolve(p.Cfg, p.codeConf, &cfg)
	if err != nil {
		return Config{}, "", fmt.Errorf("etcd: %w", err)
	}
	// ETCD_ENDPOINTS fills in for a file without endpoints; code wins.
	if p.codeConf == nil && p.Cfg != nil && len(cfg.Endpoints) == 0 {
		if v, ok := p.Cfg.Lookup("", EndpointsEnv); ok {
			cfg.Endpoints = splitEndpoints(v)
			origin += " with endpoints from " + EndpointsEnv
		}
	}
	return cfg, origin, nil
}

func (p *Plugin) clientConfig(tc *tls.Config) clientv3.Config {
	return clientv3.Config{
		Endpoints:   p.cfg.Endpoints,
		DialTimeout: p.cfg.DialTimeout,
		// Close cancels it: a dial in progress ends at once rather than
		// at its timeout.
		Context: p.ctx,
		// Keepalives find a dead peer behind a silent network within
		// seconds; a killed etcd is noticed at once anyway (the socket
		// closes).
		DialKeepAliveTime:    10 * time.Second,
		DialKeepAliveTimeout: 3 * time.Second,
		TLS:                  tc,
		Username:             p.cfg.Username,
		Password:             p.cfg.Password,
		// The client would log every retry to stderr; the plugin logs the
		// state changes that matter.
		Logger:      zap.NewNop(),
		DialOptions: dialOptions(p.cfg.ReconnectMaxBackoff, p.cfg.DialTimeout),
	}
}

// Close cancels every watch and background goroutine, revokes the session
// lease (so session keys disappear at once) and closes the client, then
// waits for all of it. Nothing the plugin started survives Close.
func (p *Plugin) Close() error {
	if p.cancel == nil || !p.closed.CompareAndSwap(false, true) {
		return nil
	}
	var errs []error
	if err := p.leases.revokeSession(); err != nil {
		errs = append(errs, err)
	}
	p.cancel()
	p.wg.Wait()
	if c := p.client.Load(); c != nil && p.codeClient == nil {
		if err := c.Close(); err != nil && !errors.Is(err, context.Canceled) {
			errs = append(errs, fmt.Errorf("etcd: close client: %w", err))
		}
	}
	return errors.Join(errs...)
}

// Disabled reports whether the plugin has no endpoints; its brokers and
// watchers then return kvdb.ErrDisabled. It is valid after Init.
func (p *Plugin) Disabled() bool { return p.disabled }

// Connected reports whether the last check found etcd answering reads. It
// never blocks.
func (p *Plugin) Connected() bool { return p.connected.Load() }

// Client returns the etcd client, or nil while the plugin is disabled or,
// with credentials, before the first successful authentication. Callers must
// not close it.
func (p *Plugin) Client() *clientv3.Client { return p.client.Load() }

// OnConnect registers fn to run every time the plugin (re)connects to etcd,
// and soon after registration if it is connected already. Callbacks run on
// one goroutine owned by the plugin, one at a time, in the order of
// registration, without any lock held; they must return promptly. After
// Close they no longer run.
func (p *Plugin) OnConnect(fn func()) {
	if fn == nil {
		panic("etcd: OnConnect: nil callback")
	}
	p.mu.Lock()
	p.callbacks = append(p.callbacks, &callback{fn: fn})
	p.mu.Unlock()
	p.kick()
}

// SetStatusReporter registers fn to learn about the connection: it is
// called with the current state soon after registration, then on every
// change, with ok=false and the error while etcd is unreachable. Calls come
// from the goroutine that runs OnConnect callbacks, in order. A later call
// replaces fn; nil unregisters it. This is how a status check plugin
// reports the plugin's state.
func (p *Plugin) SetStatusReporter(fn func(ok bool, err error)) {
	p.mu.Lock()
	p.reporter = fn
	p.reportGen = 0
	p.mu.Unlock()
	p.kick()
}

// NewBroker returns a broker whose keys are relative to prefix.
func (p *Plugin) NewBroker(prefix string) kvdb.BytesBroker { return &broker{p: p, prefix: prefix} }

// NewProtoBroker returns a broker of proto messages whose keys are relative
// to prefix, encoded by s (kvdb.JSON if nil).
func (p *Plugin) NewProtoBroker(prefix string, s kvdb.Serializer) *kvdb.ProtoWrapper {
	return kvdb.NewProtoWrapper(p.NewBroker(prefix), s)
}

// NewWatcher returns a watcher whose keys are relative to prefix.
func (p *Plugin) NewWatcher(prefix string) kvdb.Watcher { return &watcher{p: p, prefix: prefix} }

func (p *Plugin) kick() {
	select {
	case p.notify <- struct{}{}:
	default:
	}
}

func (p *Plugin) setClient(c *clientv3.Client) {
	p.client.Store(c)
	close(p.clientSet)
}

// waitClient returns the client once there is one, or the error that
// prevents it.
func (p *Plugin) waitClient(ctx context.Context) (*clientv3.Client, error) {
	if p.disabled {
		return nil, kvdb.ErrDisabled
	}
	if p.ctx == nil {
		return nil, errors.New("plugin not initialised: call Init first")
	}
	if p.closed.Load() {
		return nil, kvdb.ErrClosed
	}
	if c := p.client.Load(); c != nil {
		return c, nil
	}
	select {
	case <-p.clientSet:
		return p.client.Load(), nil
	case <-p.ctx.Done():
		return nil, kvdb.ErrClosed
	case <-ctx.Done():
		return nil, fmt.Errorf("not connected (%v): %w", p.lastError(), ctx.Err())
	}
}

func (p *Plugin) lastError() error {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.lastErr
}

// setState records a connection state; the notify loop reports it.
func (p *Plugin) setState(ok bool, err error) {
	p.mu.Lock()
	changed := p.connected.Load() != ok || (err != nil && (p.lastErr == nil || p.lastErr.Error() != err.Error()))
	if changed {
		p.gen++
		if ok {
			p.connGen = p.gen
		}
	}
	p.connected.Store(ok)
	p.lastErr = err
	p.mu.Unlock()
	if changed {
		if ok {
			p.Log.Info("connected")
		} else {
			p.Log.Warnf("not connected: %v", err)
		}
		p.kick()
	}
}

// connectLoop creates the client if Init could not, then keeps checking the
// connection: with capped exponential backoff while etcd is unreachable, and
// by watching the gRPC connection state while it is reachable.
func (p *Plugin) connectLoop(ccfg clientv3.Config) {
	defer p.wg.Done()
	bo := newBackoff(p.cfg.ReconnectMaxBackoff)
	for p.client.Load() == nil {
		c, err := clientv3.New(ccfg)
		if err == nil {
			p.setClient(c)
			break
		}
		err = explainTLS(p.ctx, fmt.Errorf("dial %v: %w", p.cfg.Endpoints, err), p.cfg.Endpoints, ccfg.TLS, p.cfg.DialTimeout)
		p.setState(false, err)
		if !bo.Sleep(p.ctx.Done()) {
			return
		}
	}
	c := p.client.Load()
	for {
		if err := p.probe(c); err != nil {
			if p.ctx.Err() != nil {
				return
			}
			p.setState(false, explainTLS(p.ctx, err, p.cfg.Endpoints, ccfg.TLS, p.cfg.DialTimeout))
			if !bo.Sleep(p.ctx.Done()) {
				return
			}
			continue
		}
		bo.Reset()
		p.setState(true, nil)
		if !p.waitConnectionLost(c) {
			return
		}
	}
}

func (p *Plugin) probe(c *clientv3.Client) error {
	ctx, cancel := context.WithTimeout(p.ctx, p.cfg.DialTimeout)
	defer cancel()
	_, err := c.Get(ctx, probeKey, clientv3.WithCountOnly())
	if err != nil && !errors.Is(err, rpctypes.ErrPermissionDenied) {
		// A user whose role does not cover the probe key is refused only
		// after etcd has served the linearizable read: the cluster has
		// quorum and answers, which is what the probe asks.
		return fmt.Errorf("probe %v: %w", p.cfg.Endpoints, err)
	}
	return nil
}

// waitConnectionLost returns true when the gRPC connection leaves the ready
// state, false when the plugin closes.
func (p *Plugin) waitConnectionLost(c *clientv3.Client) bool {
	conn := c.ActiveConnection()
	for {
		s := conn.GetState()
		switch s {
		case connectivity.Ready:
		case connectivity.Idle:
			conn.Connect()
		default:
			p.setState(false, fmt.Errorf("connection to %v lost (%s)", p.cfg.Endpoints, s))
			return true
		}
		if !conn.WaitForStateChange(p.ctx, s) {
			return false
		}
	}
}

// setWatchProblem records (err != nil) or clears the error of a watch that
// retrying does not fix; while any is recorded the plugin reports ERROR.
func (p *Plugin) setWatchProblem(s *stream, err error) {
	p.mu.Lock()
	old, had := p.watchErrs[s]
	switch {
	case err == nil && !had:
		p.mu.Unlock()
		return
	case err == nil:
		delete(p.watchErrs, s)
	case had && old.Error() == err.Error():
		p.mu.Unlock()
		return
	default:
		if p.watchErrs == nil {
			p.watchErrs = make(map[*stream]error)
		}
		p.watchErrs[s] = err
	}
	p.gen++
	p.mu.Unlock()
	p.kick()
}

// sessionLost makes the OnConnect callbacks run again, as after a
// reconnect: keys put under the lost session lease must be put again. While
// disconnected they run at the reconnect.
func (p *Plugin) sessionLost() {
	p.mu.Lock()
	p.gen++
	p.connGen = p.gen
	p.mu.Unlock()
	p.kick()
}

// watchError joins the errors of failing watches, in a stable order.
func (p *Plugin) watchError() error {
	msgs := make([]string, 0, len(p.watchErrs))
	for _, err := range p.watchErrs {
		msgs = append(msgs, err.Error())
	}
	slices.Sort(msgs)
	return errors.New(strings.Join(msgs, "; "))
}

// notifyLoop reports state changes and runs the OnConnect callbacks, one at
// a time and without locks, so that a callback may use the plugin freely.
func (p *Plugin) notifyLoop() {
	defer p.wg.Done()
	for {
		select {
		case <-p.ctx.Done():
			return
		case <-p.notify:
		}
		p.mu.Lock()
		gen, connGen, ok, err := p.gen, p.connGen, p.connected.Load(), p.lastErr
		connected := ok
		if ok && len(p.watchErrs) > 0 {
			ok, err = false, p.watchError()
		}
		reporter := p.reporter
		report := reporter != nil && p.reportGen != gen+1
		p.reportGen = gen + 1 // +1: 0 means "never reported"
		var due []*callback
		if connected {
			for _, cb := range p.callbacks {
				if cb.lastGen < connGen {
					cb.lastGen = connGen
					due = append(due, cb)
				}
			}
		}
		p.mu.Unlock()
		if report {
			reporter(ok, err)
		}
		for _, cb := range due {
			if p.ctx.Err() != nil {
				return
			}
			cb.fn()
		}
	}
}

// compactLoop compacts the revisions older than every, every interval: at
// each tick it compacts up to the revision seen at the previous tick.
func (p *Plugin) compactLoop(every time.Duration) {
	defer p.wg.Done()
	t := time.NewTicker(every)
	defer t.Stop()
	var prev int64
	for {
		select {
		case <-p.ctx.Done():
			return
		case <-t.C:
		}
		c := p.client.Load()
		if c == nil {
			continue
		}
		ctx, cancel := context.WithTimeout(p.ctx, p.cfg.OperationTimeout)
		resp, err := c.Get(ctx, probeKey, clientv3.WithCountOnly())
		if err == nil && prev > 0 {
			_, err = c.Compact(ctx, prev)
			switch {
			case err == nil:
				p.Log.Debugf("compacted revisions before %d", prev)
			case errors.Is(err, rpctypes.ErrCompacted):
				// Someone else (an operator, another agent, the server's
				// own auto-compaction) compacted to prev or beyond: what
				// this tick was for is done, and the next goes on from
				// the current revision.
				p.Log.Debugf("revisions before %d were already compacted", prev)
				err = nil
			}
		}
		cancel()
		if err != nil {
			p.Log.Warnf("auto-compact: %v", err)
			continue
		}
		prev = resp.Header.Revision
	}
}

// opCtx applies the operation timeout to a context without a deadline.
func (p *Plugin) opCtx(ctx context.Context) (context.Context, context.CancelFunc) {
	if _, ok := ctx.Deadline(); ok {
		return ctx, func() {}
	}
	return context.WithTimeout(ctx, p.cfg.OperationTimeout)
}

// newBackoff returns the backoff of the connect loop and of a watch's
// retries: from 50ms doubling up to limit, each wait shortened by up to
// 20% so that many agents do not redial in step.
func newBackoff(limit time.Duration) *backoff.Backoff {
	return &backoff.Backoff{Min: 50 * time.Millisecond, Max: limit, Jitter: 0.2}
}

// dialOptions make gRPC redial quickly after etcd comes back: its default
// backoff grows to 120s, which would keep an agent disconnected long after
// an etcd restart.
func dialOptions(maxBackoff, dialTimeout time.Duration) []grpc.DialOption {
	bc := grpcbackoff.DefaultConfig
	bc.BaseDelay = 50 * time.Millisecond
	bc.MaxDelay = maxBackoff
	return []grpc.DialOption{
		grpc.WithConnectParams(grpc.ConnectParams{Backoff: bc, MinConnectTimeout: dialTimeout}),
		// An idle connection would read as "not connected".
		grpc.WithIdleTimeout(0),
	}
}
