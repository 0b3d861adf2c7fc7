package rest

import (
	"fmt"
	"net"
	"net/http"
	"strings"
	"time"
)

// guard holds the checks every request passes before its handler: the
// cross-origin check and the loopback rule for requests that change state,
// and the bounds of a request body. Init builds it from the config.
type guard struct {
	crossOrigin  *http.CrossOriginProtection
	loopbackOnly bool // state changes only from loopback peers
	bodyTimeout  time.Duration
	maxBody      int64
}

func newGuard(cfg Config) (*guard, error) {
	g := &guard{
		crossOrigin: http.NewCrossOriginProtection(),
		// Without a way to tell who calls (basic auth, client
		// certificates), a state change must come from this machine.
		loopbackOnly: !cfg.AllowRemoteChanges && len(cfg.BasicAuth) == 0 && len(cfg.ClientCAFiles) == 0,
		bodyTimeout:  cfg.ReadTimeout,
		maxBody:      cfg.MaxBodyBytes,
	}
	for _, o := range cfg.TrustedOrigins {
		if err := g.crossOrigin.AddTrustedOrigin(o); err != nil {
			return nil, fmt.Errorf("trusted-origins: %q: %w", o, err)
		}
	}
	g.crossOrigin.SetDenyHandler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.Error(w, fmt.Sprintf("403 cross-origin %s refused: the agent accepts state changes only from its own pages, tools such as curl and agentctl, and the origins of http.conf trusted-origins", r.Method), http.StatusForbidden)
	}))
	return g, nil
}

// safe reports whether a request method only reads.
func safe(method string) bool {
	switch method {
	case http.MethodGet, http.MethodHead, http.MethodOptions:
		return true
	}
	return false
}

// check answers the request itself and returns false when it must not
// reach its handler; otherwise it bounds the body and returns true.
func (g *guard) check(w http.ResponseWriter, r *http.Request) bool {
	if !safe(r.Method) {
		if err := g.crossOrigin.Check(r); err != nil {
			http.Error(w, fmt.Sprintf("403 cross-origin %s refused (%v): the agent accepts state changes only from its own pages, tools such as curl and agentctl, and the origins of http.conf trusted-origins", r.Method, err), http.StatusForbidden)
			return false
		}
		if g.loopbackOnly && !fromLoopback(r) {
			http.Error(w, fmt.Sprintf("403 %s from %s refused: without basic-auth or client-ca-files in http.conf the agent accepts state changes from this machine only (set allow-remote-changes: true to accept them from anywhere)", r.Method, r.RemoteAddr), http.StatusForbidden)
			return false
		}
	}
	if r.Body == nil || r.Body == http.NoBody {
		return true
	}
	if g.maxBody > 0 {
		if r.ContentLength > g.maxBody {
			w.Header().Set("Connection", "close")
			http.Error(w, fmt.Sprintf("413 request body of %d bytes is larger than the limit of %d (http.conf max-body-bytes)", r.ContentLength, g.maxBody), http.StatusRequestEntityTooLarge)
			return false
		}
		r.Body = http.MaxBytesReader(w, r.Body, g.maxBody)
	}
	if g.bodyTimeout > 0 {
		// A client that sends its headers and then stalls is cut off when
		// the handler reads the body; the server clears the deadline
		// before the next request on the connection.
		_ = http.NewResponseController(w).SetReadDeadline(time.Now().Add(g.bodyTimeout))
	}
	return true
}

func fromLoopback(r *http.Request) bool {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		host = r.RemoteAddr
	}
	ip := net.ParseIP(strings.TrimPrefix(strings.TrimSuffix(host, "]"), "["))
	return ip != nil && ip.IsLoopback()
}

// exposure says, for the start log, who may do what.
func (g *guard) exposure(cfg Config) string {
	switch {
	case g.loopbackOnly:
		return "reads and probes from anywhere; state changes (POST, PUT, DELETE…) from this machine only: no basic-auth or client-ca-files in http.conf"
	case len(cfg.BasicAuth) > 0 || len(cfg.ClientCAFiles) > 0:
		return "probes from anywhere; everything else to authenticated clients"
	default:
		return "reads, probes and state changes from anywhere (allow-remote-changes: true), cross-origin state changes refused"
	}
}
