package processmanager

import (
	"net/http"

	"github.com/gorilla/mux"

	"github.com/plinth-go/plinth/infra/rest"
)

// REST paths served when the agent has an HTTP server.
const (
	ListPath    = "/process/list"
	ProcessPath = "/process/{name}"
)

func (p *Plugin) registerHandlers(h rest.HTTPHandlers) {
	h.RegisterHTTPHandler(ListPath, http.HandlerFunc(p.serveList), http.MethodGet)
	h.RegisterHTTPHandler(ProcessPath, http.HandlerFunc(p.serveProcess), http.MethodGet)
	p.registerControlHandlers(h)
}

func (p *Plugin) serveList(w http.ResponseWriter, _ *http.Request) {
	procs := p.List()
	infos := make([]Info, 0, len(procs))
	for _, proc := range procs {
		infos = append(infos, proc.Info())
	}
	rest.WriteJSON(w, http.StatusOK, infos)
}

func (p *Plugin) serveProcess(w http.ResponseWriter, r *http.Request) {
	name := mux.Vars(r)["name"]
	proc := p.GetProcessByName(name)
	if proc == nil {
		rest.WriteError(w, http.StatusNotFound, "process "+name+" not found")
		return
	}
	rest.WriteJSON(w, http.StatusOK, proc.Info())
}
