package main

import (
	"encoding/json"
	"net"
	"net/http"
	"runtime"
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

// Where the embedded etcd server listens and keeps its data when no etcd
// endpoint is configured.
const (
	embeddedClientAddr = "127.0.0.1:2379"
	embeddedPeerAddr   = "127.0.0.1:2380"
	embeddedDataDir    = ".plinth/etcd"
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
// which runs only in that case.
func newDemo(serverConf embedded.Config) *demo {
	var server *embedded.Plugin
	kv := etcd.NewPlugin(etcd.WithFallbackEndpoints(func() []string { return server.Endpoints() }))
	server = embedded.NewPlugin(embedded.UseConf(serverConf), embedded.EnabledIf(func() (bool, string) {
		eps, err := kv.ConfiguredEndpoints()
		if err != nil || len(eps) > 0 {
			return false, "the configured etcd endpoints " + strings.Join(eps, ",")
		}
		return true, ""
	}))
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
	base := "http://" + net.JoinHostPort("localhost", strconv.Itoa(d.HTTP.GetPort()))
	etcdAt := "etcd " + strings.Join(d.KV.Endpoints(), ",")
	if eps := d.EtcdServer.Endpoints(); eps != nil {
		etcdAt = "embedded etcd " + strings.Join(eps, ",")
	}
	d.Log.Infof("demo agent %q ready with %s. Try:\n"+
		"  open %s/ui/\n  curl %s/liveness\n  curl %s/readiness\n  curl %s/log/list\n"+
		"  go run ./cmd/agentctl status\n  go run ./cmd/agentctl kvdb get %scheck/status/v1/agent",
		d.Label.GetAgentLabel(), etcdAt, base, base, base, base, d.Label.GetAgentPrefix())
	return nil
}

func (d *demo) serveInfo(w http.ResponseWriter, _ *http.Request) {
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(map[string]any{
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
