package processmanager

import (
	"errors"
	"fmt"
	"net/http"

	"github.com/gorilla/mux"

	"github.com/plinth-go/plinth/infra/rest"
)

// REST paths that control a process, served next to ListPath and
// ProcessPath when the agent has an HTTP server:
//
//	POST /process/{name}/start    200 Info; 409 when it runs or is attached
//	POST /process/{name}/stop     200 Info once it has exited
//	POST /process/{name}/restart  200 Info of the new run; 409 when attached
//
// An unknown name answers 404; every error body is {"error":"…"}.
const (
	StartPath   = "/process/{name}/start"
	StopPath    = "/process/{name}/stop"
	RestartPath = "/process/{name}/restart"
)

// registerControlHandlers registers the POST endpoints; registerHandlers
// keeps the read-only ones.
func (p *Plugin) registerControlHandlers(h rest.HTTPHandlers) {
	h.RegisterHTTPHandler(StartPath, p.control((*Process).Start), http.MethodPost)
	// Stop waits for the exit, as Restart does, so that the answer shows the
	// process stopped; StopAndWait bounds the wait with the stop timeout.
	h.RegisterHTTPHandler(StopPath, p.control(func(proc *Process) error {
		_, err := proc.StopAndWait()
		if errors.Is(err, ErrNotStarted) {
			return nil
		}
		return err
	}), http.MethodPost)
	h.RegisterHTTPHandler(RestartPath, p.control((*Process).Restart), http.MethodPost)
}

// control returns a handler that applies op to the process named in the
// path and answers with its Info.
func (p *Plugin) control(op func(*Process) error) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		name := mux.Vars(r)["name"]
		proc := p.GetProcessByName(name)
		if proc == nil {
			rest.WriteError(w, http.StatusNotFound, "process "+name+" not found")
			return
		}
		if owner := proc.opts.managedBy; owner != "" {
			err := fmt.Errorf("process %s: %w: %s", name, ErrManaged, owner)
			rest.WriteError(w, http.StatusConflict, err.Error())
			return
		}
		if err := op(proc); err != nil {
			rest.WriteError(w, controlStatus(err), err.Error())
			return
		}
		rest.WriteJSON(w, http.StatusOK, proc.Info())
	})
}

// controlStatus maps the error of a control operation to an HTTP status:
// asking for what the state of the process forbids is a conflict, not a
// server failure.
func controlStatus(err error) int {
	switch {
	case errors.Is(err, ErrRunning), errors.Is(err, ErrAttached):
		return http.StatusConflict
	case errors.Is(err, ErrClosed):
		return http.StatusGone
	}
	return http.StatusInternalServerError
}
