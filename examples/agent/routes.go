package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"

	"github.com/plinth-go/plinth/health/statuscheck"
	"github.com/plinth-go/plinth/idxmap"
	"github.com/plinth-go/plinth/idxmap/mem"
	"github.com/plinth-go/plinth/infra"
	"github.com/plinth-go/plinth/infra/kvdb"
	"github.com/plinth-go/plinth/infra/rest"
	"github.com/plinth-go/plinth/servicelabel"
)

// Where the routes plugin finds its routes and serves them.
const (
	// routesKeyPrefix holds one route per key, relative to the agent prefix:
	// /vnf-agent/<label>/config/routes/<name>.
	routesKeyPrefix = "config/routes/"
	// routesPath serves the cached routes (see serveRoutes).
	routesPath = "/routes"
	// indexVRF is the index of the routes by VRF.
	indexVRF = "vrf"
)

// route is one route as stored in etcd, in JSON:
//
//	{"vrf":"red","next_hop":"10.0.0.1"}
//
// Name comes from the key, never from the value.
type route struct {
	Name    string `json:"name"`
	VRF     string `json:"vrf"`
	NextHop string `json:"next_hop"`
}

// routeList is the body of GET /routes.
type routeList struct {
	// Prefix is the key prefix cached.
	Prefix string `json:"prefix"`
	// Synced is false until the routes in etcd are in the cache once; the
	// cache then follows every change.
	Synced bool `json:"synced"`
	// Rev is the etcd revision the cache reflects.
	Rev int64 `json:"rev"`
	// Resyncs counts the full reloads of the prefix, the first included.
	Resyncs uint64 `json:"resyncs"`
	// Skipped counts the keys whose value is not a route.
	Skipped uint64 `json:"skipped"`
	// Routes are sorted by name; never null.
	Routes []*route `json:"routes"`
}

// routes keeps an indexed local copy of the routes of the agent in etcd,
// reports through the status check whether the copy is in sync, and serves
// it at GET /routes. Lookups never go to etcd. Without etcd (the store is
// disabled) it caches nothing, reports nothing and GET /routes answers 503.
type routes struct {
	routesDeps
	m     *mem.Mapping[*route]
	cache *idxmap.CacheHelper[*route] // nil when the store is disabled
}

// routesDeps are filled by the agent.
type routesDeps struct {
	infra.PluginDeps
	KV    kvdb.Store
	Label servicelabel.ReaderAPI
	// StatusCheck learns the state of the cache. It is used from Init,
	// which it allows, so it need not start first.
	StatusCheck statuscheck.PluginStatusWriter `plinth:"optional,unordered"`
	HTTP        rest.HTTPHandlers              `plinth:"optional"`
}

var _ infra.Plugin = (*routes)(nil)

// newRoutes returns the plugin, named "routes".
func newRoutes() *routes {
	p := &routes{}
	p.SetName("routes")
	return p
}

// Init serves GET /routes and starts the cache, which fills itself once
// etcd answers: Init does not wait for it.
func (p *routes) Init() error {
	p.m = mem.NewMapping(idxmap.Indexers[*route]{
		indexVRF: func(r *route) []string { return []string{r.VRF} },
	}, mem.WithName("routes"), mem.WithLogger(p.Log))
	if p.HTTP != nil {
		p.HTTP.RegisterHTTPHandler(routesPath, http.HandlerFunc(p.serveRoutes), http.MethodGet)
	}
	if p.KV.Disabled() {
		p.Log.Info("etcd is disabled: no routes cached")
		return nil
	}
	p.cache = &idxmap.CacheHelper[*route]{
		IDX:         p.m,
		Watcher:     p.KV.NewWatcher(p.Label.GetAgentPrefix()),
		Prefix:      routesKeyPrefix,
		Decode:      decodeRoute,
		Log:         p.Log,
		ReportState: p.reportState,
	}
	if err := p.cache.Start(); err != nil {
		return err
	}
	p.Log.Infof("caching %s%s, served at GET %s", p.Label.GetAgentPrefix(), routesKeyPrefix, routesPath)
	return nil
}

// decodeRoute decodes a stored route and names it after its key.
func decodeRoute(key string, value []byte) (*route, error) {
	name, err := idxmap.NameFromKey(routesKeyPrefix, key)
	if err != nil {
		return nil, err
	}
	r := &route{}
	if err := json.Unmarshal(value, r); err != nil {
		return nil, err
	}
	r.Name = name
	return r, nil
}

// reportState maps the state of the cache onto the status check: INIT
// until the first sync, so that the agent is not ready before its routes
// are known; OK once in sync; ERROR if the watch ends by itself.
func (p *routes) reportState(ok bool, err error) {
	if p.StatusCheck == nil {
		return
	}
	state := statuscheck.StateOK
	switch {
	case ok:
		err = nil
	case errors.Is(err, idxmap.ErrNotSynced):
		state = statuscheck.StateInit
	default:
		state = statuscheck.StateError
	}
	if rerr := p.StatusCheck.ReportStateChange(p.String(), state, err); rerr != nil {
		p.Log.Warnf("report the state of the cache: %v", rerr)
	}
}

// serveRoutes answers GET /routes with a routeList of every cached route,
// or with ?vrf=<vrf> of the routes of that VRF (an empty value selects the
// routes without one). While routes change, the full list is not one
// snapshot (each entry is a cached one, but one changed meanwhile may be
// missing or new); a VRF's list is. It never waits on etcd.
//
//	200 routeList
//	503 {"error":"…"} when etcd is disabled: nothing is cached
func (p *routes) serveRoutes(w http.ResponseWriter, r *http.Request) {
	if p.cache == nil {
		rest.WriteError(w, http.StatusServiceUnavailable, fmt.Sprintf("%s: etcd is disabled: no routes cached", p))
		return
	}
	st := p.cache.Stats()
	list := routeList{
		Prefix:  p.Label.GetAgentPrefix() + routesKeyPrefix,
		Synced:  p.cache.HasSynced(),
		Rev:     st.Rev,
		Resyncs: st.Resyncs,
		Skipped: st.Skipped,
		Routes:  []*route{},
	}
	if q := r.URL.Query(); q.Has(indexVRF) {
		list.Routes = append(list.Routes, p.m.GetValuesByIndex(indexVRF, q.Get(indexVRF))...)
	} else {
		for _, name := range p.m.ListAllNames() {
			if v, ok := p.m.GetValue(name); ok {
				list.Routes = append(list.Routes, v)
			}
		}
	}
	rest.WriteJSON(w, http.StatusOK, list)
}

// Close stops the cache, then the watches of the map.
func (p *routes) Close() error {
	var err error
	if p.cache != nil {
		err = p.cache.Close()
	}
	if p.m != nil {
		err = errors.Join(err, p.m.Close())
	}
	return err
}
