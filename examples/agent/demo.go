package main

import (
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"strconv"

	"github.com/plinth-go/plinth/infra"
	"github.com/plinth-go/plinth/infra/rest"
	"github.com/plinth-go/plinth/logging/logmanager"
	"github.com/plinth-go/plinth/servicelabel"
)

// demo holds the infrastructure plugins of the demo agent and tells the
// operator how to reach it.
type demo struct {
	infra.PluginDeps
	Label *servicelabel.Plugin
	HTTP  *rest.Plugin
	Logs  *logmanager.Plugin
}

func newDemo() *demo {
	d := &demo{
		Label: servicelabel.NewPlugin(),
		HTTP:  rest.NewPlugin(),
		Logs:  logmanager.NewPlugin(),
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
	port := strconv.Itoa(d.HTTP.GetPort())
	base := "http://" + net.JoinHostPort("localhost", port)
	d.Log.Infof("demo agent %q ready: curl %s/info; curl %s/log/list", d.Label.GetAgentLabel(), base, base)
	return nil
}

func (d *demo) serveInfo(w http.ResponseWriter, _ *http.Request) {
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(map[string]string{
		"label":  d.Label.GetAgentLabel(),
		"prefix": d.Label.GetAgentPrefix(),
		"http":   fmt.Sprint(d.HTTP.GetPort()),
	})
}
