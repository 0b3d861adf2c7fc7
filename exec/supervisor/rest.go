package supervisor

import (
	"encoding/json"
	"net/http"

	"github.com/plinth-go/plinth/infra/rest"
)

// ProgramsPath serves the status of every program: GET answers 200 with a
// JSON list of ProgramStatus, in start order.
const ProgramsPath = "/supervisor/programs"

func (p *Plugin) registerHandlers(h rest.HTTPHandlers) {
	h.RegisterHTTPHandler(ProgramsPath, http.HandlerFunc(p.servePrograms), http.MethodGet)
}

func (p *Plugin) servePrograms(w http.ResponseWriter, _ *http.Request) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(http.StatusOK)
	_ = json.NewEncoder(w).Encode(p.Programs())
}
