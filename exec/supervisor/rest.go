package supervisor

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"

	"github.com/gorilla/mux"

	"github.com/plinth-go/plinth/infra/rest"
)

// ProgramsPath serves the status of every program: GET answers 200 with a
// JSON list of ProgramStatus, in start order.
const ProgramsPath = "/supervisor/programs"

// ProgramActionPath controls one program: POST, with no body, where action
// is start, stop or restart, does what StartProgram, StopProgram or
// RestartProgram does and answers once it is done:
//
//	200 ProgramStatus of the program
//	400 {"error":"…"} for another action
//	404 {"error":"…"} for an unknown program (ErrUnknownProgram)
//	409 {"error":"…"} when the state forbids it (ErrStateConflict)
//	500 {"error":"…"} when the program could not be started
const ProgramActionPath = ProgramsPath + "/{name}/{action}"

func (p *Plugin) registerHandlers(h rest.HTTPHandlers) {
	h.RegisterHTTPHandler(ProgramsPath, http.HandlerFunc(p.servePrograms), http.MethodGet)
	h.RegisterHTTPHandler(ProgramActionPath, http.HandlerFunc(p.serveProgramAction), http.MethodPost)
}

func (p *Plugin) servePrograms(w http.ResponseWriter, _ *http.Request) {
	writeJSON(w, http.StatusOK, p.Programs())
}

func (p *Plugin) serveProgramAction(w http.ResponseWriter, r *http.Request) {
	vars := mux.Vars(r)
	name, action := vars["name"], vars["action"]
	var do func(string) error
	switch action {
	case "start":
		do = p.StartProgram
	case "stop":
		do = p.StopProgram
	case "restart":
		do = p.RestartProgram
	default:
		writeJSON(w, http.StatusBadRequest, map[string]string{
			"error": fmt.Sprintf("supervisor: unknown action %q: want start, stop or restart", action)})
		return
	}
	if err := do(name); err != nil {
		status := http.StatusInternalServerError
		switch {
		case errors.Is(err, ErrUnknownProgram):
			status = http.StatusNotFound
		case errors.Is(err, ErrStateConflict):
			status = http.StatusConflict
		}
		writeJSON(w, status, map[string]string{"error": err.Error()})
		return
	}
	p.Log.Infof("%s: %s over REST", name, action)
	st, _ := p.Program(name)
	writeJSON(w, http.StatusOK, st)
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}
