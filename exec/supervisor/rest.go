package supervisor

import (
	"bytes"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"time"

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

// ReloadPath reloads the conf: POST, with no body, does what Reload does
// and answers once it is done:
//
//	200 {"added":[…],"removed":[…],"changed":[…],"unchanged":[…]} (ReloadResult)
//	400 {"error":"…"} when the conf has an error (nothing changed), or a
//	    program of it could not be defined (see Reload)
//	409 {"error":"…"} once the agent stops, or for a conf set in code
//
// As every request that changes state, it is refused from another origin,
// and, without authentication in http.conf, from another machine.
const ReloadPath = "/supervisor/reload"

// ProgramLogPath serves the end of a program's log file: GET, with
//
//	tail=N          the last N lines (default 100, at most 10000), read
//	                back across the last rotation into the newest backup
//	stream=stdout   logfile-path (the default), or stream=stderr:
//	                stderr-logfile-path
//	follow=1        then every new line as the program writes it, across
//	                rotations, as server-sent events (one "data:" event
//	                per line), until the client goes away or the agent
//	                stops
//
// It answers 200 text/plain (one line each, newline-terminated) or
// text/event-stream with follow; 404 {"error":"…"} for an unknown program
// or a program without a log file for the stream; 400 for a bad parameter.
const ProgramLogPath = ProgramsPath + "/{name}/log"

func (p *Plugin) registerHandlers(h rest.HTTPHandlers) {
	h.RegisterHTTPHandler(ProgramsPath, http.HandlerFunc(p.servePrograms), http.MethodGet)
	h.RegisterHTTPHandler(ProgramActionPath, http.HandlerFunc(p.serveProgramAction), http.MethodPost)
	h.RegisterHTTPHandler(ProgramLogPath, http.HandlerFunc(p.serveLog), http.MethodGet)
	h.RegisterHTTPHandler(ReloadPath, http.HandlerFunc(p.serveReload), http.MethodPost)
}

func (p *Plugin) serveReload(w http.ResponseWriter, _ *http.Request) {
	res, err := p.Reload()
	if err != nil {
		status := http.StatusBadRequest
		if errors.Is(err, ErrStateConflict) {
			status = http.StatusConflict
		}
		rest.WriteError(w, status, err.Error())
		return
	}
	p.Log.Infof("conf reloaded over REST")
	rest.WriteJSON(w, http.StatusOK, res)
}

func (p *Plugin) serveLog(w http.ResponseWriter, r *http.Request) {
	name := mux.Vars(r)["name"]
	prog := p.program(name)
	if prog == nil {
		rest.WriteError(w, http.StatusNotFound, fmt.Sprintf("supervisor: %s %q (GET %s lists them)", ErrUnknownProgram, name, ProgramsPath))
		return
	}
	q := r.URL.Query()
	tail := DefaultLogTail
	if v := q.Get("tail"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 0 {
			rest.WriteError(w, http.StatusBadRequest, fmt.Sprintf("supervisor: tail=%q: want a number of lines from 0 to %d", v, MaxLogTail))
			return
		}
		tail = min(n, MaxLogTail)
	}
	var path string
	switch stream := q.Get("stream"); stream {
	case "", "stdout":
		path = prog.conf.LogfilePath
		if path == "" {
			rest.WriteError(w, http.StatusNotFound, fmt.Sprintf("supervisor: program %s has no log file: its output goes to the agent's standard output (set logfile-path)", name))
			return
		}
	case "stderr":
		path = prog.conf.StderrLogfilePath
		if path == "" {
			msg := fmt.Sprintf("supervisor: program %s has no stderr log file: its standard error goes to the agent's standard output (set logfile-path)", name)
			if prog.conf.LogfilePath != "" {
				msg = fmt.Sprintf("supervisor: program %s has no stderr log file: its standard error goes to its logfile-path with the standard output (use stream=stdout, or set stderr-logfile-path)", name)
			}
			rest.WriteError(w, http.StatusNotFound, msg)
			return
		}
	default:
		rest.WriteError(w, http.StatusBadRequest, fmt.Sprintf("supervisor: stream=%q: want stdout or stderr", stream))
		return
	}
	switch v := q.Get("follow"); v {
	case "", "0", "false":
	case "1", "true":
		p.followLog(w, r, path, tail)
		return
	default:
		rest.WriteError(w, http.StatusBadRequest, fmt.Sprintf("supervisor: follow=%q: want 1 or 0", v))
		return
	}
	lines, err := tailLines(path, tail)
	if err != nil {
		rest.WriteError(w, http.StatusInternalServerError, fmt.Sprintf("supervisor: log of %s: %v", name, err))
		return
	}
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	w.Header().Set("X-Content-Type-Options", "nosniff")
	w.WriteHeader(http.StatusOK)
	var b bytes.Buffer
	for _, l := range lines {
		b.Write(l)
		b.WriteByte('\n')
	}
	_, _ = w.Write(b.Bytes())
}

// followLog serves the tail of the log at path, then its new lines, as
// server-sent events, until the client goes away or Close.
func (p *Plugin) followLog(w http.ResponseWriter, r *http.Request, path string, tail int) {
	p.followMu.Lock()
	if p.followClosed {
		p.followMu.Unlock()
		rest.WriteError(w, http.StatusConflict, "supervisor: the agent is stopping")
		return
	}
	p.followers.Add(1)
	p.followMu.Unlock()
	defer p.followers.Done()

	rc := http.NewResponseController(w)
	// A follow lasts as long as the client wants: the server's write
	// timeout would cut it.
	_ = rc.SetWriteDeadline(time.Time{})
	w.Header().Set("Content-Type", "text/event-stream")
	w.Header().Set("Cache-Control", "no-cache")
	w.Header().Set("X-Content-Type-Options", "nosniff")
	w.WriteHeader(http.StatusOK)
	var b bytes.Buffer
	emit := func(line []byte) error {
		b.Reset()
		// An event's data ends at a newline; a carriage return would
		// end it too.
		line = bytes.TrimSuffix(line, []byte("\r"))
		line = bytes.ReplaceAll(line, []byte("\r"), nil)
		b.WriteString("data: ")
		b.Write(line)
		b.WriteString("\n\n")
		if _, err := w.Write(b.Bytes()); err != nil {
			return err
		}
		return rc.Flush()
	}
	if err := rc.Flush(); err != nil {
		return
	}
	if err := follow(r.Context(), p.followStop, path, tail, emit); err != nil && r.Context().Err() == nil {
		p.Log.Debugf("follow of %s ended: %v", path, err)
	}
}

func (p *Plugin) servePrograms(w http.ResponseWriter, _ *http.Request) {
	rest.WriteJSON(w, http.StatusOK, p.Programs())
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
		rest.WriteError(w, http.StatusBadRequest, fmt.Sprintf("supervisor: unknown action %q: want start, stop or restart", action))
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
		rest.WriteError(w, status, err.Error())
		return
	}
	p.Log.Infof("%s: %s over REST", name, action)
	st, _ := p.Program(name)
	rest.WriteJSON(w, http.StatusOK, st)
}
