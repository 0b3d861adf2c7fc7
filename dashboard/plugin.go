package dashboard

import (
	"context"
	"embed"
	"errors"
	"fmt"
	"io/fs"
	"net/http"
	"sync"
	"time"
	"unicode/utf8"

	"github.com/plinth-go/plinth/exec/processmanager"
	"github.com/plinth-go/plinth/exec/supervisor"
	"github.com/plinth-go/plinth/health/probe"
	"github.com/plinth-go/plinth/health/statuscheck"
	"github.com/plinth-go/plinth/infra"
	"github.com/plinth-go/plinth/infra/kvdb"
	"github.com/plinth-go/plinth/infra/rest"
	"github.com/plinth-go/plinth/logging/logmanager"
	"github.com/plinth-go/plinth/messaging/kafka"
	"github.com/plinth-go/plinth/servicelabel"
)

// PluginName is the default name of the plugin.
const PluginName = "dashboard"

// DefaultHeartbeat is how often GET /events sends a comment while nothing
// changes: often enough for proxies that close idle connections after 30s or
// more, rare enough to cost nothing.
const DefaultHeartbeat = 15 * time.Second

// Paths served by the plugin, as gorilla/mux templates.
const (
	UIPath         = "/ui/"
	PanelsPath     = "/ui/api/panels"
	EventsPath     = "/events"
	StatusKeysPath = "/ui/api/status-keys"
	ProgramPath    = "/ui/api/programs/{name}/{action}"
)

// programsActionBase is ProgramPath up to its variables.
const programsActionBase = "/ui/api/programs"

// assets are the files of the page; there is no build step.
//
//go:embed assets
var assets embed.FS

// Supervisor is what the programs panel needs from the supervisor (package
// exec/supervisor provides it): the status of a program, and its process,
// through which the dashboard starts, stops and restarts it unless the
// supervisor also implements ProgramController.
type Supervisor interface {
	Program(name string) (supervisor.ProgramStatus, bool)
	GetProgramByName(name string) *processmanager.Process
}

// ProgramController starts, stops and restarts supervised programs by name.
// A Supervisor that implements it is controlled through it rather than
// through the processes of its programs, so that it can keep its own
// bookkeeping. Each method returns once the action is done: Stop once the
// program has exited, Restart once the new run has started.
type ProgramController interface {
	StartProgram(name string) error
	StopProgram(name string) error
	RestartProgram(name string) error
}

// Deps lists the dependencies of the plugin. Only HTTP is required; each
// optional one that is missing hides its panel.
type Deps struct {
	infra.PluginDeps
	// HTTP serves the page and the API.
	HTTP rest.HTTPHandlers
	// Agent, filled by the agent, gives the name, version and plugins shown
	// in the agent panel.
	Agent *infra.AgentInfo
	// Status gives the plugins' states, for the agent panel and GET /events.
	Status statuscheck.StatusReader `plinth:"optional"`
	// Logs serves GET /log/list and POST /log/{logger}/{level}, which the
	// loggers panel calls.
	Logs *logmanager.Plugin `plinth:"optional"`
	// Supervisor runs the programs of the programs panel, which lists them
	// with GET /supervisor/programs.
	Supervisor Supervisor `plinth:"optional"`
	// Processes serves GET /process/list and POST /process/{name}/{action},
	// which the processes panel calls.
	Processes processmanager.ProcessManager `plinth:"optional"`
	// KV and Label give the status keys: those under
	// "<agent prefix>check/status/v1/". The panel needs both, and a store
	// that is not disabled.
	// KV is also the store of the etcd panel when it is the etcd plugin,
	// and the store the fleet page watches.
	KV    kvdb.Store             `plinth:"optional"`
	Label servicelabel.ReaderAPI `plinth:"optional"`
	// Kafka gives the Kafka panel: the brokers' state, the consumer group
	// and its partitions.
	Kafka *kafka.Plugin `plinth:"optional"`
	// Probe serves GET /metrics, from which the page draws its charts.
	Probe *probe.Plugin `plinth:"optional"`
}

// Option customizes the plugin in code.
type Option func(*Plugin)

// WithHeartbeat sets how often GET /events sends a comment while nothing
// changes. If zero or negative, DefaultHeartbeat (15s) is used.
func WithHeartbeat(d time.Duration) Option {
	return func(p *Plugin) {
		if d > 0 {
			p.heartbeat = d
		}
	}
}

// WithClock makes the plugin read the time from now instead of time.Now,
// for the start time it reports and the publish times of status keys.
func WithClock(now func() time.Time) Option {
	return func(p *Plugin) {
		if now != nil {
			p.now = now
		}
	}
}

// Plugin serves the dashboard. Build it with NewPlugin.
type Plugin struct {
	Deps

	heartbeat time.Duration
	now       func() time.Time
	codeConf  *Config   // set by UseConf; wins over dashboard.conf
	cfg       Config    // resolved by Init
	started   time.Time // Init time: the agent's start when there is no status check

	// ctx is the lifecycle context: Close cancels it, which ends the event
	// streams and the watch of the status keys.
	ctx    context.Context
	cancel context.CancelFunc

	mu      sync.Mutex     // guards closed and the Add calls of streams
	closed  bool           // set by Close: new streams are refused
	streams sync.WaitGroup // running GET /events handlers

	keys  *keyCache
	watch kvdb.Watch // of the status keys; nil without a store

	fleet      *fleetCache // nil unless Config.Fleet
	fleetWatch kvdb.Watch  // of every agent's keys; nil without one

	errs *errorMemory   // last error of every plugin; nil without a status check
	wg   sync.WaitGroup // goroutines started by AfterInit
}

var (
	_ infra.Plugin      = (*Plugin)(nil)
	_ infra.PostInit    = (*Plugin)(nil)
	_ Supervisor        = (*supervisor.Plugin)(nil)
	_ ProgramController = (*supervisor.Plugin)(nil)
)

// NewPlugin returns a plugin named "dashboard" with the given options
// applied.
func NewPlugin(opts ...Option) *Plugin {
	p := &Plugin{heartbeat: DefaultHeartbeat, now: time.Now}
	p.SetName(PluginName)
	for _, o := range opts {
		o(p)
	}
	return p
}

// Init registers the page, the API and, with a status check, GET /events.
func (p *Plugin) Init() error {
	if p.HTTP == nil {
		return errors.New("dashboard: no HTTP server: add rest.NewPlugin() to the agent")
	}
	cfg, err := p.resolveConfig()
	if err != nil {
		return err
	}
	p.cfg = cfg
	p.ctx, p.cancel = context.WithCancel(context.Background())
	p.started = p.now()
	if p.statusKeysEnabled() {
		p.keys = newKeyCache(p.Label.GetAgentPrefix()+statusPrefix, p.now)
	}
	if p.Status != nil {
		p.errs = &errorMemory{now: func() int64 { return p.now().Unix() }, last: map[string]seenError{}}
	}
	if cfg.Fleet {
		p.fleet = p.newFleet()
	}

	page, err := fs.Sub(assets, "assets")
	if err != nil {
		return err
	}
	files := http.StripPrefix("/ui/", http.FileServerFS(page))
	p.HTTP.RegisterHTTPHandler("/ui", http.RedirectHandler(UIPath, http.StatusMovedPermanently), http.MethodGet, http.MethodHead)
	p.HTTP.RegisterHTTPHandler(UIPath, assetHeaders(files), http.MethodGet, http.MethodHead)
	// Before /ui/{file}, which would serve the page's file while it is off.
	p.HTTP.RegisterHTTPHandler(FleetPath, noStore(p.serveFleetPage), http.MethodGet, http.MethodHead)
	p.HTTP.RegisterHTTPHandler(FleetPath+".html", noStore(p.serveFleetPage), http.MethodGet, http.MethodHead)
	p.HTTP.RegisterHTTPHandler("/ui/{file}", assetHeaders(files), http.MethodGet, http.MethodHead)
	p.HTTP.RegisterHTTPHandler(PanelsPath, noStore(p.servePanels), http.MethodGet)
	p.HTTP.RegisterHTTPHandler(StatusKeysPath, noStore(p.serveStatusKeys), http.MethodGet)
	p.HTTP.RegisterHTTPHandler(FleetAPIPath, noStore(p.serveFleet), http.MethodGet, http.MethodHead)
	p.HTTP.RegisterHTTPHandler(EtcdPath, noStore(p.serveEtcd), http.MethodGet)
	p.HTTP.RegisterHTTPHandler(KafkaPath, noStore(p.serveKafka), http.MethodGet)
	if p.Supervisor != nil {
		p.HTTP.RegisterHTTPHandler(ProgramPath, noStore(p.serveProgramAction), http.MethodPost)
	}
	if p.Status != nil {
		p.HTTP.RegisterHTTPHandler(EventsPath, noStore(p.serveEvents), http.MethodGet)
	}
	return nil
}

// AfterInit starts watching the status keys in the store, and with the
// fleet page the keys of every agent. The watches return at once, also when
// the store is unreachable.
func (p *Plugin) AfterInit() error {
	if p.errs != nil {
		changed, cancel := p.Status.Subscribe()
		p.wg.Add(1)
		go p.watchErrors(changed, cancel)
	}
	if f := p.fleet; f != nil && f.unavailable == "" {
		w, err := p.KV.NewWatcher(f.prefix).Watch(p.ctx, "", f.apply)
		if err != nil {
			f.unavailable = fmt.Sprintf("fleet: watch %s: %v", f.prefix, err)
			p.Log.Warnf("%s; the fleet page stays empty", f.unavailable)
		} else {
			p.fleetWatch = w
		}
	}
	if p.keys == nil {
		return nil
	}
	w, err := p.KV.NewWatcher(p.keys.prefix).Watch(p.ctx, "", p.keys.apply)
	if err != nil {
		p.Log.Warnf("status keys: %v; the panel stays empty", err)
		return nil
	}
	p.watch = w
	return nil
}

// newFleet returns the cache of the fleet page, which says why it stays
// empty when the agent has no store to watch.
func (p *Plugin) newFleet() *fleetCache {
	prefix := servicelabel.AllAgentsPrefix
	if p.Label != nil {
		prefix = p.Label.GetAllAgentsPrefix()
	}
	f := newFleetCache(prefix, p.now, p.cfg.FleetKeepGone)
	switch {
	case p.KV == nil:
		f.unavailable = "fleet: the agent has no key-value store: add etcd.NewPlugin() to the agent"
	case p.KV.Disabled():
		f.unavailable = "fleet: the key-value store is disabled: configure the endpoints of etcd"
	}
	if f.unavailable != "" {
		p.Log.Warnf("%s; the fleet page stays empty", f.unavailable)
	} else {
		p.Log.Infof("fleet page at %s, watching %s", FleetPath, prefix)
	}
	return f
}

// Close ends the event streams and the watch of the status keys, and waits
// for them. Calling it again does nothing.
func (p *Plugin) Close() error {
	p.mu.Lock()
	already := p.closed
	p.closed = true
	p.mu.Unlock()
	if already || p.cancel == nil {
		return nil
	}
	p.cancel()
	if p.watch != nil {
		p.watch.Stop()
	}
	if p.fleetWatch != nil {
		p.fleetWatch.Stop()
	}
	p.streams.Wait()
	p.wg.Wait()
	return nil
}

func (p *Plugin) statusKeysEnabled() bool {
	return p.KV != nil && !p.KV.Disabled() && p.Label != nil
}

// setAssetHeaders sets the headers of the page's files. The policy allows
// nothing but this server: the page must work with no network beyond it.
func setAssetHeaders(w http.ResponseWriter) {
	w.Header().Set("Content-Security-Policy", "default-src 'self'; img-src 'self' data:; frame-ancestors 'none'")
	w.Header().Set("X-Content-Type-Options", "nosniff")
	// The files have no modification time (embed), so revalidate: a new
	// binary must not be shown the old page.
	w.Header().Set("Cache-Control", "no-cache")
}

// noStore serves h with Cache-Control: no-store. The API answers live
// state, which neither the browser nor a proxy may keep; a handler may set
// another policy (the fleet's ETag revalidation, the page's no-cache) before
// it writes.
func noStore(h http.HandlerFunc) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Cache-Control", "no-store")
		h(w, r)
	})
}

// assetHeaders serves h with the headers of the page's files.
func assetHeaders(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		setAssetHeaders(w)
		// No asset has a name that is not UTF-8, and http.FileServer would
		// answer 500 for one, since fs.FS rejects it as an invalid path.
		if !utf8.ValidString(r.URL.Path) {
			http.NotFound(w, r)
			return
		}
		h.ServeHTTP(w, r)
	})
}
