package main

import (
	"errors"

	"github.com/plinth-go/plinth/idxmap"
	"github.com/plinth-go/plinth/idxmap/mem"
	"github.com/plinth-go/plinth/infra"
	"github.com/plinth-go/plinth/infra/kvdb"
)

// Route is a route as stored in etcd, in JSON.
type Route struct {
	VRF     string `json:"vrf"`
	NextHop string `json:"next_hop"`
}

// RoutesPrefix is where routes are stored, under the agent's prefix.
const RoutesPrefix = "/vnf-agent/vpp1/config/routes/"

// RouteCachePlugin keeps an indexed local copy of the routes in etcd, so
// that lookups by VRF never go to etcd.
type RouteCachePlugin struct {
	RouteCacheDeps
	routes *mem.Mapping[*Route]
	cache  *idxmap.CacheHelper[*Route]
}

// RouteCacheDeps are filled by the agent.
type RouteCacheDeps struct {
	infra.PluginDeps
	KV kvdb.Store
}

// NewRouteCache returns the plugin, named "route-cache".
func NewRouteCache() *RouteCachePlugin {
	p := &RouteCachePlugin{routes: mem.NewMapping(idxmap.Indexers[*Route]{
		"vrf": func(r *Route) []string { return []string{r.VRF} },
	}, mem.WithName("routes"))}
	p.SetName("route-cache")
	return p
}

// Init starts the cache; it fills itself once etcd answers.
func (p *RouteCachePlugin) Init() error {
	if p.KV.Disabled() {
		p.Log.Info("etcd is not configured: no routes cached")
		return nil
	}
	p.cache = &idxmap.CacheHelper[*Route]{
		IDX:     p.routes,
		Watcher: p.KV.NewWatcher(RoutesPrefix),
		Log:     p.Log,
		ReportState: func(ok bool, err error) {
			if !ok {
				p.Log.Warnf("route cache: %v", err)
			}
		},
	}
	return p.cache.Start()
}

// Routes returns the cached routes.
func (p *RouteCachePlugin) Routes() idxmap.NamedMapping[*Route] { return p.routes }

// Synced is closed once the routes in etcd are in the cache; nil when etcd
// is not configured.
func (p *RouteCachePlugin) Synced() <-chan struct{} {
	if p.cache == nil {
		return nil
	}
	return p.cache.Synced()
}

// Close stops the cache.
func (p *RouteCachePlugin) Close() error {
	var err error
	if p.cache != nil {
		err = p.cache.Close()
	}
	return errors.Join(err, p.routes.Close())
}
