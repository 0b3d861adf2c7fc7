package logmanager

import (
	"errors"
	"fmt"
	"net/http"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/gorilla/mux"

	"github.com/plinth-go/plinth/infra/rest"
	"github.com/plinth-go/plinth/logging"
)

// REST paths, as gorilla/mux templates.
const (
	ListPath     = "/log/list"
	SetLevelPath = "/log/{logger}/{level}"
)

// maxLoggerName bounds a logger name in a request path; registry names are
// plugin names with a few dotted parts.
const maxLoggerName = 256

func (p *Plugin) registerHandlers(h rest.HTTPHandlers) {
	h.RegisterHTTPHandler(ListPath, http.HandlerFunc(p.serveList), http.MethodGet)
	// POST is what the seed documents; PUT is what cn-infra served and what
	// existing scripts call.
	h.RegisterHTTPHandler(SetLevelPath, http.HandlerFunc(p.serveSetLevel), http.MethodPost, http.MethodPut)
}

// serveList answers GET /log/list with every logger and its effective
// level, sorted by name.
func (p *Plugin) serveList(w http.ResponseWriter, _ *http.Request) {
	rest.WriteJSON(w, http.StatusOK, p.Registry.List())
}

// serveSetLevel answers POST (or PUT) /log/{logger}/{level}: 200 with the
// new {"logger","level"}, 400 for a bad level or name, 404 for a logger
// that does not exist.
func (p *Plugin) serveSetLevel(w http.ResponseWriter, r *http.Request) {
	vars := mux.Vars(r)
	name, level, err := parseSetLevel(vars["logger"], vars["level"])
	if err != nil {
		rest.WriteError(w, http.StatusBadRequest, err.Error())
		return
	}
	if err := p.Registry.SetLevel(name, level); err != nil {
		status := http.StatusInternalServerError
		if errors.Is(err, logging.ErrUnknownLogger) {
			status = http.StatusNotFound
			err = fmt.Errorf("unknown logger %q (GET %s lists them)", name, ListPath)
		}
		rest.WriteError(w, status, err.Error())
		return
	}
	log, _ := p.Registry.Lookup(name)
	p.Log.Infof("level of logger %s set to %s over REST", name, level)
	rest.WriteJSON(w, http.StatusOK, logging.LoggerLevel{Logger: name, Level: log.Level()})
}

// parseSetLevel checks the variables of SetLevelPath. The level is checked
// first: a request with a bad level is malformed whatever the logger.
func parseSetLevel(logger, level string) (string, logging.Level, error) {
	l, err := logging.ParseLevel(level)
	if err != nil {
		return "", 0, err
	}
	if err := checkLoggerName(logger); err != nil {
		return "", 0, err
	}
	return logger, l, nil
}

// checkLoggerName rejects names no registry logger should have, so that
// they are reported as bad requests rather than unknown loggers.
func checkLoggerName(name string) error {
	switch {
	case name == "":
		return errors.New("empty logger name")
	case len(name) > maxLoggerName:
		return fmt.Errorf("logger name longer than %d bytes", maxLoggerName)
	case !utf8.ValidString(name):
		return fmt.Errorf("logger name %q is not UTF-8", name)
	case strings.IndexFunc(name, func(r rune) bool { return unicode.IsSpace(r) || unicode.IsControl(r) }) >= 0:
		return fmt.Errorf("logger name %q contains white space or control characters", name)
	}
	return nil
}
