package main

import (
	"fmt"
	"net"
	"net/http"
	"runtime"
	"slices"
	"strconv"
	"strings"

	"github.com/plinth-go/plinth/dashboard"
	"github.com/plinth-go/plinth/exec/processmanager"
	"github.com/plinth-go/plinth/exec/supervisor"
	"github.com/plinth-go/plinth/health/probe"
	"github.com/plinth-go/plinth/health/statuscheck"
	"github.com/plinth-go/plinth/infra"
	"github.com/plinth-go/plinth/infra/kvdb/etcd"
	"github.com/plinth-go/plinth/infra/kvdb/etcd/embedded"
	"github.com/plinth-go/plinth/infra/rest"
	"github.com/plinth-go/plinth/logging/logmanager"
	"github.com/plinth-go/plinth/messaging/kafka"
	"github.com/plinth-go/plinth/servicelabel"
)

// demo holds every infrastructure plugin of Plinth and tells the operator
// how to reach the agent. The fields are in start order where no dependency
// decides it: the embedded etcd server starts first and stops last.
type demo struct {
	infra.PluginDeps
	EtcdServer *embedded.Plugin
	KV         *etcd.Plugin
	Label      *servicelabel.Plugin
	HTTP       *rest.Plugin
	Logs       *logmanager.Plugin
	Status     *statuscheck.Plugin
	Probe      *probe.Plugin
	Kafka      *kafka.Plugin
	Traffic    *trafficPlugin
	Processes  *processmanager.Plugin
	Supervisor *supervisor.Plugin
	Routes     *routes
	Dashboard  *dashboard.Plugin
}

// newDemo wires the plugins. The etcd plugin uses the endpoints of etcd.conf
// or ETCD_ENDPOINTS; when there are none it connects to the embedded server,
// which runs only in that case, wherever etcd-server.conf (or serverOpts,
// which tests use) puts it.
func newDemo(serverOpts ...embedded.Option) *demo {
	var server *embedded.Plugin
	kv := etcd.NewPlugin(etcd.WithFallbackEndpoints(func() []string { return server.Endpoints() }))
	serverOpts = append(slices.Clip(serverOpts), embedded.EnabledIf(func() (bool, string) {
		eps, err := kv.ConfiguredEndpoints()
		if err != nil || len(eps) > 0 {
			return false, "the configured etcd endpoints " + strings.Join(eps, ",")
		}
		return true, ""
	}))
	server = embedded.NewPlugin(serverOpts...)
	d := &demo{
		EtcdServer: server,
		KV:         kv,
		Label:      servicelabel.NewPlugin(),
		HTTP:       rest.NewPlugin(),
		Logs:       logmanager.NewPlugin(),
		Status:     statuscheck.NewPlugin(),
		Probe:      probe.NewPlugin(),
		Kafka:      kafka.NewPlugin(),
		Traffic:    newTrafficPlugin(),
		Processes:  processmanager.NewPlugin(),
		Supervisor: supervisor.NewPlugin(),
		Routes:     newRoutes(),
		Dashboard:  dashboard.NewPlugin(),
	}
	d.SetName("demo")
	return d
}

// Init registers GET /info, which describes the agent.
func (d *demo) Init() error {
	d.HTTP.RegisterHTTPHandler("/info", http.HandlerFunc(d.serveInfo), http.MethodGet)
	return nil
}

// AfterInit runs once the HTTP server listens, so the port is known.
func (d *demo) AfterInit() error {
	h := hint{
		label:    d.Label.GetAgentLabel(),
		prefix:   d.Label.GetAgentPrefix(),
		httpHost: "127.0.0.1",
		httpPort: d.HTTP.GetPort(),
		etcd:     d.KV.Endpoints(),
		embedded: d.EtcdServer.Endpoints() != nil,
	}
	if a, ok := d.HTTP.Addr().(*net.TCPAddr); ok && !a.IP.IsUnspecified() {
		h.httpHost = a.IP.String()
	}
	d.Log.Info(h.String())
	return nil
}

// hint is what the demo tells the operator once it serves: commands that
// reach this agent, with the addresses it really uses, so that they work
// as printed whatever -http-port, etcd-server.conf or ETCD_ENDPOINTS say.
type hint struct {
	label, prefix string
	// httpHost is where a client on this machine reaches the HTTP server:
	// its IP, or 127.0.0.1 when it listens on every address.
	httpHost string
	httpPort int
	// etcd holds the endpoints of the etcd plugin; nil when it is off.
	etcd []string
	// embedded is set when they are those of the embedded server.
	embedded bool
}

// String returns the hint as lines. agentctl gets flags rather than
// environment variables: they name the host, the port and the endpoints in
// the command itself, so a copied line needs nothing else.
func (h hint) String() string {
	var b strings.Builder
	switch {
	case len(h.etcd) == 0:
		fmt.Fprintf(&b, "demo agent %q ready without etcd. Try:\n", h.label)
	case h.embedded:
		fmt.Fprintf(&b, "demo agent %q ready with embedded etcd %s. Try:\n", h.label, strings.Join(h.etcd, ","))
	default:
		fmt.Fprintf(&b, "demo agent %q ready with etcd %s. Try:\n", h.label, strings.Join(h.etcd, ","))
	}
	base := "http://" + net.JoinHostPort(h.httpHost, strconv.Itoa(h.httpPort))
	fmt.Fprintf(&b, "  open %s/ui/\n  curl %s/liveness\n  curl %s/readiness\n  curl %s/log/list\n", base, base, base, base)
	fmt.Fprintf(&b, "  go run ./cmd/agentctl -H %s --http-port %d status", h.httpHost, h.httpPort)
	if len(h.etcd) > 0 {
		fmt.Fprintf(&b, "\n  go run ./cmd/agentctl --etcd-endpoints %s kvdb get %scheck/status/v1/agent",
			strings.Join(h.etcd, ","), h.prefix)
	}
	return b.String()
}

func (d *demo) serveInfo(w http.ResponseWriter, _ *http.Request) {
	rest.WriteJSON(w, http.StatusOK, map[string]any{
		"label":          d.Label.GetAgentLabel(),
		"prefix":         d.Label.GetAgentPrefix(),
		"http":           d.HTTP.GetPort(),
		"etcd":           d.KV.Endpoints(),
		"embedded_etcd":  d.EtcdServer.Endpoints() != nil,
		"kafka_disabled": d.Kafka.Disabled(),
		// For leak checks from outside, as /proc cannot count goroutines.
		"goroutines": runtime.NumGoroutine(),
	})
}
