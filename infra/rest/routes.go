package rest

import (
	"fmt"
	"net/http"
	"slices"
	"strings"
	"sync"
	"sync/atomic"

	"github.com/gorilla/mux"
)

// route is one RegisterHTTPHandler call.
type route struct {
	path    string
	methods []string // upper-case and sorted; empty means every method
	handler http.Handler
}

// routes is the routing table. A gorilla router must not change while it
// serves, so every registration builds a fresh router and publishes it
// atomically: a request uses the router current when it arrived, and a
// registration never waits for in-flight requests (which would deadlock a
// handler that registers a route, and stall every request behind a slow one).
type routes struct {
	// before, if set, runs ahead of every matched handler and ends the
	// request when it returns false; unknown paths and methods are
	// answered 404 and 405 without it.
	before func(w http.ResponseWriter, r *http.Request) bool

	mu   sync.Mutex // guards list and serializes rebuilds
	list []route

	current atomic.Pointer[mux.Router] // built from list; nil until the first registration
}

// add registers a route. It panics on a programmer error: a nil handler, a
// bad path or method, or a path and method registered before.
func (rs *routes) add(path string, handler http.Handler, methods []string) {
	r := route{path: path, handler: handler, methods: normalizeMethods(methods)}
	call := fmt.Sprintf("rest: RegisterHTTPHandler(%q, %s)", path, describeMethods(r.methods))
	switch {
	case handler == nil:
		panic(call + ": nil handler")
	case !strings.HasPrefix(path, "/"):
		panic(call + `: the path must start with "/"`)
	}
	for _, m := range r.methods {
		if m == "" || strings.ContainsFunc(m, func(c rune) bool { return c <= ' ' || c >= 0x7f }) {
			panic(fmt.Sprintf("%s: invalid method %q", call, m))
		}
	}

	rs.mu.Lock()
	defer rs.mu.Unlock()
	for _, old := range rs.list {
		if old.path != path {
			continue
		}
		if clash := overlap(old.methods, r.methods); clash != "" {
			panic(fmt.Sprintf("%s: %s %s is already registered by RegisterHTTPHandler(%q, %s); register each path and method once",
				call, clash, path, old.path, describeMethods(old.methods)))
		}
	}
	list := append(slices.Clip(rs.list), r)
	router := mux.NewRouter()
	for _, rt := range list {
		mr := router.Handle(rt.path, rs.guarded(rt.handler))
		if len(rt.methods) > 0 {
			// Methods upper-cases its argument in place and keeps it, and
			// routers still serving share rt.methods: give it a copy.
			mr.Methods(slices.Clone(rt.methods)...)
		}
		if err := mr.GetError(); err != nil {
			panic(fmt.Sprintf("%s: %v", call, err))
		}
	}
	router.MethodNotAllowedHandler = methodNotAllowed(router, list)
	rs.list = list
	rs.current.Store(router)
}

// guarded copies the variables the router matched into r's path values and
// runs before ahead of h. Without the copy, r.PathValue would be empty: it
// reads what net/http's ServeMux records, and gorilla keeps its variables in
// the request context (mux.Vars) instead.
func (rs *routes) guarded(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if vars := mux.Vars(r); len(vars) > 0 {
			// The router's copy of r shares its path values with the
			// original (an outer ServeMux may have set some): Clone copies
			// them, so the original keeps its own.
			r = r.Clone(r.Context())
			for name, value := range vars {
				r.SetPathValue(name, value)
			}
		}
		if rs.before == nil || rs.before(w, r) {
			h.ServeHTTP(w, r)
		}
	})
}

// methodNotAllowed answers a request whose path is served for other
// methods: gorilla's default sends a bare 405, without the Allow header
// that RFC 9110 requires and without a body telling the client what to do.
func methodNotAllowed(router *mux.Router, list []route) http.Handler {
	var all []string
	for _, rt := range list {
		all = append(all, rt.methods...)
	}
	slices.Sort(all)
	all = slices.Compact(all)
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var allow []string
		for _, m := range all {
			probe := r.Clone(r.Context())
			probe.Method = m
			// Match also reports a method mismatch as a match, with MatchErr set.
			var match mux.RouteMatch
			if router.Match(probe, &match) && match.MatchErr == nil {
				allow = append(allow, m)
			}
		}
		w.Header().Set("Allow", strings.Join(allow, ", "))
		http.Error(w, fmt.Sprintf("405 method %s not allowed for %s: use %s", r.Method, r.URL.Path, strings.Join(allow, ", ")), http.StatusMethodNotAllowed)
	})
}

// ServeHTTP dispatches to the current router; without routes everything is
// not found.
func (rs *routes) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	router := rs.current.Load()
	if router == nil {
		http.NotFound(w, r)
		return
	}
	router.ServeHTTP(w, r)
}

func normalizeMethods(methods []string) []string {
	if len(methods) == 0 {
		return nil
	}
	out := make([]string, len(methods))
	for i, m := range methods {
		out[i] = strings.ToUpper(m)
	}
	slices.Sort(out)
	return slices.Compact(out)
}

// overlap returns a method both lists handle ("any method" when one of them
// handles every method), or "" when they are disjoint.
func overlap(a, b []string) string {
	if len(a) == 0 || len(b) == 0 {
		return "any method of"
	}
	for _, m := range a {
		if slices.Contains(b, m) {
			return m
		}
	}
	return ""
}

func describeMethods(methods []string) string {
	if len(methods) == 0 {
		return "all methods"
	}
	return strings.Join(methods, ", ")
}
