package probe

import (
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"sync/atomic"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/plinth-go/plinth/health/statuscheck"
	"github.com/plinth-go/plinth/infra"
	"github.com/plinth-go/plinth/infra/rest"
)

// PluginName is the default name of the plugin; its config file is
// probe.conf.
const PluginName = "probe"

// Paths served by the plugin.
const (
	LivenessPath  = "/liveness"
	ReadinessPath = "/readiness"
	MetricsPath   = "/metrics"
)

// Config is the content of probe.conf. A zero Config is valid.
type Config struct {
	// NonFatalPlugins lists plugins whose ERROR fails neither liveness nor
	// readiness.
	NonFatalPlugins []string `yaml:"non-fatal-plugins"`
	// LivenessIncludesDependencies makes the ERROR of an external
	// dependency (a plugin registered with RegisterDependency: the etcd and
	// Kafka clients) fail liveness too. By default it fails readiness only:
	// an orchestrator restarts a container whose liveness fails, and
	// restarting every agent because etcd is down does not bring etcd back.
	LivenessIncludesDependencies bool `yaml:"liveness-includes-dependencies"`
	// DisableMetrics turns GET /metrics off.
	DisableMetrics bool `yaml:"disable-metrics"`
}

// Deps lists the dependencies of the plugin.
type Deps struct {
	infra.PluginDeps
	HTTP        rest.HTTPHandlers
	StatusCheck statuscheck.StatusReader
}

// Plugin serves /liveness, /readiness and /metrics. Build it with NewPlugin.
type Plugin struct {
	Deps

	codeConf     *Config
	codeNonFtl   []string
	reg          *prometheus.Registry
	cfg          Config
	nonFatal     map[string]bool
	nonFatalJSON []byte // nil when there is none
	cache        atomic.Pointer[rendered]
	statusStats  interface {
		PublishStats() statuscheck.PublishStats
	}
}

// Option customizes the plugin in code.
type Option func(*Plugin)

// UseConf sets the whole config in code; probe.conf is then ignored.
func UseConf(c Config) Option { return func(p *Plugin) { p.codeConf = &c } }

// WithNonFatalPlugins adds plugins whose ERROR fails neither check, to those
// of the config.
func WithNonFatalPlugins(names ...string) Option {
	return func(p *Plugin) { p.codeNonFtl = append(p.codeNonFtl, names...) }
}

var (
	_ infra.Plugin = (*Plugin)(nil)
)

// NewPlugin returns a plugin named "probe" with the given options applied.
func NewPlugin(opts ...Option) *Plugin {
	p := &Plugin{reg: prometheus.NewRegistry()}
	p.SetName(PluginName)
	for _, opt := range opts {
		opt(p)
	}
	return p
}

// Registerer is the metrics registry served at /metrics, for other plugins
// to add their collectors. It is usable from NewPlugin on.
func (p *Plugin) Registerer() prometheus.Registerer { return p.reg }

// Init reads the config and registers the handlers on the HTTP server.
func (p *Plugin) Init() error {
	var cfg Config
	if p.Cfg != nil {
		if _, err := p.Cfg.LoadValue(&cfg); err != nil {
			return fmt.Errorf("probe: %w", err)
		}
	}
	if p.codeConf != nil {
		cfg = *p.codeConf
	}
	cfg.NonFatalPlugins = append(slices.Clone(cfg.NonFatalPlugins), p.codeNonFtl...)
	p.cfg = cfg
	p.nonFatal = make(map[string]bool, len(cfg.NonFatalPlugins))
	for _, n := range cfg.NonFatalPlugins {
		p.nonFatal[n] = true
	}
	slices.Sort(p.cfg.NonFatalPlugins)
	p.cfg.NonFatalPlugins = slices.Compact(p.cfg.NonFatalPlugins)
	if len(p.cfg.NonFatalPlugins) > 0 {
		p.nonFatalJSON, _ = json.Marshal(p.cfg.NonFatalPlugins) // cannot fail for strings
	}
	p.statusStats, _ = p.StatusCheck.(interface {
		PublishStats() statuscheck.PublishStats
	})

	p.HTTP.RegisterHTTPHandler(LivenessPath, http.HandlerFunc(p.serveLiveness), http.MethodGet, http.MethodHead)
	p.HTTP.RegisterHTTPHandler(ReadinessPath, http.HandlerFunc(p.serveReadiness), http.MethodGet, http.MethodHead)
	if !cfg.DisableMetrics {
		if err := p.reg.Register(collectors.NewGoCollector()); err != nil {
			return fmt.Errorf("probe: register go collector: %w", err)
		}
		if err := p.reg.Register(collectors.NewProcessCollector(collectors.ProcessCollectorOpts{})); err != nil {
			return fmt.Errorf("probe: register process collector: %w", err)
		}
		if err := p.reg.Register(newStatusCollector(p)); err != nil {
			return fmt.Errorf("probe: register status collector: %w", err)
		}
		p.HTTP.RegisterHTTPHandler(MetricsPath, promhttp.HandlerFor(p.reg, promhttp.HandlerOpts{}), http.MethodGet)
	}
	return nil
}

// Close does nothing: the handlers stop with the HTTP server.
func (p *Plugin) Close() error { return nil }

// rendered is the response for one snapshot.
type rendered struct {
	snap  *statuscheck.Snapshot
	body  []byte
	live  bool
	ready bool
}

// current returns the rendering of the current snapshot, making it when the
// snapshot changed. Two requests may render the same snapshot at once; both
// results are equal, so the race is harmless.
func (p *Plugin) current() *rendered {
	snap := p.StatusCheck.Snapshot()
	if r := p.cache.Load(); r != nil && r.snap == snap {
		return r
	}
	r := &rendered{snap: snap}
	r.live = p.effectiveState(snap, "liveness") != statuscheck.StateError
	r.ready = p.effectiveState(snap, "readiness") == statuscheck.StateOK
	body := snap.Agent.AppendJSON(make([]byte, 0, 256+128*len(snap.Agent.GetPlugins())))
	if p.nonFatalJSON != nil {
		body = append(body[:len(body)-1], `,"non_fatal_plugins":`...)
		body = append(body, p.nonFatalJSON...)
		body = append(body, '}')
	}
	r.body = append(body, '\n')
	p.cache.Store(r)
	return r
}

// effectiveState is the agent state as check sees it: the ERROR of a
// non-fatal plugin is ignored, and so is, for liveness, the ERROR of an
// external dependency (unless the config says otherwise).
func (p *Plugin) effectiveState(snap *statuscheck.Snapshot, check string) statuscheck.PluginState {
	st := statuscheck.StateOK
	if !snap.Started {
		st = statuscheck.StateInit
	}
	for _, ps := range snap.Agent.GetPlugins() {
		switch statuscheck.PluginState(ps.GetState()) {
		case statuscheck.StateError:
			if p.errorCounts(snap, ps.GetName(), check) {
				return statuscheck.StateError
			}
		case statuscheck.StateInit:
			st = statuscheck.StateInit
		}
	}
	return st
}

// errorCounts reports whether an ERROR of the plugin named name fails check.
func (p *Plugin) errorCounts(snap *statuscheck.Snapshot, name, check string) bool {
	if p.nonFatal[name] {
		return false
	}
	if check == "liveness" && !p.cfg.LivenessIncludesDependencies && snap.Dependency(name) {
		return false
	}
	return true
}

func (p *Plugin) serveLiveness(w http.ResponseWriter, r *http.Request) {
	p.serve(w, r, "liveness")
}

func (p *Plugin) serveReadiness(w http.ResponseWriter, r *http.Request) {
	p.serve(w, r, "readiness")
}

func (p *Plugin) serve(w http.ResponseWriter, r *http.Request, check string) {
	c := p.current()
	ok := c.live
	if check == "readiness" {
		ok = c.ready
	}
	code := http.StatusOK
	if !ok {
		code = http.StatusServiceUnavailable
	}
	h := w.Header()
	h.Set("Cache-Control", "no-store")
	h.Set("X-Content-Type-Options", "nosniff")
	if r.URL.RawQuery != "" && r.URL.Query().Has("verbose") {
		h.Set("Content-Type", "text/plain; charset=utf-8")
		w.WriteHeader(code)
		_, _ = w.Write(p.verbose(c.snap, check, ok))
		return
	}
	h.Set("Content-Type", rest.ContentTypeJSON)
	w.WriteHeader(code)
	_, _ = w.Write(c.body)
}

// verbose renders the text of ?verbose.
func (p *Plugin) verbose(snap *statuscheck.Snapshot, check string, ok bool) []byte {
	var b strings.Builder
	fmt.Fprintf(&b, "agent %s\n", statuscheck.PluginState(snap.Agent.GetState()))
	if !snap.Started {
		b.WriteString("[-]agent starting\n")
	}
	for _, ps := range snap.Agent.GetPlugins() {
		name := ps.GetName()
		state := statuscheck.PluginState(ps.GetState())
		pass := state == statuscheck.StateOK ||
			(state == statuscheck.StateError && !p.errorCounts(snap, name, check)) ||
			(state == statuscheck.StateInit && check == "liveness")
		mark := "[-]"
		if pass {
			mark = "[+]"
		}
		fmt.Fprintf(&b, "%s%s %s", mark, name, state)
		switch {
		case p.nonFatal[name]:
			b.WriteString(" (non-fatal)")
		case snap.Dependency(name) && !p.cfg.LivenessIncludesDependencies:
			b.WriteString(" (dependency: readiness only)")
		}
		if e := ps.GetError(); e != "" {
			fmt.Fprintf(&b, ": %s", strings.ReplaceAll(e, "\n", " "))
		}
		b.WriteByte('\n')
	}
	result := "passed"
	if !ok {
		result = "failed"
	}
	fmt.Fprintf(&b, "%s check %s\n", check, result)
	return []byte(b.String())
}
